"""Shared bits of the benchmarks: where the data is, what machine this is, and timing."""

from __future__ import annotations

import os
import platform
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


def shared_path(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        raise SystemExit(f"this benchmark needs {path} (the shared benchmark data beside the checkout)")
    return path


def first_images(set_name: str, limit: int, scratch: Path) -> Path:
    """A benchmark set from ../shared, or (``limit`` > 0) a copy of its first ``limit`` images
    under ``scratch`` (same names, so the same image ids and the same seeded degradations)."""
    import shutil

    from bench.baselines import image_files

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
