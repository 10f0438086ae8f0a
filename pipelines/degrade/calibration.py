"""Calibration tiles for post-training quantisation (bench/jobs/int8.py): seeded crops of clean
photographs with a model's training damage, as the model sees its inputs (float32 HWC in [0, 1]),
with their clean crops for the validation that NNCF's accuracy control runs.

Quantisation sets each activation's int8 range from these tiles, so they must look like what
the model restores: its own training photographs and damage, never the benchmark's test images
(the cost would then be measured on the data it was tuned on). Which crop of an image is used
follows ``default_rng([seed, stable_hash(image_id)])``; its damage is job 1's for that patch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pipelines.degrade import pairs, recipe as recipes
from pipelines.imaging import images


def calibration_tiles(files: Sequence[Path], recipe: recipes.Recipe, *, count: int, size: int,
                      seed: int) -> list[np.ndarray]:
    """The degraded halves of ``calibration_pairs``: what quantisation calibrates on."""
    return [degraded for degraded, _ in calibration_pairs(files, recipe, count=count, size=size, seed=seed)]


def calibration_pairs(files: Sequence[Path], recipe: recipes.Recipe, *, count: int, size: int,
                      seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``count`` (degraded float32, clean as stored) ``size``-pixel tiles from ``files`` (fewer
    when the images hold fewer): images spread evenly over the sorted list,
    ``ceil(count / len(files))`` crops from each. An image smaller than ``size`` gives none (the
    set comes out that much smaller)."""
    if count < 1 or size < 1:
        raise ValueError(f"count and size must be >= 1 (got {count}, {size})")
    files = sorted(files)
    per_image = math.ceil(count / len(files)) if files else 0
    wanted = math.ceil(count / per_image) if files else 0
    chosen = np.unique(np.linspace(0, len(files) - 1, wanted).round().astype(int)) if files else []
    tiles: list[tuple[np.ndarray, np.ndarray]] = []
    for index in chosen:
        tiles.extend(_crops(Path(files[index]), recipe, per_image, size, seed))
        if len(tiles) >= count:
            break
    return tiles[:count]


def _crops(path: Path, recipe: recipes.Recipe, per_image: int, size: int, seed: int) -> list[tuple]:
    """``per_image`` crops of one image, picked from its grid of non-overlapping patches."""
    clean = pairs.prepare_clean(images.decode(path.read_bytes()).pixels, recipe)
    grid = pairs.PatchSettings(patch_size=size, stride=size)
    try:
        patches = list(pairs.make_pairs(clean, recipe=recipe, settings=grid, seed=seed, image_id=path.name))
    except pairs.TooSmall:
        return []
    rng = np.random.default_rng([seed, pairs.stable_hash(path.name)])
    picked = rng.choice(len(patches), size=min(per_image, len(patches)), replace=False)
    return [(images.as_float(patches[i].degraded), patches[i].clean) for i in sorted(picked)]
