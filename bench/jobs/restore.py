"""Job 3 throughput by inference engine, against a PyTorch loop, and memory.

    python -m bench.jobs.restore [--rounds 2] [--images 68] [--skip-throughput] [--skip-memory]
                            [--memory-mp 50] [--memory-model dncnn|denoise-gray] [--other CHECKOUT]

Needs ../shared (BSD68 and the DnCNN authors' weights) and, for the PyTorch side, the
``bench`` extra (torch). Every side runs in its own process with 2 threads, on BSD68 (68
photographs, 10.5 MP), with DnCNN-17 and the authors' sigma 25 weights; the sides alternate
(round 2 runs them in reverse order), so a background load spreads over all of them:

- bare: the model's forward pass per image, TensorFlow and OpenVINO (f32 and bf16)
  interleaved image by image, on the images with sigma 25 noise (seed 0), with the PSNR of
  each engine's output (bf16's PSNR cost for DnCNN-17 comes from here);
- job-tf, job-openvino, job-openvino-bf16: ``restoreflow restore --engine ... [--precision
  bf16]`` on the in-process runner, timed from start to end (model loading and conversion
  included), images written; the bf16 side runs a scratch copy of the model whose card lets
  the job run bf16 (bench/jobs/precision.py's ``under_measurement``);
- torch: the DnCNN authors'-style test loop (decode -> model -> encode and write) in PyTorch
  with the same weights;
- default-tf, default-openvino, default-openvino-bf16: the job with the bundled default model.

``--images N`` takes the first N of BSD68 (for a loaded machine; the default is all 68).
``--other CHECKOUT`` runs the job sides of ``--sides`` in this checkout and in another one
(e.g. ``git archive`` of the commit before a change), alternating, each against the bare
TensorFlow forward pass of its round.

Memory: ``bench.jobs.memory`` (which also runs alone, with any model and colour images) on one gray
image of ``--memory-mp`` megapixels, with the same DnCNN or the bundled starter.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import ROOT, import_dncnn, machine, shared_path
from restoreflow.zoo import DEFAULT, resolve

THREADS = 2
SIDES = ("bare", "job-tf", "job-openvino", "job-openvino-bf16", "torch", "default-tf", "default-openvino",
         "default-openvino-bf16")


def bsd68() -> list[Path]:
    return sorted(shared_path("data", "bsd68").glob("*.png"))[: int(os.environ.get("BENCH_RESTORE_IMAGES", 68))]


def dncnn_gflop_per_mp(model) -> float:
    """2 x multiply-adds of every convolution per output pixel (DnCNN: all at full resolution)."""
    kernels = [layer.kernel.shape for layer in model.layers if layer.__class__.__name__ == "Conv2D"]
    return sum(2 * int(np.prod(k)) for k in kernels) * 1e6 / 1e9


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- the sides, each run in its own process ------------------------------------------------


def side_bare(model_dir: str) -> dict:
    from model import engines
    from model.export import load_model
    from pipelines.imaging import images
    from pipelines.quality import scoring
    from pipelines.restore.inference import set_tf_threads

    set_tf_threads(THREADS)
    model, _ = load_model(model_dir)
    predictors = {
        "tf": engines.load(model, 1, engine="tf"),
        "openvino": engines.load(model, 1, engine="openvino", threads=THREADS),
        "openvino-bf16": engines.load(model, 1, engine="openvino", threads=THREADS, precision="bf16"),
    }
    seconds = dict.fromkeys(predictors, 0.0)
    psnr = {name: [] for name in predictors}
    difference = 0.0
    for i, path in enumerate(bsd68()):
        clean = images.decode(path.read_bytes()).pixels
        noise = np.random.default_rng([0, i]).normal(0, 25 / 255, clean.shape).astype(np.float32)
        degraded = (images.to_float(clean) + noise)[None]  # unclipped, as denoise-gray-s25
        if i == 0:
            for predict in predictors.values():  # warm-up: first-shape set-up is not timed
                predict(degraded)
        order = list(predictors)[i % 3:] + list(predictors)[: i % 3]
        outputs = {}
        for name in order:
            start = time.perf_counter()
            outputs[name] = predictors[name](degraded)[0]
            seconds[name] += time.perf_counter() - start
        for name, restored in outputs.items():
            psnr[name].append(scoring.psnr_db(clean, images.from_float(restored, np.uint8)))
        difference = max(difference, float(np.abs(outputs["openvino"] - outputs["tf"]).max()))
    return {
        "seconds": seconds,
        "psnr_db": {name: statistics.fmean(values) for name, values in psnr.items()},
        "max_abs_difference_openvino_tf": difference,
        "gflop_per_mp": dncnn_gflop_per_mp(model),
        "versions": {name: p.version for name, p in predictors.items()},
    }


def side_job(model_dir: str, engine: str, precision: str = "f32") -> dict:
    from pipelines import restore

    folder = Path(tempfile.mkdtemp(prefix="bench-restore-in-"))
    for path in bsd68():
        shutil.copy(path, folder / path.name)
    output = tempfile.mkdtemp(prefix="bench-restore-")
    start = time.perf_counter()
    summary = restore.run([f"--input={folder}", f"--output={output}", f"--model={model_dir}",
                           f"--engine={engine}", f"--precision={precision}", f"--tf_threads={THREADS}"])
    seconds = time.perf_counter() - start
    assert summary["counts"].get("restored") == len(bsd68()), summary["counts"]
    return {"seconds": seconds, "peak_rss_mb": _peak_rss_mb()}


def torch_dncnn(model_dir: str):
    """The Keras DnCNN's convolutions as a torch.nn.Sequential (the authors' network shape:
    conv-ReLU, 15 x conv-ReLU with batch norm folded, conv), predicting the noise."""
    import torch

    from model.export import load_model

    model, _ = load_model(model_dir)
    convs = [layer for layer in model.layers if layer.__class__.__name__ == "Conv2D"]
    layers = []
    for i, conv in enumerate(convs):
        kernel, bias = (np.asarray(w) for w in conv.get_weights())
        torch_conv = torch.nn.Conv2d(kernel.shape[2], kernel.shape[3], kernel.shape[:2], padding=1)
        torch_conv.weight.data = torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy())
        torch_conv.bias.data = torch.from_numpy(bias)
        layers += [torch_conv] + ([torch.nn.ReLU()] if i < len(convs) - 1 else [])
    net = torch.nn.Sequential(*layers).eval()
    probe = np.random.default_rng(0).random((1, 40, 50, 1), dtype=np.float32)
    with torch.inference_mode():
        by_torch = probe[0, ..., 0] - net(torch.from_numpy(probe[..., 0])[None]).numpy()[0, 0]
    assert np.abs(by_torch - model(probe).numpy()[0, ..., 0]).max() < 1e-4, "not the same network"
    return net


def side_torch(model_dir: str) -> dict:
    import torch
    from PIL import Image

    torch.set_num_threads(THREADS)
    net = torch_dncnn(model_dir)
    output = Path(tempfile.mkdtemp(prefix="bench-torch-"))
    start = time.perf_counter()
    for path in bsd68():
        degraded = torch.from_numpy(np.asarray(Image.open(path), dtype=np.float32) / 255)[None, None]
        with torch.inference_mode():
            restored = degraded - net(degraded)
        pixels = (restored.clamp(0, 1) * 255).round().to(torch.uint8).numpy()[0, 0]
        Image.fromarray(pixels).save(output / path.name)
    return {"seconds": time.perf_counter() - start, "version": torch.__version__}


def run_side(side: str, model_dir: str) -> dict:
    if side == "bare":
        return side_bare(model_dir)
    if side == "torch":
        return side_torch(model_dir)
    from bench.jobs.precision import under_measurement

    which, engine = side.split("-", 1)
    model = model_dir if which == "job" else resolve(DEFAULT)
    if engine.endswith("-bf16"):  # timed whatever its card says; bare's PSNR line gives the cost
        return side_job(under_measurement(model, Path(tempfile.mkdtemp())), engine.removesuffix("-bf16"), "bf16")
    return side_job(model, engine)


def in_child(side: str, model_dir: str, checkout: Path = ROOT) -> dict:
    command = [sys.executable, "-m", "bench.jobs.restore", "--side", side, "--model", model_dir]
    env = {**os.environ, "PYTHONPATH": str(checkout), "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run(command, cwd=checkout, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"side {side} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- the report -----------------------------------------------------------------------------


def throughput(model_dir: str, rounds: int, sides=SIDES) -> list[str]:
    results: dict[str, list[dict]] = {side: [] for side in sides}
    for r in range(rounds):
        for side in sides if r % 2 == 0 else reversed(sides):
            results[side].append(in_child(side, model_dir))
            print(f"round {r + 1}: {side}: {json.dumps(results[side][-1])}", file=sys.stderr, flush=True)
    if tuple(sides) != SIDES:  # a subset (--sides): the per-side lines above are the result
        return [json.dumps(results)]
    megapixels = sum(int(np.prod(_size(p))) for p in bsd68()) / 1e6
    seconds = {side: [r["seconds"] for r in rows] for side, rows in results.items() if side != "bare"}
    for engine in ("tf", "openvino", "openvino-bf16"):
        seconds[f"bare-{engine}"] = [r["seconds"][engine] for r in results["bare"]]
    gflop = results["bare"][0]["gflop_per_mp"] * megapixels

    def row(label, side, against=None):
        times = seconds[side]
        mps = megapixels / statistics.median(times)
        text = f"| {label} | {' / '.join(f'{t:.1f}' for t in times)} | {mps:.3f}"
        text += f" | {gflop / statistics.median(times):.0f}" if not side.startswith("default") else " | -"
        if against:
            ratios = [a / b for a, b in zip(seconds[against], times)]
            text += f" | {statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})"
        return text + " |"

    bare = results["bare"]
    return [
        f"BSD68: {len(bsd68())} images, {megapixels:.2f} MP; DnCNN-17 sigma 25 weights, {gflop / megapixels:.0f} GFLOP/MP; "
        f"{THREADS} threads everywhere; {rounds} rounds (seconds per round)",
        f"engines: {bare[0]['versions']}; torch {results['torch'][0]['version']}",
        "",
        "| side | seconds | MP/s | GFLOP/s | speed-up (median, range over rounds) |",
        "|---|---|---|---|---|",
        row("bare forward, TensorFlow", "bare-tf"),
        row("bare forward, OpenVINO f32", "bare-openvino", "bare-tf") + " vs bare TF",
        row("bare forward, OpenVINO bf16", "bare-openvino-bf16", "bare-tf") + " vs bare TF",
        row("restore job, --engine tf", "job-tf"),
        row("restore job, --engine openvino", "job-openvino", "job-tf") + " vs job tf",
        row("restore job, --engine openvino --precision bf16", "job-openvino-bf16", "job-tf") + " vs job tf",
        row("PyTorch loop (decode, model, encode)", "torch"),
        "",
        "| ratio | median (range) |",
        "|---|---|",
        _ratio_row("job openvino vs PyTorch loop", seconds["torch"], seconds["job-openvino"]),
        _ratio_row("job openvino bf16 vs PyTorch loop", seconds["torch"], seconds["job-openvino-bf16"]),
        _ratio_row("job tf vs PyTorch loop", seconds["torch"], seconds["job-tf"]),
        _ratio_row("job openvino vs bare TF forward", seconds["bare-tf"], seconds["job-openvino"]),
        "",
        f"bundled default model (`{DEFAULT}`), restore job: "
        + ", ".join(f"{e}: {megapixels / statistics.median(seconds[f'default-{e}']):.3f} MP/s "
                    f"({' / '.join(f'{t:.1f}' for t in seconds[f'default-{e}'])} s)"
                    for e in ("tf", "openvino", "openvino-bf16")),
        "",
        "sigma 25 PSNR of the bare outputs (dB, mean over BSD68): "
        + ", ".join(f"{name} {statistics.fmean(r['psnr_db'][name] for r in bare):.4f}" for name in bare[0]["psnr_db"])
        + f"; max |OpenVINO f32 - TF| {max(r['max_abs_difference_openvino_tf'] for r in bare):.1e}",
        "peak RSS of the job processes (MB): "
        + ", ".join(f"{s} {max(r['peak_rss_mb'] for r in results[s]):.0f}" for s in SIDES if s.startswith(("job", "default"))),
    ]


def compare_checkouts(model_dir: str, rounds: int, sides, other: Path) -> list[str]:
    """The job sides in this checkout and in ``other``, alternating (round 2 in reverse order),
    each against the bare TensorFlow forward of its round (run here: the engines are the same
    code in both): the job's cost over the forward pass, before and after a change."""
    checkouts = [ROOT, other]
    results: dict[tuple[Path, str], list[dict]] = {}
    for r in range(rounds):
        for side in sides if r % 2 == 0 else reversed(sides):
            for checkout in (checkouts if r % 2 == 0 else reversed(checkouts)) if side.startswith("job") else [ROOT]:
                results.setdefault((checkout, side), []).append(in_child(side, model_dir, checkout))
                print(f"round {r + 1}: {checkout} {side}: {json.dumps(results[checkout, side][-1])}",
                      file=sys.stderr, flush=True)
    bare = [row["seconds"]["tf"] for row in results[ROOT, "bare"]]
    lines = ["| checkout | side | seconds per round | job / bare TF forward (median, range) |", "|---|---|---|---|"]
    for (checkout, side), rows in results.items():
        seconds = [row["seconds"] if side != "bare" else row["seconds"]["tf"] for row in rows]
        ratios = [s / b for s, b in zip(seconds, bare)]
        lines.append(f"| {checkout.name} | {side} | {' / '.join(f'{s:.1f}' for s in seconds)} | "
                     f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f}) |")
    lines += ["", "| side | this checkout / other, same round (median, range) |", "|---|---|"]
    for side in sides[1:]:
        mine, theirs = ([row["seconds"] for row in results[c, side]] for c in checkouts)
        lines.append(_ratio_row(side, mine, theirs))
    return lines


