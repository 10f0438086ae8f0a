"""Shared bits of the benchmarks: where the data is, what machine this is, timing, the restore
job run as a user runs it, and the published numbers the benchmarks compare with. Depends on
no benchmark."""

from __future__ import annotations

import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


def shared_path(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        raise SystemExit(f"this benchmark needs {path} (the shared benchmark data beside the checkout)")
    return path


def image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def first_images(set_name: str, limit: int, scratch: Path) -> Path:
    """A benchmark set from ../shared, or (``limit`` > 0) a copy of its first ``limit`` images
    under ``scratch`` (same names, so the same image ids and the same seeded degradations)."""
    import shutil

    full = shared_path("data", set_name)
    if not limit:
        return full
    cut = scratch / "sets" / set_name
    if not cut.exists():
        cut.mkdir(parents=True)
        for path in image_files(full)[:limit]:
            shutil.copyfile(path, cut / path.name)
    return cut


def nightly_bucket(target: Path, copies: int) -> Path:
    """The nightly benchmarks' bucket: BSD68 and Set12 copied ``copies`` times under batchN/."""
    import shutil

    for copy in range(copies):
        for set_name in ("bsd68", "set12"):
            shutil.copytree(shared_path("data", set_name), target / f"batch{copy}" / set_name)
    return target


def import_dncnn(name: str, target: Path) -> str:
    """The DnCNN authors' ``name`` (e.g. ``sigma=25.mat``) from ../shared, imported into the model
    directory ``target`` (kept when it is already there)."""
    from model import import_weights

    if not target.exists():
        import_weights.main(["--format", "dncnn-matconvnet", str(shared_path("weights", "dncnn", name)),
                             "--output", str(target)])
    return str(target)


def machine() -> str:
    from restoreflow.provenance import cpu_flags, cpu_model_name

    flags = cpu_flags()
    cpu = f"{cpu_model_name()} ({vector_isa(flags)})" if flags else cpu_model_name()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    memory = ""
    try:
        kib = int(next(line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")).split()[1])
        memory = f", {kib / 1024**2:.0f} GiB RAM"
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {cores} cores{memory}, Python {platform.python_version()}"


def vector_isa(flags: frozenset[str] | set[str]) -> str:
    """The widest vector instructions a CPU has: the model name alone ("AMD EPYC") is the same
    on hosts whose speed differs by 1.5x, and bf16 support decides --precision bf16."""
    if "avx512_bf16" in flags or "amx_bf16" in flags:
        return "AVX-512 with bf16"
    if "avx512f" in flags:
        return "AVX-512"
    if "avx2" in flags:
        return "AVX2"
    return "no AVX2"


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - start, result


def median(values) -> float:
    return statistics.median(values)


# --- published numbers (../shared/data/README.md) ---------------------------------------------

PUBLISHED_DENOISE = {  # DnCNN-S, Zhang et al. 2017 (BSD68 Table; Set12 sigma 25)
    ("bsd68", 15): 31.73, ("bsd68", 25): 29.23, ("bsd68", 50): 26.23, ("set12", 25): 30.44,
}
PUBLISHED_BLIND = {("bsd68", 15): 31.61, ("bsd68", 25): 29.16, ("bsd68", 50): 26.23}  # DnCNN-B
PUBLISHED_BM3D = {("bsd68", 15): 31.07, ("bsd68", 25): 28.57, ("bsd68", 50): 25.62, ("set12", 25): 29.97}
PUBLISHED_JPEG = {10: 29.40, 20: 31.63, 30: 32.91, 40: 33.77}  # DnCNN-3, classic5
PUBLISHED_SR = {2: 37.58, 3: 33.75, 4: 31.40}  # DnCNN-3, Set5
PUBLISHED_BICUBIC = {2: 33.66, 3: 30.39, 4: 28.42}


# --- the restore job, as users run it -----------------------------------------------------------

def write_recipe(scratch: Path, name: str, text: str) -> str:
    path = scratch / f"{name}.yaml"
    path.write_text(text)
    return str(path)


def jpeg_recipe(scratch: Path, quality: int) -> str:
    return write_recipe(scratch, f"jpeg-q{quality}", f"""name: jpeg-q{quality}
task: jpeg
color: keep
steps:
  - op: jpeg
    quality: {quality}
""")


def bicubic_sr_recipe(scratch: Path, scale: int) -> str:
    return write_recipe(scratch, f"sr-x{scale}-reupscaled", f"""name: sr-x{scale}-reupscaled
task: sr
color: keep
steps:
  - op: downscale
    scale: {scale}
    reupscale: true
""")


PAIRED_FLAGS = ("--seed=0", "--write_images=none")


def restore_job(folder, model_dir: str, out: Path, *flags: str) -> dict:
    """Runs the restore job on ``folder``; returns its summary with the wall seconds."""
    from pipelines import restore

    start = time.perf_counter()
    summary = restore.run([f"--input={folder}", f"--model={model_dir}", f"--output={out}", *flags])
    summary["wall_seconds"] = time.perf_counter() - start
    return summary


def paired(folder, model_dir: str, recipe: str, out: Path) -> dict:
    """Runs the restore job in paired mode; returns its summary with the wall seconds."""
    return restore_job(folder, model_dir, out, f"--degrade={recipe}", *PAIRED_FLAGS)


def mean(summary: dict, name: str) -> float:
    return summary["scores"][name]["mean"]


def megapixels(folder: Path) -> float:
    from PIL import Image

    return sum(np.prod(Image.open(p).size) for p in sorted(folder.iterdir())) / 1e6


def record_in_card(model_dir, *, inference: dict | None = None, **entries) -> None:
    """Writes measured ``entries`` (provenance keys: scores, headline, ...) into a model
    directory's card; ``inference`` entries join those already under its ``inference`` key."""
    from restoreflow.card import CARD_FILE, ModelCard

    path = Path(model_dir) / CARD_FILE
    card = ModelCard.from_json(path.read_text(), str(path))
    if inference:
        entries["inference"] = {**card.provenance.get("inference", {}), **inference}
    path.write_text(card.with_provenance(**entries).to_json())
