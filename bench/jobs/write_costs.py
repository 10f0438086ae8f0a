"""What the restore job's writer spends per large photograph: the PNG encode at each zlib level,
and the no-reference signals over every pixel against over the job's sample of bands.

    python -m bench.jobs.write_costs [--images 4] [--scale 4.9] [--rounds 2]

The photographs are those of ``bench.jobs.restore_profile`` (Kodak24 upscaled ``--scale``
times with light grain, about 6 MP at 4.9), each also with Gaussian noise sigma 10 and as a
JPEG of quality 30, since the signals read those differently. Each round runs every level or
side once per image, in turn, so the machine's load falls on all alike.
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from bench.common import machine, median
from bench.jobs.restore_profile import make_photographs
from pipelines.imaging import images
from pipelines.quality import signals

LEVELS = (1, 3, 6, 9)
SIGNALS = ("noise_sigma", "sharpness", "blockiness")


def variants(path: Path, seed: int) -> dict[str, np.ndarray]:
    clean = np.asarray(Image.open(path).convert("RGB"))
    noise = np.random.default_rng([seed, 10]).normal(0.0, 10.0, clean.shape)
    buffer = io.BytesIO()
    Image.fromarray(clean).save(buffer, format="JPEG", quality=30)
    return {"clean": clean, "noise 10": np.clip(clean + noise, 0, 255).round().astype(np.uint8),
            "JPEG 30": np.asarray(Image.open(buffer))}


def encode_costs(photos: list[np.ndarray], rounds: int) -> dict[int, tuple[list[float], int]]:
    """Per level: the seconds of each encode, and the bytes of the last round's files."""
    found = {level: ([], 0) for level in LEVELS}
    for _ in range(rounds):
        for pixels in photos:
            for level in LEVELS:
                start = time.perf_counter()
                data = images.encode(pixels, format="PNG", png_compress_level=level)
                seconds, sizes = found[level]
                seconds.append(time.perf_counter() - start)
                found[level] = (seconds, sizes + len(data))
    return {level: (seconds, sizes // rounds) for level, (seconds, sizes) in found.items()}


def signal_costs(cases: dict[str, np.ndarray], rounds: int):
    """Seconds of every pixel against the sample, and each signal's largest relative change."""
    seconds = {"every pixel": [], "sample": []}
    change = {(kind, name): 0.0 for kind in ("clean", "noise 10", "JPEG 30") for name in SIGNALS}
    for _ in range(rounds):
        for label, pixels in cases.items():
            read = {}
            for side, limit in (("every pixel", None), ("sample", signals.SAMPLE_PIXELS)):
                start = time.perf_counter()
                read[side] = {"noise_sigma": signals.noise_sigma_estimate(pixels, max_pixels=limit),
                              "sharpness": signals.sharpness_laplacian_var(pixels, max_pixels=limit),
                              "blockiness": signals.jpeg_blockiness(pixels, max_pixels=limit)}
                seconds[side].append(time.perf_counter() - start)
            kind = label.split(":")[0]
            for name in SIGNALS:
                whole, sample = read["every pixel"][name], read["sample"][name]
                change[kind, name] = max(change[kind, name], abs(sample - whole) / abs(whole))
    return seconds, change


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--scale", type=float, default=4.9)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="write-costs-"))
    megapixels = make_photographs(folder, args.images, args.scale)
    paths = sorted(folder.glob("*.png"))
    print(f"# bench.jobs.write_costs: {len(paths)} photographs, {megapixels:.1f} MP, on {machine()}")
    photos = [np.asarray(Image.open(p).convert("RGB")) for p in paths]
    costs = encode_costs(photos, args.rounds)
    base_seconds, base_bytes = median(costs[6][0]), costs[6][1]
    print("\n| PNG zlib level | seconds per photograph (median) | × level 6's speed | MB per photograph | × level 6's size |")
    print("|---|---|---|---|---|")
    for level, (seconds, size) in costs.items():
        print(f"| {level} | {median(seconds):.2f} | {base_seconds / median(seconds):.2f} | "
              f"{size / len(photos) / 1e6:.2f} | {size / base_bytes:.3f} |")
    cases = {f"{kind}:{p.name}": pixels for p in paths for kind, pixels in variants(p, 0).items()}
    seconds, change = signal_costs(cases, args.rounds)
    print(f"\nsignals, seconds per image (median): every pixel {median(seconds['every pixel']):.2f}, "
          f"sample of {signals.SAMPLE_PIXELS / 1e6:g} MP {median(seconds['sample']):.2f}")
    print("\n| photographs | noise σ, largest change | sharpness | blockiness |\n|---|---|---|---|")
    for kind in ("clean", "noise 10", "JPEG 30"):
        print(f"| {kind} | " + " | ".join(f"{100 * change[kind, name]:.1f} %" for name in SIGNALS) + " |")


if __name__ == "__main__":
    main()
