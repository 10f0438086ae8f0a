"""Job 3's peak memory on one large image: the restore job (in-process runner, in its own
process, ``--engine auto``) tiles the image, so its peak RSS should stay flat in the image's
size, apart from the image itself.

    python -m bench.jobs.memory [--megapixels 50] [--model restore] [--colour] [--first-run]

``--model``: a bundled name or a model directory (default: the bundled default model). The
image is scikit-image's ``camera`` (gray) or ``astronaut`` (``--colour``) resized to the size
asked for, with seeded grain, saved as an 8-bit PNG. Needs nothing from ../shared.

The job runs with an OpenVINO cache of its own (XDG_CACHE_HOME in the scratch folder), so the
figure does not depend on this machine's cache: filled first by a run on a tiny image (a
machine's runs after its first, which read OpenVINO's conversion and load no TensorFlow), or
left empty with ``--first-run`` (the run converts the model, with TensorFlow, in a child process
of its own: its peak is shown apart, and the machine's peak is about the larger of the two).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from bench.common import ROOT, machine

MEMORY_CHILD = """
import json, resource, sys, time
from pipelines import restore
start = time.perf_counter()
restore.run(sys.argv[1:])
print(json.dumps({"seconds": time.perf_counter() - start, "tensorflow": "tensorflow" in sys.modules,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "children_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def make_big_image(path: Path, megapixels: float, colour: bool = False) -> tuple[int, int]:
    """A real photograph resized to ``megapixels`` (4:3), with grain, saved as an 8-bit PNG."""
    import skimage.data
    from PIL import Image

    height = int((megapixels * 1e6 * 3 / 4) ** 0.5)
    width = int(height * 4 / 3)
    photo = skimage.data.astronaut() if colour else skimage.data.camera()
    base = Image.fromarray(photo).resize((width, height), Image.BICUBIC)
    pixels = np.asarray(base, dtype=np.int16)
    grain = np.random.default_rng(0).integers(-12, 13, pixels.shape, dtype=np.int16)
    Image.fromarray(np.clip(pixels + grain, 0, 255).astype(np.uint8)).save(path)
    return width, height


def memory(model: str, megapixels: float, colour: bool = False, first_run: bool = False) -> list[str]:
    """A markdown table of one run: the image, its size, peak RSS and wall seconds."""
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as folder:
        scratch = Path(folder)
        env = {**os.environ, "XDG_CACHE_HOME": str(scratch / "cache")}
        if not first_run:
            restore_in_child(scratch / "warm", scratch / "warm-out", model, 0.01, colour, env)
        width, height, measured = restore_in_child(scratch / "in", scratch / "out", model, megapixels, colour, env)
    lines = ["| image | pixels | model | engine | OpenVINO model | TensorFlow loaded | peak RSS | its child processes' "
             "peak RSS (the conversion) | seconds |", "|---|---|---|---|---|---|---|---|---|"]
    lines.append(f"| {width}x{height} {'colour' if colour else 'gray'} | {width * height / 1e6:.1f} MP | "
                 f"{Path(model).name} | auto | {'converted in the run' if first_run else 'cached'} | "
                 f"{'yes' if measured['tensorflow'] else 'no'} | **{measured['peak_rss_mb']:.0f} MB** | "
                 f"{measured['children_peak_rss_mb']:.0f} MB | {measured['seconds']:.0f} |")
    return lines


def restore_in_child(folder: Path, output: Path, model: str, megapixels: float, colour: bool, env: dict):
    """(width, height, {"seconds", "peak_rss_mb"}) of the restore job on one made image, in a process of its own."""
    folder.mkdir()
    width, height = make_big_image(folder / "big.png", megapixels, colour)
    result = subprocess.run(
        [sys.executable, "-c", MEMORY_CHILD, f"--input={folder}", f"--output={output}", f"--model={model}",
         "--engine=auto"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True,
    )
    return width, height, json.loads(result.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    from restoreflow.zoo import DEFAULT

    parser = argparse.ArgumentParser(prog="python -m bench.jobs.memory", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megapixels", type=float, default=50)
    parser.add_argument("--model", default=DEFAULT, help="a bundled name or a model directory")
    parser.add_argument("--colour", action="store_true", help="a colour image (default gray)")
    parser.add_argument("--first-run", action="store_true",
                        help="an empty OpenVINO cache: the run converts the model (default: cached, as on later runs)")
    args = parser.parse_args(argv)
    print(f"machine: {machine()}")
    print("\n".join(memory(args.model, args.megapixels, args.colour, args.first_run)))


if __name__ == "__main__":
    main()
