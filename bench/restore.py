"""Job 3 throughput and memory.

    python -m bench.restore [--skip-memory] [--skip-throughput]

Throughput: on BSD68 (68 real photographs), the restore job's megapixels/s against the bare
model's forward pass over the same images in this process (one image per call, the model
loaded once). The model is DnCNN-17 with the authors' sigma 25 weights (the restore job's
heaviest real workload here). The job runs in-process and with 2 local worker processes.

Memory: peak resident memory of a restore run (in-process runner, its own subprocess) on
one 12-megapixel and one 50-megapixel gray image, with the same model.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import ROOT, import_dncnn, machine, shared_path


def bare_forward(model_dir: str, files: list[Path]) -> tuple[float, float]:
    """Seconds and megapixels for model(image) over every file, after loading and one warm-up."""
    import tensorflow as tf

    from model.export import load_model
    from pipelines import images

    model, _ = load_model(model_dir)
    predict = tf.function(lambda x: model(x, training=False),
                          input_signature=[tf.TensorSpec([None, None, None, 1], tf.float32)])
    decoded = [images.to_float(images.decode(f.read_bytes()).pixels) for f in files]
    predict(decoded[0][None])
    start = time.perf_counter()
    for image in decoded:
        predict(image[None]).numpy()
    seconds = time.perf_counter() - start
    return seconds, sum(i.shape[0] * i.shape[1] for i in decoded) / 1e6


def job(model_dir: str, folder: Path, output: Path, *extra: str) -> float:
    from pipelines import restore

    start = time.perf_counter()
    summary = restore.run([f"--input={folder}", f"--output={output}", f"--model={model_dir}", *extra])
    assert summary["counts"].get("restored") == len(list(folder.glob("*.png"))), summary["counts"]
    return time.perf_counter() - start


def throughput(model_dir: str) -> list[str]:
    folder = shared_path("data", "bsd68")
    files = sorted(folder.glob("*.png"))
    scratch = Path(tempfile.mkdtemp(prefix="bench-restore-"))
    bare_seconds, megapixels = bare_forward(model_dir, files)
    in_process = job(model_dir, folder, scratch / "a")
    two_workers = job(model_dir, folder, scratch / "b", "--direct_running_mode=multi_processing",
                      "--direct_num_workers=2")
    lines = [
        f"BSD68: {len(files)} images, {megapixels:.2f} MP, DnCNN-17 (sigma 25 weights)",
        "",
        "| what | seconds | MP/s | vs bare forward |",
        "|---|---|---|---|",
        f"| bare model forward, one process | {bare_seconds:.1f} | {megapixels / bare_seconds:.3f} | 1.00 |",
        f"| restore job, in-process runner | {in_process:.1f} | {megapixels / in_process:.3f} | **{bare_seconds / in_process:.2f}** |",
        f"| restore job, 2 worker processes | {two_workers:.1f} | {megapixels / two_workers:.3f} | **{bare_seconds / two_workers:.2f}** |",
    ]
    return lines


def make_big_image(path: Path, megapixels: float) -> tuple[int, int]:
    """A real photograph (scikit-image's camera) resized to ``megapixels``, with grain, 8-bit gray PNG."""
    import skimage.data
    from PIL import Image

    height = int((megapixels * 1e6 * 3 / 4) ** 0.5)
    width = int(height * 4 / 3)
    base = Image.fromarray(skimage.data.camera()).resize((width, height), Image.BICUBIC)
    pixels = np.asarray(base, dtype=np.int16)
    grain = np.random.default_rng(0).integers(-12, 13, pixels.shape, dtype=np.int16)
    Image.fromarray(np.clip(pixels + grain, 0, 255).astype(np.uint8)).save(path)
    return width, height


MEMORY_CHILD = """
import json, resource, sys, time
from pipelines import restore
start = time.perf_counter()
restore.run(sys.argv[1:])
print(json.dumps({"seconds": time.perf_counter() - start,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def memory(model_dir: str) -> list[str]:
    scratch = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    lines = ["| image | pixels | image in memory (8-bit) | peak RSS | seconds |", "|---|---|---|---|---|"]
    for megapixels in (12, 50):
        folder = scratch / f"in-{megapixels}"
        folder.mkdir()
        width, height = make_big_image(folder / "big.png", megapixels)
        result = subprocess.run(
            [sys.executable, "-c", MEMORY_CHILD, f"--input={folder}", f"--output={scratch / f'out-{megapixels}'}",
             f"--model={model_dir}"],
            cwd=ROOT, capture_output=True, text=True, check=True,
        )
        measured = json.loads(result.stdout.strip().splitlines()[-1])
        lines.append(
            f"| {width}x{height} gray | {width * height / 1e6:.1f} MP | {width * height / 1e6:.0f} MB | "
            f"**{measured['peak_rss_mb']:.0f} MB** | {measured['seconds']:.0f} |"
        )
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args()
    model_dir = import_dncnn("sigma=25.mat", Path(tempfile.mkdtemp(prefix="bench-model-")) / "dncnn-s25")
    print(f"machine: {machine()}")
    if not args.skip_throughput:
        print("\n".join(throughput(model_dir)))
    if not args.skip_memory:
        print()
        print("\n".join(memory(model_dir)))


if __name__ == "__main__":
    main()
