"""Seams against tile overlap, per bundled model (issue 23): the smallest overlap whose tiled
output matches whole-image inference to within half an 8-bit level.

    python -m bench.jobs.seams [--model NAME ...] [--tile 128] [--write-card]

Each model restores four scikit-image photographs (astronaut, coffee, chelsea, rocket; gray for
gray models; 256x256 crops, the input of super-resolution models too, with Gaussian noise sigma 10 so
that the network has something to do) once whole and once in tiles of ``--tile`` pixels cut and
stitched by ``model.tiling`` as the restore job does, at each overlap of OVERLAPS, on OpenVINO
f32. The seam error is the largest absolute difference between the two outputs over all pixels
and photographs, in 8-bit levels (0-255 scale). Small tiles put many seams in each photograph,
so this is the worst case of a larger tile at the same overlap.

--write-card records the curve and the chosen overlap in each card (``inference.seams``);
``--overlap -1`` (the default) then uses it instead of the receptive-field radius.
"""

from __future__ import annotations

import argparse

import numpy as np
import skimage.data

from bench.common import machine, record_in_card
from restoreflow.card import SEAM_THRESHOLD_LEVELS, input_channels

PHOTOGRAPHS = ("astronaut", "coffee", "chelsea", "rocket")
OVERLAPS = (0, 4, 8, 12, 16, 24, 32, 45)
NOISE_SIGMA = 10.0


def photographs(side: int, gray: bool, mask: bool, level: bool = False) -> list[np.ndarray]:
    """Float32 HWC crops on [0, 1] with seeded noise; one gray channel for gray models; for
    inpainting models, seeded square holes (pixels 0) and the mask (1 = missing) as one more
    channel, as the restore job feeds them; for a denoiser told its noise level, that level."""
    crops = []
    for index, name in enumerate(PHOTOGRAPHS):
        pixels = getattr(skimage.data, name)().astype(np.float32) / 255
        top, left = (pixels.shape[0] - side) // 2, (pixels.shape[1] - side) // 2
        crop = pixels[top : top + side, left : left + side]
        crop = crop.mean(axis=-1, keepdims=True) if gray else crop
        noise = np.random.default_rng([23, index]).normal(0.0, NOISE_SIGMA / 255, crop.shape)
        crop = (crop + noise).astype(np.float32)
        if mask:
            holes = np.zeros(crop.shape[:2] + (1,), np.float32)
            for top, left in np.random.default_rng([24, index]).integers(0, side - 12, (12, 2)):
                holes[top : top + 12, left : left + 12] = 1.0
            crop = np.concatenate([crop * (1 - holes), holes], axis=-1)
        if level:
            crop = np.concatenate([crop, np.full(crop.shape[:2] + (1,), NOISE_SIGMA / 255, np.float32)], axis=-1)
        crops.append(crop)
    return crops


def tiled(predict, image: np.ndarray, *, tile: int, overlap: int, multiple: int, scale: int) -> np.ndarray:
    """The restore job's tiling (model.tiling), one tile per forward pass."""
    from model import tiling

    height, width = image.shape[:2]
    out = None
    for t in tiling.plan(height, width, tile_size=tile, overlap=overlap, multiple=multiple, pad=scale == 1):
        restored = predict(np.ascontiguousarray(tiling.extract(image, t))[None])[0]
        if out is None:  # an inpainting model's output lacks the mask channel of its input
            out = np.empty((height * scale, width * scale, restored.shape[-1]), np.float32)
        tiling.place(out, tiling.core(restored, t, scale), t, scale)
    return out


def seam_curve(name: str, tile: int) -> dict[int, float]:
    """Overlap -> the largest |tiled - whole| in 8-bit levels over the photographs."""
    from model import engines
    from model.export import load_model
    from restoreflow import zoo

    keras_model, _ = load_model(zoo.resolve(name))
    card = zoo.read_card(name)
    described = card.to_dict()
    predict = engines.load(keras_model, input_channels(described), engine="openvino")
    wholes = [(image, predict(image[None])[0]) for image in photographs(
        256, card.channels == 1, card.takes_mask, bool(described.get("takes_noise_level")))]
    curve = {}
    for overlap in (o for o in OVERLAPS if tile - 2 * o >= card.size_multiple):
        errors = [np.abs(tiled(predict, image, tile=tile, overlap=overlap, multiple=card.size_multiple,
                               scale=card.scale) - whole).max() for image, whole in wholes]
        curve[overlap] = round(float(max(errors)) * 255, 4)
    return curve


def smallest_overlap(curve: dict[int, float]) -> int | None:
    """The smallest overlap from which on every measured one stays within the threshold."""
    fine = [o for o in sorted(curve) if all(curve[p] <= SEAM_THRESHOLD_LEVELS for p in curve if p >= o)]
    return fine[0] if fine else None


def write_card(name: str, curve: dict[int, float], tile: int) -> None:
    from restoreflow import zoo

    entry = {"overlap_px": smallest_overlap(curve), "threshold_levels": SEAM_THRESHOLD_LEVELS, "tile_px": tile,
             "max_abs_levels_by_overlap": {str(o): e for o, e in curve.items()},
             "command": "python -m bench.jobs.seams --write-card", "machine": machine()}
    record_in_card(zoo.zoo_dir() / name, inference={"seams": entry})


def main(argv=None) -> None:
    from restoreflow import zoo

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", nargs="*", default=None, help="bundled models (default: every restorer)")
    parser.add_argument("--tile", type=int, default=128)
    parser.add_argument("--write-card", action="store_true")
    args = parser.parse_args(argv)
    names = args.model or zoo.restorers()
    print(f"# bench.jobs.seams: tiles of {args.tile}, OpenVINO f32, on {machine()}\n")
    print("| model | " + " | ".join(f"overlap {o}" for o in OVERLAPS) + " | smallest within "
          f"{SEAM_THRESHOLD_LEVELS} levels | receptive-field radius |")
    print("|---" * (len(OVERLAPS) + 3) + "|")
    for name in names:
        curve = seam_curve(name, args.tile)
        cells = [f"{curve[o]:.3f}" if o in curve else "-" for o in OVERLAPS]
        print(f"| {name} | " + " | ".join(cells) + f" | {smallest_overlap(curve)} | "
              f"{zoo.read_card(name).receptive_field_radius} |", flush=True)
        if args.write_card:
            write_card(name, curve, args.tile)


if __name__ == "__main__":
    main()
