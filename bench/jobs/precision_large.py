"""`--precision auto` against f32 on large photographs: the whole restore job's speed and the
PSNR it costs (issue 23).

    python -m bench.jobs.precision_large [--images 4] [--rounds 2] [--scale 4.9] [--model restore]

The photographs of ``bench.jobs.restore_profile`` (Kodak24 upscaled ``--scale`` times, with
seeded grain). Each side is ``restoreflow restore --engine openvino`` in its own process with 2
threads, start to end; the sides alternate (round 2 in reverse order). PSNR: each written
photograph against its upscaled original before the grain (what the grain hid), 8-bit RGB,
mean over the photographs; the cost is f32's PSNR minus auto's. The scores table's
``precision`` column says what auto ran on this machine.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import numpy as np

from bench.common import machine
from bench.jobs import restore_profile
from bench.jobs.diagnosis import read_rgb
from pipelines.quality import scoring

SIDES = ("f32", "auto")


def ran_precision(output: Path) -> str:
    import pyarrow.parquet as pq

    ran = {value for path in output.glob("scores/*/*.parquet") for value in pq.read_table(path)["precision"].to_pylist()}
    return "/".join(sorted(ran))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--scale", type=float, default=4.9)
    parser.add_argument("--model", default="restore")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="bench-precision-in-"))
    megapixels = restore_profile.make_photographs(folder, args.images, args.scale)
    clean = {name: np.clip(image, 0, 255).round().astype(np.uint8)  # before the grain, as written: 8-bit
             for name, image in restore_profile.upscaled_originals(args.images, args.scale).items()}
    seconds, mean_psnr, ran = {s: [] for s in SIDES}, {}, {}
    for r in range(args.rounds):
        for side in SIDES if r % 2 == 0 else tuple(reversed(SIDES)):
            result = restore_profile.in_child("job", folder, args.model, side, [])
            seconds[side].append(result["seconds"])
            output = Path(result["output"])
            mean_psnr[side] = statistics.fmean(scoring.psnr_db(image, read_rgb(output / "restored" / name))
                                             for name, image in clean.items())
            ran[side] = ran_precision(output)
            print(f"round {r + 1}: {side}: {result['seconds']:.1f} s", flush=True)
    grainy = statistics.fmean(scoring.psnr_db(image, read_rgb(folder / name)) for name, image in clean.items())
    print(f"\nmachine: {machine()}\n{args.images} photographs, {megapixels:.1f} MP; model {args.model}, OpenVINO, "
          f"{restore_profile.THREADS} threads; {args.rounds} rounds, alternating; input {grainy:.3f} dB\n")
    print("| --precision | ran | seconds per round | MP/s (median) | speed vs f32 (per round) | PSNR dB | cost dB |")
    print("|---|---|---|---|---|---|---|")
    for side in SIDES:
        ratios = " / ".join(f"{f / s:.2f}" for f, s in zip(seconds["f32"], seconds[side]))
        print(f"| {side} | {ran[side]} | {' / '.join(f'{s:.1f}' for s in seconds[side])} | "
              f"{megapixels / statistics.median(seconds[side]):.3f} | {ratios} | {mean_psnr[side]:.3f} | "
              f"{mean_psnr['f32'] - mean_psnr[side]:.3f} |")


if __name__ == "__main__":
    main()
