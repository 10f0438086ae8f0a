"""Degradation recipes: frozen, validated descriptions of how clean images are degraded;
the built-in ones (``pipelines/recipes/*.yaml``) and ``restoreflow recipes``.

A recipe is a list of steps (``steps``). Degrading an image is two phases: ``sample`` draws
every step's parameters from the generator (a plain JSON-able dict per step, stored in each
record), then ``apply`` runs each step's operator with those parameters. Ranges (``[lo, hi]``)
are drawn uniformly; a single number is a fixed value.

With ``order: shuffled`` a random subset of ``min_steps``..``max_steps`` steps is applied in a
random order (the BSRGAN-style blind chain); with ``order: fixed`` every step runs in order,
each with its own ``probability``. Film grain is part of the photograph, not damage: it always
runs first and is not counted in ``min_steps``/``max_steps``.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import math
from pathlib import Path
from typing import Literal

import numpy as np

from pipelines.degrade.realworld import SecondOrder
from pipelines.degrade.steps import STEP_TYPES, Downscale, InpaintMask, Step
from restoreflow import commands
from restoreflow.configs import ConfigError, check, from_mapping, parse_yaml, shown
from restoreflow.console import user_errors
from restoreflow.records import ORIGINAL_OPS


def _step_from_config(value, key: str) -> Step:
    if not isinstance(value, dict) or "op" not in value:
        raise ConfigError(f"{key}: each step needs an 'op' (one of {', '.join(STEP_TYPES)})")
    name = value["op"]
    if name not in STEP_TYPES:
        raise ConfigError(f"{key}.op: unknown operation {shown(name)}; known: {', '.join(STEP_TYPES)}")
    fields = {k: v for k, v in value.items() if k != "op"}
    return from_mapping(STEP_TYPES[name], fields, f"{key}({name})")


class Steps(tuple):
    """The recipe's step list (parsed by op name)."""

    @classmethod
    def from_config(cls, value, key: str) -> Steps:
        if not isinstance(value, list):  # empty only for tasks content and generate (Recipe checks)
            raise ConfigError(f"{key}: expected a list of steps")
        return cls(_step_from_config(v, f"{key}[{i}]") for i, v in enumerate(value))

    def to_config(self):
        from restoreflow.configs import to_plain

        return [{"op": s.op, **to_plain(s)} for s in self]


# Tasks whose patches are clean, with no damage: a style trains on them (content), a diffusion
# model learns from them (generate).
CLEAN_TASKS = ("content", "generate")


@dataclasses.dataclass(frozen=True)
class Recipe:
    """name/task/steps, plus how clean images are prepared and degraded ones stored.

    color: convert clean images to gray or rgb, or keep what the file has.
    keep_16bit: keep 16-bit images as uint16 (else convert with round(v / 257)).
    quantize: clip and round degraded images to the clean image's dtype (as a real file
    would be); false stores them unclipped as float16 (the DnCNN noise protocol).
    """

    name: str
    task: Literal["denoise", "deblur", "jpeg", "sr", "inpaint", "blind", "content", "generate"]
    steps: Steps
    description: str = ""
    color: Literal["gray", "rgb", "keep"] = "gray"
    keep_16bit: bool = False
    quantize: bool = True
    order: Literal["fixed", "shuffled"] = "fixed"
    min_steps: int = 1
    max_steps: int = 0  # 0 = all steps

    def __post_init__(self):
        # content and generate: clean patches with no damage (degraded == clean), what a style
        # trains on and what a diffusion model learns from
        check((self.task in CLEAN_TASKS) == (not self.steps), "steps",
              f"task {self.task} takes no steps (clean patches)" if self.steps else "expected a non-empty list of steps")
        downscales = _resamplers(self.steps)
        masks = [s for s in self.steps if isinstance(s, InpaintMask)]
        check(len(downscales) <= 1, "steps", "at most one downscale (or second_order with scale > 1) step")
        check(len(masks) <= 1, "steps", "at most one inpaint_mask step")
        if self.task == "sr":
            check(bool(downscales), "steps", "task sr needs a downscale step (or second_order with scale > 1)")
        elif downscales:
            check(getattr(downscales[0], "reupscale", False), "steps",
                  f"task {self.task} keeps the size: use downscale with reupscale: true, or second_order with scale: 1")
        check((self.task == "inpaint") == bool(masks), "steps", "task inpaint needs exactly one inpaint_mask step, and only it")
        if self.order == "shuffled":
            check(self.task not in ("sr", "inpaint"), "order", "shuffled chains are for same-size tasks (not sr or inpaint)")
        # A shuffled chain counts only its damage: grain and sharpening always run first.
        counted = len(self.steps) if self.order == "fixed" else sum(s.op not in ORIGINAL_OPS for s in self.steps)
        check(0 <= self.min_steps <= counted, "min_steps", f"must lie within [0, {counted}]")
        check(0 <= self.max_steps <= counted, "max_steps", f"must lie within [0, {counted}]")
        check(self.max_steps == 0 or self.min_steps <= self.max_steps, "min_steps", "must not exceed max_steps")

    @property
    def scale(self) -> int:
        """How much smaller the degraded image is than the clean one (1 unless downscaled
        without re-upscaling)."""
        for step in _resamplers(self.steps):
            if not getattr(step, "reupscale", False):
                return step.scale
        return 1

    @property
    def sr_factor(self) -> int:
        """The super-resolution factor being evaluated (the downscale step's, even when the
        degraded image is upscaled back, as for VDSR/DnCNN-3); 1 for other tasks. Scores of
        super-resolution crop this many border pixels."""
        if self.task != "sr":
            return 1
        return _resamplers(self.steps)[0].scale

    @property
    def has_mask(self) -> bool:
        return self.task == "inpaint"

    def context_px(self) -> int:
        """Margin of real image around a patch that spatial steps need to look right at its
        edges; a multiple of 8 (the JPEG grid) and of the scale, so grids stay aligned."""
        needed = max((s.context_px() for s in self.steps), default=0)
        if needed == 0:
            return 0
        unit = math.lcm(8, self.sr_factor)
        return unit * math.ceil(needed / unit)

    def sample(self, rng: np.random.Generator) -> list[dict]:
        """Draws the steps to apply, in order, each with its parameters. Steps of the original
        (film grain) come first in a shuffled chain and are not counted as its steps."""
        original = [i for i, step in enumerate(self.steps) if step.op in ORIGINAL_OPS]
        damage = [i for i in range(len(self.steps)) if i not in original]
        order = original + damage
        if self.order == "shuffled":
            shuffled = [damage[int(i)] for i in rng.permutation(len(damage))]
            top = self.max_steps or len(damage)
            order = original + shuffled[: int(rng.integers(self.min_steps, top + 1))]
        chosen = []
        for index in order:
            step = self.steps[index]
            if step.probability < 1.0 and rng.random() >= step.probability:
                continue
            chosen.append({"op": step.op, **step.sample(rng)})
        return chosen


