"""The no-reference signals on clean and degraded benchmark images: where pipelines/restore/guidance.py
draws its lines between "shows noise / blocking" and "does not".

    python -m bench.jobs.signals

Per set (BSD68 and Classic5 gray, Kodak24 colour, from ../shared): the median, 10th and 90th
percentile of the Immerkaer noise sigma estimate for the clean images and with Gaussian noise
of sigma 2-25 added (seeded), and of the JPEG blockiness for the clean images and after JPEG
compression at quality 10-95 (Pillow).
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from bench.common import machine, shared_path
from pipelines.quality import signals

SETS = (("bsd68", "L"), ("kodak24", "RGB"), ("classic5", "L"))
SIGMAS = (2, 5, 10, 15, 25)
QUALITIES = (10, 30, 50, 70, 90, 95)


def hwc(image: Image.Image) -> np.ndarray:
    pixels = np.asarray(image)
    return pixels[..., None] if pixels.ndim == 2 else pixels


def jpeg(pixels: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels).save(buffer, format="JPEG", quality=quality)
    return hwc(Image.open(buffer))


def line(name: str, values) -> str:
    p10, p50, p90 = np.percentile(values, [10, 50, 90])
    return f"| {name} | {p50:.3f} | {p10:.3f} | {p90:.3f} |"


def main():
    print(f"machine: {machine()}\n\n| images | median | p10 | p90 |\n|---|---|---|---|")
    for folder, mode in SETS:
        clean = [hwc(Image.open(path).convert(mode)) for path in sorted(shared_path("data", folder).iterdir())
                 if path.suffix.lower() in (".png", ".bmp")]
        rng = np.random.default_rng(0)
        print(line(f"{folder} clean: noise sigma", [signals.noise_sigma_estimate(c) for c in clean]))
        for sigma in SIGMAS:
            noisy = [np.clip(np.round(c + rng.normal(0, sigma, c.shape)), 0, 255).astype(np.uint8) for c in clean]
            print(line(f"{folder} sigma {sigma}: noise sigma", [signals.noise_sigma_estimate(n) for n in noisy]))
        print(line(f"{folder} clean: blockiness", [signals.jpeg_blockiness(c) for c in clean]))
        for quality in QUALITIES:
            print(line(f"{folder} JPEG q{quality}: blockiness", [signals.jpeg_blockiness(jpeg(c, quality)) for c in clean]))


if __name__ == "__main__":
    main()
