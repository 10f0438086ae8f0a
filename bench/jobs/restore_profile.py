"""Where job 3's time goes on large photographs: the restore job per stage, against the bare
forward pass of the same engine on the whole images (issue 23).

    python -m bench.jobs.restore_profile [--images 4] [--rounds 2] [--scale 3.9] [--model restore]
                                         [--precision f32] [--other CHECKOUT] [--job-arg=--tile_size=1024 ...]

The photographs: the first ``--images`` of Kodak24 (../shared), upscaled ``--scale`` times
(bicubic; 4.9 makes 2450x2450, 6 MP) with seeded grain (Gaussian, sigma 3 of 255, per
sample), as 8-bit PNGs in a scratch folder. Every side runs in its own process with 2 threads;
the sides alternate (round 2 in reverse order), so a background load spreads over them:

- bare: the engine's forward pass on each whole image (one call per image, the first one's
  set-up untimed), as ``restoreflow restore`` loads it (``TileModelHandler.load_model``);
- job: ``restoreflow restore --engine openvino`` on the in-process runner, start to end
  (imports, model loading and conversion, every image written);
- with ``--other``: the job side in another checkout too, alternating with this one's.

Then the job once more under cProfile, for the per-stage table: the cumulative seconds of the
functions that do each stage (cProfile adds a little to Python-heavy stages; the engine's
calls run in C++ and are timed as they are), and the engine's calls by batch shape.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import ROOT, machine, shared_path

THREADS = 2
# stage -> the functions (module path suffix, name) whose cumulative time it is
STAGES = {
    "imports": [("bench/jobs/restore_profile.py", "imports")],
    "settings and pipeline (the launcher's model check)": [("pipelines/restore/job.py", "build_pipeline")],
    "model loading and conversion (worker)": [("pipelines/restore/inference.py", "load_model")],
    "decode": [("pipelines/imaging/images.py", "decode")],
    "prepare (model input, crop, scores before)": [("pipelines/restore/prepare.py", "prepare")],
    "tiling (cut, to float)": [("pipelines/restore/tiles.py", "process"), ("pipelines/restore/tiles.py", "cut")],
    "run_inference minus engine (grouping, stacking)": [("pipelines/restore/inference.py", "run_inference")],
    "engine infer": [("model/engines.py", "forward")],
    "stitching": [("pipelines/restore/tiles.py", "add")],
    "write and score": [("pipelines/restore/write.py", "finish")],
    "report.html": [("pipelines/report/build.py", "try_build_report")],
}
NESTED = {  # parts of a stage above, shown under it
    "· of which encode": [("pipelines/imaging/images.py", "encode")],
    "· of which no-reference signals (before and after)": [("pipelines/restore/quality.py", "no_reference")],
}


def upscaled_originals(count: int, scale: float) -> dict[str, np.ndarray]:
    """Kodak24's first ``count`` photographs upscaled ``scale`` times (bicubic), float32 on 0-255."""
    from PIL import Image

    found = {}
    for path in sorted(shared_path("data", "kodak24").glob("*.png"))[:count]:
        with Image.open(path) as image:
            size = (round(image.width * scale), round(image.height * scale))
            found[path.name] = np.asarray(image.convert("RGB").resize(size, Image.BICUBIC), dtype=np.float32)
    return found


