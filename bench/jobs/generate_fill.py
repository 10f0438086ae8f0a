"""Generated fill against the bundled `inpaint` model on large holes (issue 25, item 3).

    python -m bench.jobs.generate_fill --model DIR [--limit 8] [--crop 96] [--steps 20] [--resample 3] [--sheet]

Inputs: a centred ``--crop`` x ``--crop`` crop of each of the first ``--limit`` CBSD68 photographs
(``../shared/data``), with a free-form mask of strokes and boxes covering 30-50 %
(``pipelines.degrade.ops.inpaint_mask``, seeded per image). Methods, each given the crop with
its holes zeroed and the mask: ``inpaint`` (the bundled model) and generated fill (the diffusion
model given to restore, ``--fill_steps`` and ``--fill_resample`` from ``--steps`` and
``--resample``), each through the whole restore job with ``--masks`` (seconds per crop include
the job's start-up), and biharmonic inpainting (scikit-image, in-process) for scale. Scores: PSNR on RGB over the whole crop and over
the holes alone; NIQE (``pipelines.quality.niqe``, lower is more natural) of 2x2 mosaics of the
crops (NIQE needs 192 px or more; the mosaics' seams are the same for every method, and the
originals' mosaics are scored too); seconds per crop. ``--sheet``: bench/generate-fill-sheet.png.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import ROOT, machine, restore_job, shared_path
from pipelines.quality import niqe, scoring

SHEET = ROOT / "bench" / "generate-fill-sheet.png"


def crops(limit: int, side: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(crop uint8 HWC, mask uint8 HW1, 1 = missing) of the first ``limit`` CBSD68 photographs."""
    from PIL import Image

    from pipelines.degrade.ops import inpaint_mask

    found = []
    for index, path in enumerate(sorted(shared_path("data", "cbsd68").iterdir())[:limit]):
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("RGB"))
        top, left = (pixels.shape[0] - side) // 2, (pixels.shape[1] - side) // 2
        mask = inpaint_mask(height=side, width=side, min_fraction=0.3, max_fraction=0.5, stroke_probability=0.5,
                            rng=np.random.default_rng([seed, index]))
        found.append((pixels[top:top + side, left:left + side], mask))
    return found


def write_inputs(items, scratch: Path) -> tuple[Path, Path]:
    """The crops (PNG, with their holes as they are: the job zeroes them) and masks as the
    restore job reads them: photos/NN.png and masks/NN.png."""
    from PIL import Image

    photos, masks = scratch / "photos", scratch / "masks"
    photos.mkdir(parents=True, exist_ok=True)
    masks.mkdir(parents=True, exist_ok=True)
    for index, (image, mask) in enumerate(items):
        Image.fromarray(image).save(photos / f"{index:02d}.png")
        Image.fromarray(mask[..., 0] * 255).save(masks / f"{index:02d}.png")
    return photos, masks


def restore_job_outputs(model: str, photos: Path, masks: Path, out: Path, *flags: str) -> tuple[list, float]:
    """The restore job with --masks (``model``: inpaint, or a generator: generated fill); its
    outputs in input order and its wall seconds (start-up included)."""
    from PIL import Image

    summary = restore_job(photos, model, out, f"--masks={masks}", "--format=png", "--force", *flags)
    found = sorted((out / "restored").glob("*.png"))
    if len(found) != len(list(photos.iterdir())):
        raise SystemExit(f"the restore job with {model} wrote {len(found)} of {len(list(photos.iterdir()))} "
                         f"images: see {out}/errors/")
    return [np.asarray(Image.open(p).convert("RGB")) for p in found], summary["wall_seconds"]


def biharmonic(image, mask):
    from skimage.restoration import inpaint_biharmonic

    holes = mask[..., 0].astype(bool)
    out = inpaint_biharmonic(np.where(holes[..., None], 0, image) / 255.0, holes, channel_axis=-1)
    return np.where(holes[..., None], np.clip(np.rint(out * 255.0), 0, 255).astype(np.uint8), image)


def mosaic_niqe(images: list[np.ndarray]) -> float:
    """Mean NIQE of 2x2 mosaics of consecutive images (a leftover short of 4 is left out)."""
    values = []
    for start in range(0, len(images) - 3, 4):
        a, b, c, d = images[start:start + 4]
        values.append(niqe.niqe(np.concatenate([np.concatenate([a, b], 1), np.concatenate([c, d], 1)], 0)))
    return float(np.mean(values)) if values else math.nan


def hole_psnr(clean: np.ndarray, out: np.ndarray, mask: np.ndarray) -> float:
    holes = mask[..., 0].astype(bool)
    mse = np.mean((clean[holes].astype(np.float64) - out[holes].astype(np.float64)) ** 2)
    return 10 * math.log10(255.0**2 / mse) if mse else math.inf


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="The diffusion model's directory.")
    parser.add_argument("--limit", type=int, default=8, help="CBSD68 photographs (their first, sorted).")
    parser.add_argument("--crop", type=int, default=96)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--resample", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scratch", default=None, help="Working folder (default: a temporary one).")
    parser.add_argument("--sheet", action="store_true", help="Write bench/generate-fill-sheet.png (real model only).")
    args = parser.parse_args(argv)
    print(f"# bench.jobs.generate_fill on {machine()}")
    items = crops(args.limit, args.crop, args.seed)
    scratch = Path(args.scratch or tempfile.mkdtemp(prefix="bench-generate-fill-"))
    photos, masks = write_inputs(items, scratch)
    fill_name = f"generated fill ({args.steps} steps, resample {args.resample})"
    outputs, seconds = {}, {}
    for name, model, flags in (("inpaint", "inpaint", ()), (fill_name, args.model,
                               (f"--fill_steps={args.steps}", f"--fill_resample={args.resample}"))):
        outputs[name], total = restore_job_outputs(model, photos, masks, scratch / name.split(" (")[0], *flags)
        seconds[name] = total / len(items)
    started = time.perf_counter()
    outputs["biharmonic"] = [biharmonic(image, mask) for image, mask in items]
    seconds["biharmonic"] = (time.perf_counter() - started) / len(items)
    masked = [float(mask.mean()) for _, mask in items]
    print(f"\n{len(items)} crops of {args.crop} px, holes {100 * min(masked):.0f}-{100 * max(masked):.0f} % "
          f"(mean {100 * np.mean(masked):.0f} %); NIQE of the originals' mosaics: "
          f"{mosaic_niqe([image for image, _ in items]):.2f}")
    print("\n| method | PSNR dB (crop, RGB) | PSNR dB (holes only) | NIQE (2x2 mosaics) | s per crop |")
    print("|---|---|---|---|---|")
    for name, filled in outputs.items():
        whole = np.mean([scoring.psnr_db(image, out, data_range=255.0) for (image, _), out in zip(items, filled)])
        holes = np.mean([hole_psnr(image, out, mask) for (image, mask), out in zip(items, filled)])
        print(f"| {name} | {whole:.2f} | {holes:.2f} | {mosaic_niqe(filled):.2f} | {seconds[name]:.2f} |")
    if args.sheet:
        write_sheet(items, outputs)


def write_sheet(items, outputs) -> None:
    from tools.sheet import sheet

    rows = [[("holes", np.where(mask.astype(bool), 255, image).astype(np.uint8))]
            + [(name.split(" (")[0], filled[i]) for name, filled in outputs.items()] + [("original", image)]
            for i, (image, mask) in enumerate(items)]
    sheet(rows).save(SHEET)
    print(f"sheet: {SHEET}")


if __name__ == "__main__":
    main()