def _resamplers(steps) -> list:
    """The steps that shrink the image by an integer scale: ``downscale`` (which may resize
    back) and a ``second_order`` chain with a scale above 1."""
    return [s for s in steps if isinstance(s, Downscale) or (isinstance(s, SecondOrder) and s.scale > 1)]


def apply(image: np.ndarray, params: list[dict], rng: np.random.Generator, margin: int = 0):
    """Runs sampled steps on a float32 HWC image, each by its step's ``apply``. Returns
    (degraded, mask or None). ``margin``: the image's outer border that is context only."""
    mask = None
    for p in params:
        if p["op"] not in STEP_TYPES:
            raise ValueError(f"unknown degradation op {p['op']!r}")
        image, step_mask = STEP_TYPES[p["op"]].apply(image, p, rng, margin)
        mask = mask if step_mask is None else step_mask
    return image, mask


BUILTIN_DIR = "pipelines.recipes"


def builtin_names() -> list[str]:
    files = importlib.resources.files(BUILTIN_DIR).iterdir()
    return sorted(f.name[: -len(".yaml")] for f in files if f.name.endswith(".yaml"))


def load(name_or_path: str) -> Recipe:
    """A built-in recipe by name, or a YAML file by path (local, gs://, s3://)."""
    path = Path(name_or_path)
    if "://" in name_or_path:
        text = _read_remote(name_or_path)
    elif path.suffix in (".yaml", ".yml") or path.is_file():  # not a folder named like a recipe (clean/)
        if not path.exists():
            raise ConfigError(f"recipe file {name_or_path} does not exist")
        text = path.read_bytes()  # parse_yaml names a file that is not UTF-8
    else:
        names = builtin_names()
        if name_or_path not in names:
            raise ConfigError(
                f"unknown recipe {name_or_path!r}; built-in recipes: {', '.join(names)} "
                "(or pass a path to a .yaml file)"
            )
        text = importlib.resources.files(BUILTIN_DIR).joinpath(f"{name_or_path}.yaml").read_text()
    return parse(parse_yaml(text, f"recipe {name_or_path}"))


def _read_remote(url: str) -> bytes:
    from apache_beam.io.filesystems import FileSystems

    try:
        with FileSystems.open(url) as f:
            return f.read()
    except Exception as e:  # noqa: BLE001 - each filesystem raises its own error types
        raise ConfigError(f"cannot read recipe file {url}: {e}") from None


def parse(data) -> Recipe:
    return from_mapping(Recipe, data, "recipe")


@user_errors("restoreflow recipes")
def main(argv: list[str]) -> int:
    """``restoreflow recipes [NAME]``: list the built-in recipes, or print one as YAML."""
    name = commands.recipes().parse_args(argv).name
    if name:
        print(importlib.resources.files(BUILTIN_DIR).joinpath(f"{load(name).name}.yaml").read_text(), end="")
        return 0
    for name in builtin_names():
        recipe = load(name)
        print(f"{name:22s} {recipe.task:8s} {' '.join(recipe.description.split())}")
    return 0
