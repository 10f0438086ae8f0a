"""Image planes read in horizontal strips, the memory discipline of every score.

The restore job scores 50-megapixel images: a score reads one strip of about
``STRIP_PIXELS`` pixels at a time (plus the few rows of halo a filter needs), so its
temporaries stay a few MB whatever the image size. Used by ``scoring`` and ``signals``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial

import numpy as np

from restoreflow.pixels import rgb_to_y

STRIP_PIXELS = 1 << 20
"""Pixels per strip: bounds each temporary to a few MB whatever the image size."""

Rows = Callable[[int, int], np.ndarray]
"""Reads rows [start, stop) of one image plane as a 2-D float array."""


def as_hwc(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim == 2:
        return image[..., None]
    if image.ndim != 3:
        raise ValueError(f"expected an HWC or HW image, got shape {image.shape}")
    return image


def crop(image: np.ndarray, crop_border: int) -> np.ndarray:
    if crop_border < 0:
        raise ValueError(f"crop_border must be >= 0, got {crop_border}")
    height, width = image.shape[:2]
    if 2 * crop_border >= min(height, width):
        raise ValueError(f"crop_border={crop_border} leaves nothing of a {height}x{width} image")
    if crop_border == 0:
        return image
    return image[crop_border:-crop_border, crop_border:-crop_border]


def pair(reference, restored, crop_border: int) -> tuple[np.ndarray, np.ndarray]:
    """Both images as HWC views with the border cropped; shapes must match."""
    reference, restored = as_hwc(reference), as_hwc(restored)
    if reference.shape != restored.shape:
        raise ValueError(f"shapes differ: reference {reference.shape}, restored {restored.shape}")
    return crop(reference, crop_border), crop(restored, crop_border)


def channel_rows(pixels: np.ndarray, channel: int, start: int, stop: int) -> np.ndarray:
    return pixels[start:stop, :, channel].astype(np.float64)


def luma_rows(pixels: np.ndarray, data_range: float, start: int, stop: int) -> np.ndarray:
    return rgb_to_y(pixels[start:stop], data_range)


def planes(pixels: np.ndarray, *, y_channel: bool, data_range: float) -> list[Rows]:
    """Readers for the planes to score: the luma alone, or every channel."""
    channels = pixels.shape[-1]
    if y_channel and channels == 3:
        return [partial(luma_rows, pixels, data_range)]
    if y_channel and channels != 1:
        raise ValueError(f"y_channel needs 1 or 3 channels (drop alpha first), got {channels}")
    return [partial(channel_rows, pixels, c) for c in range(channels)]


def plane_pairs(reference, restored, *, y_channel: bool, data_range: float) -> list[tuple[Rows, Rows]]:
    """Readers of the planes to score, reference and restored side by side."""
    return list(zip(planes(reference, y_channel=y_channel, data_range=data_range),
                    planes(restored, y_channel=y_channel, data_range=data_range)))


def strips(height: int, width: int, *, multiple: int = 1) -> Iterator[tuple[int, int]]:
    """Row ranges [start, stop) covering [0, height), ~STRIP_PIXELS each, starts on ``multiple``."""
    rows = max(multiple, STRIP_PIXELS // max(width, 1) // multiple * multiple)
    for start in range(0, height, rows):
        yield start, min(start + rows, height)