def _ratio_row(label: str, slower: list[float], faster: list[float]) -> str:
    ratios = [a / b for a, b in zip(slower, faster)]
    return f"| {label} | **{statistics.median(ratios):.2f}** ({min(ratios):.2f}-{max(ratios):.2f}) |"


def _size(path: Path) -> tuple[int, int]:
    from PIL import Image

    with Image.open(path) as image:
        return image.size


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--sides", default=",".join(SIDES), help="a comma-separated subset of the sides")
    parser.add_argument("--images", type=int, default=68, help="the first N images of BSD68")
    parser.add_argument("--other", type=Path, help="another checkout: its job sides alternate with this one's")
    parser.add_argument("--memory-mp", type=float, default=50)
    parser.add_argument("--memory-model", choices=("dncnn", "denoise-gray"), default="dncnn")
    parser.add_argument("--side", choices=SIDES, help=argparse.SUPPRESS)  # one side, in a child process
    parser.add_argument("--model", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        print(json.dumps(run_side(args.side, args.model)))
        return
    os.environ["BENCH_RESTORE_IMAGES"] = str(args.images)  # read by the sides' processes
    model_dir = import_dncnn("sigma=25.mat", Path(tempfile.mkdtemp(prefix="bench-model-")) / "dncnn-s25")
    print(f"machine: {machine()}")
    if args.other:
        sides = ["bare", *(s for s in args.sides.split(",") if s.startswith("job"))]
        print("\n".join(compare_checkouts(model_dir, args.rounds, sides, args.other.absolute())), flush=True)
    elif not args.skip_throughput:
        print("\n".join(throughput(model_dir, args.rounds, tuple(args.sides.split(",")))), flush=True)
    if not args.skip_memory:
        print()
        from bench.jobs.memory import memory

        print("\n".join(memory(model_dir if args.memory_model == "dncnn" else args.memory_model, args.memory_mp)))


if __name__ == "__main__":
    main()
