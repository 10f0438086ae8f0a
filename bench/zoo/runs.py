"""What bench/zoo's sections share: the models, the benchmark sets (optionally cut to the
first N images), restore-job runs and baseline runs (each done once per run and cached), the
check that every method saw the same degraded images, the tables, and what was measured for
the model cards.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections.abc import Callable
from pathlib import Path

from bench.common import PAIRED_FLAGS, first_images, import_dncnn, restore_job
from bench.zoo import baselines
from bench.zoo.baselines import Score

SHARED_DISPLAY = "../shared/data"  # how commands in cards and tables name the benchmark sets


class Skip(Exception):
    """A section's model is neither bundled nor given with --model (not a failure)."""

    def __init__(self, name: str):
        super().__init__(f"skipped: no model {name} (neither bundled nor given with --model {name}=DIR)")


class Table:
    """A markdown table printed row by row (flushed), so a long section shows progress."""

    def __init__(self, title: str, columns: list[str], note: str = ""):
        self.columns = columns
        print(f"\n### {title}\n" + (f"\n{note}\n" if note else ""), flush=True)
        print("| " + " | ".join(columns) + " |\n|" + "---|" * len(columns), flush=True)

    def row(self, *cells) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"{len(cells)} cells for {len(self.columns)} columns")
        print("| " + " | ".join(str(c) for c in cells) + " |", flush=True)


def fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def verdict(value: float | None, target: float, what: str = "dB") -> str:
    """'met' or 'missed by X' for a lower bound."""
    if value is None:
        return "not measured"
    return "met" if value >= target else f"**missed** by {target - value:.2f} {what}"


@dataclasses.dataclass(frozen=True)
class Measured:
    """One model's score on one benchmark setting, as its card records it."""

    model: str
    model_id: str
    benchmark: str
    setting: str
    score: Score
    command: str
    recipe: dict | None
    baselines: dict[str, float]


@dataclasses.dataclass(frozen=True)
class Throughput:
    model: str
    model_id: str
    mp_per_s: float
    images: int
    command: str


