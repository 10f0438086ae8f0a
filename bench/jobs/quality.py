"""Quality benchmark: job 3 in paired mode over the standard sets, next to published numbers.

    python -m bench.jobs.quality [--models DIR ...] [--bm3d] [--only denoise|jpeg|sr|ours]

- Denoising, BSD68 and Set12 at sigma 15/25/50, with the DnCNN authors' per-sigma weights
  (DnCNN-S): the proof that our network, noise model and PSNR convention match the paper.
- DnCNN-3 (one model, three tasks) on classic5 JPEG q10/20/30/40 and Set5 super-resolution
  x2/x3/x4 (DnCNN-3 takes the bicubic-upscaled image; Y channel, `scale` border pixels cropped).
- Any model directory of ours (--models; the bundled starter model always) on the same
  denoising sets.
- Optionally (--bm3d, needs the `bm3d` package) BM3D on Set12, with seconds per megapixel.

Every number comes from `restoreflow restore --degrade RECIPE --seed 0` on the folder, i.e. the
same code users run. Published numbers are from ../shared/data/README.md.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import (
    PUBLISHED_BICUBIC,
    PUBLISHED_BLIND,
    PUBLISHED_BM3D,
    PUBLISHED_DENOISE,
    PUBLISHED_JPEG,
    PUBLISHED_SR,
    bicubic_sr_recipe,
    import_dncnn,
    jpeg_recipe,
    machine,
    mean,
    megapixels,
    paired,
    shared_path,
)


def import_weights(name: str, scratch: Path) -> str:
    return import_dncnn(name, scratch / name.replace("=", "").replace(".mat", ""))


def fmt(value, digits=2):
    return "-" if value is None else f"{value:.{digits}f}"


def denoising_rows(scratch: Path, ours: dict[str, str]) -> list[str]:
    rows = ["| set | σ | noisy | DnCNN-S (published) | DnCNN-S weights, ours | Δ | " +
            " | ".join(f"{name} (ours)" for name in ours) + " | DnCNN-B (published) | BM3D (published) |",
            "|---|---|---|---|---|---|" + "---|" * len(ours) + "---|---|"]
    for sigma in (15, 25, 50):
        weights = import_weights(f"sigma={sigma}.mat", scratch)
        for set_name in ("bsd68", "set12"):
            folder = shared_path("data", set_name)
            result = paired(folder, weights, f"denoise-gray-s{sigma}", scratch / f"dncnn-{set_name}-{sigma}")
            measured = mean(result, "psnr_db_restored")
            published = PUBLISHED_DENOISE.get((set_name, sigma))
            ours_cells = []
            for name, model_dir in ours.items():
                own = paired(folder, model_dir, f"denoise-gray-s{sigma}", scratch / f"{name}-{set_name}-{sigma}")
                ours_cells.append(f"{mean(own, 'psnr_db_restored'):.2f} / {mean(own, 'ssim_restored'):.4f}")
            delta = None if published is None else measured - published
            rows.append(
                f"| {set_name} | {sigma} | {mean(result, 'psnr_db_degraded'):.2f} | {fmt(published)} | "
                f"**{measured:.3f}** / {mean(result, 'ssim_restored'):.4f} | {fmt(delta, 3)} | "
                + " | ".join(ours_cells) + f" | {fmt(PUBLISHED_BLIND.get((set_name, sigma)))} | "
                f"{fmt(PUBLISHED_BM3D.get((set_name, sigma)))} |"
            )
            print(rows[-1], flush=True)
    return rows


def dncnn3_rows(scratch: Path) -> list[str]:
    weights = import_weights("DnCNN3.mat", scratch)
    rows = ["| task | set | input | published DnCNN-3 | ours with DnCNN-3 weights | Δ |", "|---|---|---|---|---|---|"]
    for quality in (10, 20, 30, 40):
        result = paired(shared_path("data", "classic5"), weights, jpeg_recipe(scratch, quality), scratch / f"jpeg{quality}")
        measured = mean(result, "psnr_db_restored")
        rows.append(f"| JPEG q{quality} | classic5 | {mean(result, 'psnr_db_degraded'):.2f} | {PUBLISHED_JPEG[quality]:.2f} | "
                    f"**{measured:.2f}** | {measured - PUBLISHED_JPEG[quality]:+.2f} |")
        print(rows[-1], flush=True)
    for scale in (2, 3, 4):
        result = paired(shared_path("data", "set5"), weights, bicubic_sr_recipe(scratch, scale), scratch / f"sr{scale}")
        measured = mean(result, "psnr_db_restored")
        rows.append(f"| SR x{scale} | Set5 | {mean(result, 'psnr_db_degraded'):.2f} (bicubic; published "
                    f"{PUBLISHED_BICUBIC[scale]:.2f}) | {PUBLISHED_SR[scale]:.2f} | **{measured:.2f}** | "
                    f"{measured - PUBLISHED_SR[scale]:+.2f} |")
        print(rows[-1], flush=True)
    return rows


def bm3d_rows(ours: dict[str, str], scratch: Path) -> list[str]:
    import bm3d

    from pipelines.degrade import pairs, recipe as recipes
    from pipelines.imaging import images
    from pipelines.quality import scoring

    folder = shared_path("data", "set12")
    files = sorted(folder.iterdir())
    rows = ["| σ | BM3D PSNR | BM3D s/MP | " + " | ".join(f"{n} PSNR | {n} s/MP (restore job)" for n in ours) + " |",
            "|---|---|---|" + "---|---|" * len(ours)]
    total_mp = megapixels(folder)
    for sigma in (15, 25, 50):
        recipe = recipes.load(f"denoise-gray-s{sigma}")
        psnrs, start = [], time.perf_counter()
        for path in files:
            clean = pairs.prepare_clean(images.decode(path.read_bytes()).pixels, recipe)
            pair = next(pairs.make_pairs(clean, recipe=recipe, settings=pairs.PatchSettings(patch_size=0), seed=0,
                                         image_id=path.name))
            restored = bm3d.bm3d(pair.degraded[..., 0].astype(np.float32), sigma_psd=sigma / 255)
            psnrs.append(scoring.psnr_db(clean, images.from_float(restored[..., None], np.uint8)))
        seconds = time.perf_counter() - start
        cells = []
        for name, model_dir in ours.items():
            own = paired(folder, model_dir, f"denoise-gray-s{sigma}", scratch / f"bm3dcmp-{name}-{sigma}")
            cells.append(f"{mean(own, 'psnr_db_restored'):.2f} | {own['wall_seconds'] / total_mp:.1f}")
        rows.append(f"| {sigma} | {np.mean(psnrs):.2f} | {seconds / total_mp:.1f} | " + " | ".join(cells) + " |")
        print(rows[-1], flush=True)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="*", default=[], help="Model directories of ours to add.")
    parser.add_argument("--bm3d", action="store_true", help="Add BM3D on Set12 (needs `pip install bm3d`).")
    parser.add_argument("--only", choices=("denoise", "dncnn3", "bm3d"), default=None)
    parser.add_argument("--no-starter", action="store_true", help="Leave out the bundled starter model.")
    args = parser.parse_args()
    from restoreflow import zoo

    ours = {} if args.no_starter else {"starter": zoo.resolve("denoise-gray")}
    ours.update({Path(m).name: m for m in args.models})
    scratch = Path(tempfile.mkdtemp(prefix="bench-quality-"))
    print(f"machine: {machine()}")
    sections = []
    if args.only in (None, "denoise"):
        sections.append(("Gaussian denoising, PSNR dB / SSIM (noise seed 0)", denoising_rows(scratch, ours)))
    if args.only in (None, "dncnn3"):
        sections.append(("DnCNN-3: JPEG deblocking and super-resolution, PSNR dB", dncnn3_rows(scratch)))
    if args.bm3d or args.only == "bm3d":
        sections.append(("BM3D vs ours on Set12", bm3d_rows(ours, scratch)))
    for title, rows in sections:
        print(f"\n### {title}\n")
        print("\n".join(rows))


if __name__ == "__main__":
    main()