def make_photographs(folder: Path, count: int, scale: float) -> float:
    """The upscaled originals with seeded grain, written to ``folder``; their megapixels."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    megapixels = 0.0
    for i, (name, big) in enumerate(upscaled_originals(count, scale).items()):
        grain = np.random.default_rng([23, i]).normal(0, 3, big.shape)
        Image.fromarray(np.clip(big + grain, 0, 255).round().astype(np.uint8)).save(folder / name)
        megapixels += big.shape[0] * big.shape[1] / 1e6
    return megapixels


# --- the sides, each in its own process ------------------------------------------------------


def side_bare(folder: Path, model: str, precision: str) -> dict:
    from pipelines.imaging import images
    from pipelines.restore.inference import TileModelHandler

    predictor = TileModelHandler(model, batch_size=1, tf_threads=THREADS, engine="openvino",
                                 precision=precision).load_model()
    seconds = 0.0
    for i, path in enumerate(sorted(folder.glob("*.png"))):
        pixels = images.as_float(images.decode(path.read_bytes()).pixels)[None]
        if i == 0:
            predictor(pixels[:, :64, :64])  # the engine's first set-up, untimed as in the job's warm start
        start = time.perf_counter()
        predictor(pixels)
        seconds += time.perf_counter() - start
    return {"seconds": seconds}


def job_args(folder: Path, model: str, precision: str, extra: list[str]) -> list[str]:
    output = tempfile.mkdtemp(prefix="bench-profile-out-")
    return [f"--input={folder}", f"--output={output}", f"--model={model}", "--engine=openvino",
            f"--precision={precision}", f"--tf_threads={THREADS}", *extra]


def side_job(folder: Path, model: str, precision: str, extra: list[str]) -> dict:
    from pipelines import restore

    start = time.perf_counter()
    args = job_args(folder, model, precision, extra)
    summary = restore.run(args)
    seconds = time.perf_counter() - start
    assert summary["counts"].get("restored") == len(list(folder.glob("*.png"))), summary["counts"]
    return {"seconds": seconds, "output": args[1].removeprefix("--output=")}


def imports() -> None:
    """What the restore job imports before it starts (timed under its own name in the profile)."""
    import apache_beam  # noqa: F401
    import tensorflow  # noqa: F401

    import pipelines.restore.job  # noqa: F401


def side_profile(folder: Path, model: str, precision: str, extra: list[str]) -> dict:
    from model import engines
    from pipelines import restore

    shapes: dict[str, int] = {}
    call = engines.Predictor.__call__

    def recorded(predictor, batch):  # the shapes the job sends to its engine, one key per call
        key = "x".join(str(n) for n in batch.shape)
        shapes[key] = shapes.get(key, 0) + 1
        return call(predictor, batch)

    engines.Predictor.__call__ = recorded
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    imports()
    restore.run(job_args(folder, model, precision, extra))
    profiler.disable()
    total = time.perf_counter() - start
    stats = pstats.Stats(profiler).stats
    stages = {}
    for stage, functions in {**STAGES, **NESTED}.items():
        found = [(calls, cumulative) for (file, _, name), (_, calls, _, cumulative, _) in stats.items()
                 if any(file.endswith(suffix) and name == fn for suffix, fn in functions)]
        stages[stage] = {"seconds": sum(c for _, c in found), "calls": sum(n for n, _ in found)}
    stages["run_inference minus engine (grouping, stacking)"]["seconds"] -= stages["engine infer"]["seconds"]
    listed = sum(stages[name]["seconds"] for name in STAGES)
    stages["other (Beam, runner, progress, the rest)"] = {"seconds": total - listed, "calls": 0}
    return {"seconds": total, "stages": stages, "shapes": shapes}


def in_child(side: str, folder: Path, model: str, precision: str, extra: list[str], checkout: Path = ROOT) -> dict:
    command = [sys.executable, "-m", "bench.jobs.restore_profile", "--side", side, "--folder", str(folder),
               "--model", model, "--precision", precision, *(f"--job-arg={a}" for a in extra)]
    env = {**os.environ, "PYTHONPATH": str(checkout), "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run(command, cwd=checkout, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"side {side} in {checkout} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- the report --------------------------------------------------------------------------------


def rounds_of(sides: list[tuple[str, Path]], rounds: int, run) -> dict:
    results: dict[tuple[str, Path], list[dict]] = {side: [] for side in sides}
    for r in range(rounds):
        for side in sides if r % 2 == 0 else list(reversed(sides)):
            results[side].append(run(*side))
            print(f"round {r + 1}: {side[0]} ({side[1]}): {json.dumps(results[side][-1])}", file=sys.stderr, flush=True)
    return results


def report(args, folder: Path, megapixels: float) -> list[str]:
    extra = args.job_arg or []
    sides = [("bare", ROOT), ("job", ROOT)] + ([("job", args.other.absolute())] if args.other else [])
    results = rounds_of(sides, args.rounds,
                        lambda side, checkout: in_child(side, folder, args.model, args.precision, extra, checkout))
    bare = [r["seconds"] for r in results["bare", ROOT]]
    lines = [f"{args.images} photographs, {megapixels:.1f} MP; model {args.model}, OpenVINO {args.precision}, "
             f"{THREADS} threads; job flags: {' '.join(extra) or '(defaults)'}; {args.rounds} rounds, alternating",
             "", "| side | checkout | seconds per round | MP/s (median) | job / bare speed (per round) |",
             "|---|---|---|---|---|"]
    for (side, checkout), rows in results.items():
        seconds = [r["seconds"] for r in rows]
        ratios = " / ".join(f"{b / s:.2f}" for b, s in zip(bare, seconds)) if side == "job" else ""
        lines.append(f"| {side} | {checkout.name} | {' / '.join(f'{s:.1f}' for s in seconds)} | "
                     f"{megapixels / statistics.median(seconds):.3f} | {ratios} |")
    profiled = in_child("profile", folder, args.model, args.precision, extra)
    lines += ["", f"Per stage (the job once more under cProfile, {profiled['seconds']:.1f} s):", "",
              "| stage | seconds | share | calls |", "|---|---|---|---|"]
    order = [*STAGES, *NESTED, "other (Beam, runner, progress, the rest)"]
    for stage, value in sorted(profiled["stages"].items(), key=lambda item: order.index(item[0])):
        lines.append(f"| {stage} | {value['seconds']:.1f} | {value['seconds'] / profiled['seconds']:.0%} | {value['calls']} |")
    infer = profiled["stages"]["engine infer"]["seconds"]
    pixels = sum(int(np.prod([int(n) for n in shape.split("x")[:3]])) * count for shape, count in profiled["shapes"].items())
    lines += ["", f"engine calls by batch shape (NxHxWxC: calls): {profiled['shapes']}; {pixels / 1e6:.1f} MP of tiles for "
              f"{megapixels:.1f} MP of photographs ({pixels / 1e6 / megapixels:.2f}x); engine in the job "
              f"{pixels / 1e6 / infer:.3f} MP/s of tile pixels, bare {megapixels / statistics.median(bare):.3f} MP/s"]
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--scale", type=float, default=4.9)
    parser.add_argument("--model", default="restore")
    parser.add_argument("--precision", choices=("f32", "bf16", "auto"), default="f32")
    parser.add_argument("--other", type=Path, help="another checkout: its job side alternates with this one's")
    parser.add_argument("--job-arg", action="append", help="a flag for the job sides, e.g. --job-arg=--tile_size=1024")
    parser.add_argument("--side", choices=("bare", "job", "profile"), help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        run = {"bare": side_bare, "job": side_job, "profile": side_profile}[args.side]
        extra = [] if args.side == "bare" else [args.job_arg or []]
        print(json.dumps(run(args.folder, args.model, args.precision, *extra)))
        return
    folder = Path(tempfile.mkdtemp(prefix="bench-profile-in-"))
    megapixels = make_photographs(folder, args.images, args.scale)
    print(f"machine: {machine()}")
    print("\n".join(report(args, folder, megapixels)))


if __name__ == "__main__":
    main()