@dataclasses.dataclass
class Bench:
    """One benchmark run: scratch space, models, cached runs, and what was measured."""

    scratch: Path
    models: dict[str, str]  # zoo name -> model directory (bundled, or given with --model)
    limit: int | None = None
    cbm3d: bool = False
    measured: list[Measured] = dataclasses.field(default_factory=list)
    throughputs: list[Throughput] = dataclasses.field(default_factory=list)
    headlines: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    _jobs: dict = dataclasses.field(default_factory=dict)
    _baselines: dict = dataclasses.field(default_factory=dict)
    _items: dict = dataclasses.field(default_factory=dict)
    _inputs: dict = dataclasses.field(default_factory=dict)
    _model_ids: dict = dataclasses.field(default_factory=dict)
    _counter: itertools.count = dataclasses.field(default_factory=itertools.count)

    def model(self, name: str) -> str:
        if name not in self.models:
            raise Skip(name)
        return self.models[name]

    def has(self, name: str) -> bool:
        return name in self.models

    def weights(self, file_name: str) -> str:
        """The DnCNN authors' weights, imported once per run."""
        return import_dncnn(file_name, self.scratch / "weights" / file_name.replace("=", "").replace(".mat", ""))

    def folder(self, set_name: str) -> Path:
        """A benchmark set, or a copy of its first ``limit`` images (bench.common.first_images)."""
        return first_images(set_name, self.limit, self.scratch)

    def out(self, label: str) -> Path:
        return self.scratch / "runs" / f"{next(self._counter):03d}-{label}"

    def job(self, model_dir: str, set_name: str, recipe: str) -> Score:
        """The restore job in paired mode (``--degrade recipe --seed 0``), once per run."""
        key = (model_dir, set_name, recipe)
        if key not in self._jobs:
            out = self.out(f"{Path(model_dir).name}-{set_name}")
            summary = restore_job(self.folder(set_name), model_dir, out, f"--degrade={recipe}", *PAIRED_FLAGS)
            self._jobs[key] = self.check_inputs(set_name, recipe, Path(model_dir).name, score_of(summary, out))
            self._model_ids[model_dir] = summary["model_id"]
        return self._jobs[key]

    def clean_job(self, model_dir: str, set_name: str) -> Score:
        """The restore job on the clean set itself, scored against it (--reference = the input)."""
        key = (model_dir, set_name, None)
        if key not in self._jobs:
            folder, out = self.folder(set_name), self.out(f"{Path(model_dir).name}-{set_name}-clean")
            summary = restore_job(folder, model_dir, out, f"--reference={folder}", "--write_images=none")
            self._jobs[key] = score_of(summary, out)
            self._model_ids[model_dir] = summary["model_id"]
        return self._jobs[key]

    def items(self, set_name: str, recipe: str) -> list[baselines.Item]:
        key = (set_name, recipe)
        if key not in self._items:
            self._items[key] = list(baselines.degraded_set(self.folder(set_name), self.recipe(recipe)))
        return self._items[key]

    def baseline(self, set_name: str, recipe: str, label: str, restore: Callable) -> Score:
        """A numpy baseline on the same degraded images as the restore job, once per run."""
        key = (set_name, recipe, label)
        if key not in self._baselines:
            score = baselines.run_baseline(self.items(set_name, recipe), restore, self.recipe(recipe))
            self._baselines[key] = self.check_inputs(set_name, recipe, label, score)
        return self._baselines[key]

    def check_inputs(self, set_name: str, recipe: str, label: str, score: Score) -> Score:
        """Every method on (set, recipe) must have scored the same degraded inputs: their
        per-image input PSNRs agree exactly, or the comparison would be meaningless."""
        before = {image_id: pair[0] for image_id, pair in score.per_image.items()}
        first_label, first = self._inputs.setdefault((set_name, recipe), (label, before))
        if first.keys() != before.keys() or any(abs(first[k] - before[k]) > 1e-6 for k in before):
            raise RuntimeError(f"{label} and {first_label} saw different degraded inputs ({set_name}, {recipe}): "
                               "the benchmark is broken")
        return score

    @staticmethod
    def recipe(recipe: str):
        from pipelines.degrade import recipe as recipes

        return recipes.load(recipe)

    def megapixels(self, set_name: str) -> float:
        from bench.common import megapixels

        return megapixels(self.folder(set_name))

    def record(self, name: str, set_name: str, setting: str, score: Score, *, recipe: str | None,
               baselines_db: dict[str, float] | None = None) -> None:
        """Keeps ``score`` for model ``name``'s card (written with --write-cards)."""
        model_dir = self.models[name]
        self.measured.append(Measured(
            model=name, model_id=self._model_ids[model_dir], benchmark=set_name,
            setting=setting, score=score, command=self.command(name, set_name, recipe),
            recipe=_recipe_config(recipe), baselines={k: round(v, 3) for k, v in (baselines_db or {}).items()},
        ))

    def headline(self, name: str, text: str) -> None:
        self.headlines.setdefault(name, []).append(text)

    @staticmethod
    def command(name: str, set_name: str, recipe: str | None) -> str:
        """The command a reader runs to reproduce a measurement (a recipe file's content is
        recorded beside it); no recipe means the clean set scored against itself."""
        folder = f"{SHARED_DISPLAY}/{set_name}"
        how = f"--reference {folder}" if recipe is None else f"--degrade {recipe_display(recipe)} --seed 0"
        return f"restoreflow restore --input {folder} --model {name} --output OUT {how} --write_images=none"


def recipe_display(recipe: str) -> str:
    return Path(recipe).name if recipe.endswith(".yaml") else recipe


def _recipe_config(recipe: str | None) -> dict | None:
    """A recipe file's full content (a built-in recipe is named by the command already)."""
    if recipe is None or not recipe.endswith(".yaml"):
        return None
    from restoreflow.configs import to_plain

    return to_plain(Bench.recipe(recipe))


def score_of(summary: dict, out: Path) -> Score:
    """A restore run's mean scores and per-image PSNRs; a run with errors stops the benchmark."""
    from pipelines.report import summaries
    from restoreflow import scores as score_table

    if summary["counts"].get("error"):
        errors = summaries.read_errors(str(out / "errors" / summary["run_id"]))
        raise RuntimeError(f"the restore job failed on {len(errors)} image(s) in {out}: {json.dumps(errors[:3])}")
    rows = [r for r in score_table.read(str(out), summary["run_id"]).to_pylist() if r["status"] == "restored"]
    scores = summary["scores"]
    return Score(
        psnr_db=scores["psnr_db_restored"]["mean"], ssim=scores["ssim_restored"]["mean"],
        psnr_db_degraded=scores["psnr_db_degraded"]["mean"] if "psnr_db_degraded" in scores else None,
        images=len(rows), seconds=summary["wall_seconds"],
        per_image={r["image_id"]: (r["psnr_db_degraded"], r["psnr_db_restored"]) for r in rows},
    )
