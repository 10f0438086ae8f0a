"""Clean image -> seeded (clean, degraded[, mask]) pairs, as patches or whole images.

Randomness: every patch draws from ``default_rng([seed, stable_hash(image_id), patch_index])``,
so a record depends only on (seed, image, patch index) and never on which worker made it or in
what order. Spatial degradations (blur, JPEG, resampling) run on the patch plus a margin of
real image around it (``Recipe.context_px``), then the margin is cut away, so a patch looks
as it would inside the degraded whole image rather than having artificial edges.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator

import numpy as np

from pipelines.degrade import recipe as recipes
from pipelines.imaging import images
from restoreflow.configs import check


def stable_hash(text: str) -> int:
    """A 64-bit hash of a string that is the same in every process and on every machine."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")


def patch_rng(seed: int, image_id: str, patch_index: int) -> np.random.Generator:
    return np.random.default_rng([seed, stable_hash(image_id), patch_index])


def is_validation(image_id: str, val_fraction: float) -> bool:
    """Train/val split by a stable hash of the image id (all patches of an image together)."""
    return stable_hash("split:" + image_id) / 2.0**64 < val_fraction


@dataclasses.dataclass(frozen=True)
class PatchSettings:
    """patch_size: side in clean pixels (0 = whole images); stride: step between patches;
    max_patches: cap per image (0 = no cap; evenly spaced over the grid when capped)."""

    patch_size: int = 40
    stride: int = 10
    max_patches: int = 0

    def __post_init__(self):
        check(self.patch_size >= 0, "patch_size", "must be >= 0 (0 = whole images)")
        check(self.stride >= 1, "stride", "must be >= 1")
        check(self.max_patches >= 0, "max_patches", "must be >= 0 (0 = no cap)")

    def validate_for(self, recipe: recipes.Recipe) -> None:
        check(
            self.patch_size % recipe.sr_factor == 0,
            "patch_size",
            f"must be a multiple of the recipe's scale {recipe.sr_factor}",
        )


@dataclasses.dataclass(frozen=True)
class Pair:
    clean: np.ndarray  # HWC, uint8 or uint16
    degraded: np.ndarray  # HWC, clean's dtype, or float16 when the recipe does not quantize
    mask: np.ndarray | None  # HW1 uint8, 1 = missing pixel
    patch_index: int
    degradation: dict


class TooSmall(ValueError):
    """The image cannot give a single patch (the reason is shown to the user)."""


def prepare_clean(pixels: np.ndarray, recipe: recipes.Recipe) -> np.ndarray:
    """Applies the recipe's colour and bit-depth rules to decoded pixels."""
    if recipe.color == "gray":
        pixels = images.to_gray(pixels)
    elif recipe.color == "rgb":
        pixels = images.to_rgb(pixels)
    if not recipe.keep_16bit:
        pixels = images.to_8bit(pixels)
    return pixels


def degrade_float(
    clean: np.ndarray, recipe: recipes.Recipe, rng: np.random.Generator, margin: int = 0
) -> tuple[np.ndarray, np.ndarray | None, list[dict]]:
    """Samples the recipe and applies it to a float32 image whose outer ``margin`` pixels are
    context only. Returns (degraded, mask, params) with the margin cut away."""
    params = recipe.sample(rng)
    degraded, mask = recipes.apply(clean, params, rng, margin=margin)
    if margin:
        cut = margin // recipe.scale
        degraded = degraded[cut:-cut, cut:-cut]
        if mask is not None:
            mask = mask[margin:-margin, margin:-margin]
    return degraded, mask, params


def _store(degraded: np.ndarray, clean_dtype, quantize: bool) -> np.ndarray:
    if quantize:
        return images.from_float(degraded, clean_dtype)
    return degraded.astype(np.float16)


def patch_origins(height: int, width: int, settings: PatchSettings) -> list[tuple[int, int]]:
    """Top-left corners of the patches, in reading order, capped evenly when asked."""
    size = settings.patch_size
    if height < size or width < size:
        raise TooSmall(f"image is {width}x{height}, smaller than the {size}px patch size")
    origins = [
        (y, x)
        for y in range(0, height - size + 1, settings.stride)
        for x in range(0, width - size + 1, settings.stride)
    ]
    if settings.max_patches and len(origins) > settings.max_patches:
        keep = np.linspace(0, len(origins) - 1, settings.max_patches).round().astype(int)
        origins = [origins[i] for i in keep]
    return origins


def make_pairs(
    clean: np.ndarray,
    *,
    recipe: recipes.Recipe,
    settings: PatchSettings,
    seed: int,
    image_id: str,
) -> Iterator[Pair]:
    """Yields the degraded pairs of one clean image (already through ``prepare_clean``)."""
    if settings.patch_size == 0:
        yield _whole_image_pair(clean, recipe=recipe, seed=seed, image_id=image_id)
        return
    size, margin = settings.patch_size, recipe.context_px()
    origins = patch_origins(clean.shape[0], clean.shape[1], settings)
    padded = images.to_float(clean)
    if margin:
        padded = np.pad(padded, ((margin, margin), (margin, margin), (0, 0)), mode="symmetric")
    for index, (y, x) in enumerate(origins):
        region = padded[y : y + size + 2 * margin, x : x + size + 2 * margin]
        degraded, mask, params = degrade_float(
            region, recipe, patch_rng(seed, image_id, index), margin=margin
        )
        yield _pair(clean[y : y + size, x : x + size], degraded, mask, index, params, recipe)


def modcrop(clean: np.ndarray, scale: int) -> np.ndarray:
    """Crops bottom/right so both sides are multiples of ``scale`` (the SR convention)."""
    height, width = clean.shape[0] - clean.shape[0] % scale, clean.shape[1] - clean.shape[1] % scale
    if height == 0 or width == 0:
        raise TooSmall(f"image is smaller than the scale {scale}")
    return clean[:height, :width]


def _whole_image_pair(clean, *, recipe, seed, image_id) -> Pair:
    clean = modcrop(clean, recipe.sr_factor)
    degraded, mask, params = degrade_float(
        images.to_float(clean), recipe, patch_rng(seed, image_id, 0)
    )
    return _pair(clean, degraded, mask, 0, params, recipe)


def _pair(clean, degraded, mask, index, params, recipe) -> Pair:
    degradation = {"recipe": recipe.name, "steps": params}
    if mask is not None:
        degradation["masked_fraction"] = round(float(mask.mean()), 6)
    return Pair(
        clean=np.ascontiguousarray(clean),
        degraded=np.ascontiguousarray(_store(degraded, clean.dtype, recipe.quantize)),
        mask=mask,
        patch_index=index,
        degradation=degradation,
    )
