"""Degradation recipes: frozen, validated descriptions of how clean images are degraded.

A recipe is a list of steps. Degrading an image is two phases: ``sample`` draws every
step's parameters from the generator (a plain JSON-able dict per step, stored in each
record), then ``apply`` runs the operators with those parameters. Ranges (``[lo, hi]``) are
drawn uniformly; a single number is a fixed value.

With ``order: shuffled`` a random subset of ``min_steps``..``max_steps`` steps is applied in a
random order (the BSRGAN-style blind chain); with ``order: fixed`` every step runs in order,
each with its own ``probability``.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import math
from pathlib import Path
from typing import ClassVar, Literal

import numpy as np

from pipelines.degrade import ops
from restoreflow import commands
from restoreflow.configs import ConfigError, check, from_mapping, parse_yaml
from restoreflow.console import user_errors


@dataclasses.dataclass(frozen=True)
class Span:
    """A closed range [lo, hi]; a single number in YAML means lo == hi."""

    lo: float
    hi: float

    @classmethod
    def from_config(cls, value, key: str) -> Span:
        if isinstance(value, bool):
            raise ConfigError(f"{key}: expected a number or [lo, hi], got {value!r}")
        if isinstance(value, (int, float)):
            return cls(float(value), float(value))
        if isinstance(value, (list, tuple)) and len(value) == 2 and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value
        ):
            lo, hi = float(value[0]), float(value[1])
            check(lo <= hi, key, f"range [{lo}, {hi}] has lo > hi")
            return cls(lo, hi)
        raise ConfigError(f"{key}: expected a number or [lo, hi], got {value!r}")

    def to_config(self):
        return self.lo if self.lo == self.hi else [self.lo, self.hi]

    def within(self, key: str, lo: float, hi: float) -> None:
        check(lo <= self.lo and self.hi <= hi, key, f"must lie within [{lo}, {hi}], got {self.to_config()}")

    def draw(self, rng: np.random.Generator) -> float:
        return self.lo if self.lo == self.hi else float(rng.uniform(self.lo, self.hi))

    def draw_log(self, rng: np.random.Generator) -> float:
        if self.lo == self.hi:
            return self.lo
        return float(math.exp(rng.uniform(math.log(self.lo), math.log(self.hi))))


def _check_probability(step) -> None:
    check(0.0 <= step.probability <= 1.0, f"{step.op}.probability", "must lie within [0, 1]")


@dataclasses.dataclass(frozen=True)
class GaussianNoise:
    """Additive Gaussian noise. noise_sigma: 0-255 scale, within [0, 255].
    color_probability: chance of independent noise per channel (else one gray field)."""

    op: ClassVar[str] = "gaussian_noise"
    noise_sigma: Span
    color_probability: float = 0.0
    probability: float = 1.0

    def __post_init__(self):
        self.noise_sigma.within(f"{self.op}.noise_sigma", 0.0, 255.0)
        check(0 <= self.color_probability <= 1, f"{self.op}.color_probability", "must lie within [0, 1]")
        _check_probability(self)

    def sample(self, rng):
        return {
            "noise_sigma": self.noise_sigma.draw(rng),
            "color": bool(rng.random() < self.color_probability),
        }

    def context_px(self) -> int:
        return 0


@dataclasses.dataclass(frozen=True)
class PoissonNoise:
    """Shot noise. peak: photons at white, within [1, 100000], drawn log-uniformly."""

    op: ClassVar[str] = "poisson_noise"
    peak: Span
    probability: float = 1.0

    def __post_init__(self):
        self.peak.within(f"{self.op}.peak", 1.0, 1e5)
        _check_probability(self)

    def sample(self, rng):
        return {"peak": self.peak.draw_log(rng)}

    def context_px(self) -> int:
        return 0


@dataclasses.dataclass(frozen=True)
class GaussianBlur:
    """Gaussian blur. blur_sigma: pixels, within [0.1, 10]. With anisotropic_probability the
    second axis's sigma is drawn separately from the same range and the kernel rotated by a
    uniform angle."""

    op: ClassVar[str] = "gaussian_blur"
    blur_sigma: Span
    anisotropic_probability: float = 0.0
    probability: float = 1.0

    def __post_init__(self):
        self.blur_sigma.within(f"{self.op}.blur_sigma", 0.1, 10.0)
        check(
            0 <= self.anisotropic_probability <= 1,
            f"{self.op}.anisotropic_probability",
            "must lie within [0, 1]",
        )
        _check_probability(self)

    def sample(self, rng):
        sigma_x = self.blur_sigma.draw(rng)
        if rng.random() < self.anisotropic_probability:
            return {
                "sigma_x": sigma_x,
                "sigma_y": self.blur_sigma.draw(rng),
                "theta": float(rng.uniform(0, math.pi)),
            }
        return {"sigma_x": sigma_x, "sigma_y": sigma_x, "theta": 0.0}

    def context_px(self) -> int:
        return math.ceil(3 * self.blur_sigma.hi)


@dataclasses.dataclass(frozen=True)
class MotionBlur:
    """Linear motion blur. length: pixels, within [1, 64]; angle: degrees, within [0, 360]."""

    op: ClassVar[str] = "motion_blur"
    length: Span
    angle: Span = Span(0.0, 180.0)
    probability: float = 1.0

    def __post_init__(self):
        self.length.within(f"{self.op}.length", 1.0, 64.0)
        self.angle.within(f"{self.op}.angle", 0.0, 360.0)
        _check_probability(self)

    def sample(self, rng):
        return {"length": self.length.draw(rng), "angle": self.angle.draw(rng)}

    def context_px(self) -> int:
        return math.ceil(self.length.hi / 2) + 1


@dataclasses.dataclass(frozen=True)
class Jpeg:
    """JPEG compression with Pillow. quality: within [1, 95], drawn as an integer."""

    op: ClassVar[str] = "jpeg"
    quality: Span
    probability: float = 1.0

    def __post_init__(self):
        self.quality.within(f"{self.op}.quality", 1, 95)
        _check_probability(self)

    def sample(self, rng):
        return {"quality": int(round(self.quality.draw(rng)))}

    def context_px(self) -> int:
        return 8


@dataclasses.dataclass(frozen=True)
class Resize:
    """Shrink by scale_factor (within [0.1, 1]) with bicubic antialiasing, then resize back,
    so the image keeps its size but loses detail (the blind chain's resampling step)."""

    op: ClassVar[str] = "resize"
    scale_factor: Span
    probability: float = 1.0

    def __post_init__(self):
        self.scale_factor.within(f"{self.op}.scale_factor", 0.1, 1.0)
        _check_probability(self)

    def sample(self, rng):
        return {"scale_factor": self.scale_factor.draw(rng)}

    def context_px(self) -> int:
        return math.ceil(4 / self.scale_factor.lo)


@dataclasses.dataclass(frozen=True)
class Downscale:
    """Super-resolution input: bicubic downscale by scale (2, 3 or 4), antialiased; with
    reupscale the result is resized back (the interpolated input of VDSR and DnCNN-3)."""

    op: ClassVar[str] = "downscale"
    scale: int
    reupscale: bool = False
    probability: float = 1.0

    def __post_init__(self):
        check(self.scale in (2, 3, 4), f"{self.op}.scale", f"must be 2, 3 or 4, got {self.scale}")
        check(self.probability == 1.0, f"{self.op}.probability", "downscale always runs (must be 1)")

    def sample(self, rng):
        return {"scale": self.scale, "reupscale": self.reupscale}

    def context_px(self) -> int:
        return 4 * self.scale


@dataclasses.dataclass(frozen=True)
class InpaintMask:
    """Free-form strokes and boxes; the masked pixels are set to 0 and the mask stored.
    min_fraction / max_fraction: bounds on the masked share of the image, within [0, 0.9]."""

    op: ClassVar[str] = "inpaint_mask"
    min_fraction: float = 0.05
    max_fraction: float = 0.4
    stroke_probability: float = 0.7
    probability: float = 1.0

    def __post_init__(self):
        check(
            0 <= self.min_fraction <= self.max_fraction <= 0.9,
            f"{self.op}.min_fraction",
            "need 0 <= min_fraction <= max_fraction <= 0.9",
        )
        check(0 <= self.stroke_probability <= 1, f"{self.op}.stroke_probability", "must lie within [0, 1]")
        check(self.probability == 1.0, f"{self.op}.probability", "the mask always applies (must be 1)")

    def sample(self, rng):
        return {
            "mask_seed": int(rng.integers(0, 2**63 - 1)),
            "min_fraction": self.min_fraction,
            "max_fraction": self.max_fraction,
            "stroke_probability": self.stroke_probability,
        }

    def context_px(self) -> int:
        return 0


Step = GaussianNoise | PoissonNoise | GaussianBlur | MotionBlur | Jpeg | Resize | Downscale | InpaintMask
STEP_TYPES = {
    cls.op: cls
    for cls in (GaussianNoise, PoissonNoise, GaussianBlur, MotionBlur, Jpeg, Resize, Downscale, InpaintMask)
}

TASKS = ("denoise", "deblur", "jpeg", "sr", "inpaint", "blind")


def _step_from_config(value, key: str) -> Step:
    if not isinstance(value, dict) or "op" not in value:
        raise ConfigError(f"{key}: each step needs an 'op' (one of {', '.join(STEP_TYPES)})")
    name = value["op"]
    if name not in STEP_TYPES:
        raise ConfigError(f"{key}.op: unknown operation {name!r}; known: {', '.join(STEP_TYPES)}")
    fields = {k: v for k, v in value.items() if k != "op"}
    return from_mapping(STEP_TYPES[name], fields, f"{key}({name})")


class Steps(tuple):
    """The recipe's step list (parsed by op name)."""

    @classmethod
    def from_config(cls, value, key: str) -> Steps:
        if not isinstance(value, list) or not value:
            raise ConfigError(f"{key}: expected a non-empty list of steps")
        return cls(_step_from_config(v, f"{key}[{i}]") for i, v in enumerate(value))

    def to_config(self):
        from restoreflow.configs import to_plain

        return [{"op": s.op, **to_plain(s)} for s in self]


@dataclasses.dataclass(frozen=True)
class Recipe:
    """name/task/steps, plus how clean images are prepared and degraded ones stored.

    color: convert clean images to gray or rgb, or keep what the file has.
    keep_16bit: keep 16-bit images as uint16 (else convert with round(v / 257)).
    quantize: clip and round degraded images to the clean image's dtype (as a real file
    would be); false stores them unclipped as float16 (the DnCNN noise protocol).
    """

    name: str
    task: Literal["denoise", "deblur", "jpeg", "sr", "inpaint", "blind"]
    steps: Steps
    description: str = ""
    color: Literal["gray", "rgb", "keep"] = "gray"
    keep_16bit: bool = False
    quantize: bool = True
    order: Literal["fixed", "shuffled"] = "fixed"
    min_steps: int = 1
    max_steps: int = 0  # 0 = all steps

    def __post_init__(self):
        downscales = [s for s in self.steps if isinstance(s, Downscale)]
        masks = [s for s in self.steps if isinstance(s, InpaintMask)]
        check(len(downscales) <= 1, "steps", "at most one downscale step")
        check(len(masks) <= 1, "steps", "at most one inpaint_mask step")
        if self.task == "sr":
            check(bool(downscales), "steps", "task sr needs a downscale step")
        elif downscales:
            check(downscales[0].reupscale, "steps", f"task {self.task} keeps the size: use downscale with reupscale: true")
        check((self.task == "inpaint") == bool(masks), "steps", "task inpaint needs exactly one inpaint_mask step, and only it")
        if self.order == "shuffled":
            check(self.task not in ("sr", "inpaint"), "order", "shuffled chains are for same-size tasks (not sr or inpaint)")
        check(0 <= self.min_steps <= len(self.steps), "min_steps", f"must lie within [0, {len(self.steps)}]")
        check(0 <= self.max_steps <= len(self.steps), "max_steps", f"must lie within [0, {len(self.steps)}]")
        check(self.max_steps == 0 or self.min_steps <= self.max_steps, "min_steps", "must not exceed max_steps")

    @property
    def scale(self) -> int:
        """How much smaller the degraded image is than the clean one (1 unless downscaled
        without re-upscaling)."""
        for step in self.steps:
            if isinstance(step, Downscale) and not step.reupscale:
                return step.scale
        return 1

    @property
    def sr_factor(self) -> int:
        """The super-resolution factor being evaluated (the downscale step's, even when the
        degraded image is upscaled back, as for VDSR/DnCNN-3); 1 for other tasks. Scores of
        super-resolution crop this many border pixels."""
        if self.task != "sr":
            return 1
        return next(step.scale for step in self.steps if isinstance(step, Downscale))

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
        """Draws the steps to apply, in order, each with its parameters."""
        order = list(range(len(self.steps)))
        if self.order == "shuffled":
            order = [int(i) for i in rng.permutation(len(self.steps))]
            top = self.max_steps or len(self.steps)
            order = order[: int(rng.integers(self.min_steps, top + 1))]
        chosen = []
        for index in order:
            step = self.steps[index]
            if step.probability < 1.0 and rng.random() >= step.probability:
                continue
            chosen.append({"op": step.op, **step.sample(rng)})
        return chosen


def apply(image: np.ndarray, params: list[dict], rng: np.random.Generator, margin: int = 0):
    """Runs sampled steps on a float32 HWC image. Returns (degraded, mask or None).

    ``margin``: the image's outer border that is context only; a mask is drawn inside it.
    """
    mask = None
    for p in params:
        op = p["op"]
        if op == "gaussian_noise":
            image = ops.gaussian_noise(image, noise_sigma=p["noise_sigma"], color=p["color"], rng=rng)
        elif op == "poisson_noise":
            image = ops.poisson_noise(image, peak=p["peak"], rng=rng)
        elif op == "gaussian_blur":
            image = ops.gaussian_blur(image, sigma_x=p["sigma_x"], sigma_y=p["sigma_y"], theta=p["theta"])
        elif op == "motion_blur":
            image = ops.motion_blur(image, length=p["length"], angle=p["angle"])
        elif op == "jpeg":
            image = ops.jpeg(image, quality=p["quality"])
        elif op == "resize":
            h, w = image.shape[:2]
            small_h = max(1, round(h * p["scale_factor"]))
            small_w = max(1, round(w * p["scale_factor"]))
            image = ops.resize(ops.resize(image, height=small_h, width=small_w), height=h, width=w)
        elif op == "downscale":
            image = ops.downscale(image, scale=p["scale"], reupscale=p["reupscale"])
        elif op == "inpaint_mask":
            mask = _mask_for(image.shape[:2], p, margin)
            image = ops.apply_mask(image, mask)
        else:
            raise ValueError(f"unknown degradation op {op!r}")
    return image, mask


def _mask_for(shape, params, margin) -> np.ndarray:
    core = ops.inpaint_mask(
        height=shape[0] - 2 * margin,
        width=shape[1] - 2 * margin,
        min_fraction=params["min_fraction"],
        max_fraction=params["max_fraction"],
        stroke_probability=params["stroke_probability"],
        rng=np.random.default_rng(params["mask_seed"]),
    )
    return np.pad(core, ((margin, margin), (margin, margin), (0, 0)))


BUILTIN_DIR = "pipelines.recipes"


def builtin_names() -> list[str]:
    files = importlib.resources.files(BUILTIN_DIR).iterdir()
    return sorted(f.name[: -len(".yaml")] for f in files if f.name.endswith(".yaml"))


def load(name_or_path: str) -> Recipe:
    """A built-in recipe by name, or a YAML file by path (local, gs://, s3://)."""
    path = Path(name_or_path)
    if "://" in name_or_path:
        text = _read_remote(name_or_path)
    elif path.suffix in (".yaml", ".yml") or path.exists():
        if not path.exists():
            raise ConfigError(f"recipe file {name_or_path} does not exist")
        text = path.read_text()
    else:
        names = builtin_names()
        if name_or_path not in names:
            raise ConfigError(
                f"unknown recipe {name_or_path!r}; built-in recipes: {', '.join(names)} "
                "(or pass a path to a .yaml file)"
            )
        text = importlib.resources.files(BUILTIN_DIR).joinpath(f"{name_or_path}.yaml").read_text()
    return parse(parse_yaml(text, f"recipe {name_or_path}"))


def _read_remote(url: str) -> str:
    from apache_beam.io.filesystems import FileSystems

    try:
        with FileSystems.open(url) as f:
            return f.read().decode("utf-8")
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
