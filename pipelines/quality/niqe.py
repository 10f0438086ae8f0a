"""NIQE, a no-reference naturalness score (numpy and scipy only).

Mittal, Soundararajan & Bovik, "Making a 'Completely Blind' Image Quality Analyzer", IEEE Signal
Processing Letters 20(3), 2013. The luma is normalised locally (MSCN: minus the 7x7 Gaussian mean,
over the local deviation plus 1); each 96x96 patch, at full and half size, gives 18 statistics
(the generalised Gaussian fit of the MSCN values and the asymmetric fits of their products with the
four neighbours), 36 in all. A multivariate Gaussian fitted to the patches of sharp, clean
photographs is the model (``niqe_model.json``, fitted on this project's own training photographs by
``python -m bench.jobs.niqe_fit``); an image's score is the distance between that Gaussian and the
one of its own patches. Lower means more natural; a score compares only with scores from the same
model. Images larger than ``MAX_SIDE`` are scored on their central ``MAX_SIDE`` square (a bounded
sample); images with fewer than two whole patches score NaN.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
import math

import numpy as np
from scipy import ndimage, special

PATCH = 96  # patch side at full size, as in the paper
MAX_SIDE = 1024  # larger images are scored on their central MAX_SIDE x MAX_SIDE pixels
MODEL_FILE = "niqe_model.json"
_SHAPES = np.arange(0.2, 10.0, 0.001)
_GGD_RATIO = special.gamma(1 / _SHAPES) * special.gamma(3 / _SHAPES) / special.gamma(2 / _SHAPES) ** 2
_AGGD_RATIO = special.gamma(2 / _SHAPES) ** 2 / (special.gamma(1 / _SHAPES) * special.gamma(3 / _SHAPES))


def luma(image: np.ndarray, data_range: float) -> np.ndarray:
    """Y (BT.601 weights) of an HWC or HW image on the 0-255 scale, float64."""
    pixels = np.asarray(image, np.float64) * (255.0 / data_range)
    if pixels.ndim == 3 and pixels.shape[-1] >= 3:
        return pixels[..., 0] * 0.299 + pixels[..., 1] * 0.587 + pixels[..., 2] * 0.114
    return pixels[..., 0] if pixels.ndim == 3 else pixels


def mscn(gray: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(MSCN coefficients, local deviation) with the paper's 7x7 Gaussian window (sigma 7/6)."""
    smooth = functools.partial(ndimage.gaussian_filter, sigma=7 / 6, truncate=3.0 / (7 / 6), mode="nearest")
    mu = smooth(gray)
    sigma = np.sqrt(np.abs(smooth(gray * gray) - mu * mu))
    return (gray - mu) / (sigma + 1.0), sigma


def _sorted(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the order that sorts ``table``, the sorted table): looked up ten times per image."""
    order = np.argsort(table)
    return order, table[order]


_GGD_SORTED, _AGGD_SORTED = _sorted(_GGD_RATIO), _sorted(_AGGD_RATIO)


def _nearest_shape(ratio: np.ndarray, table: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """The tabulated shape whose moment ratio is nearest to each ``ratio`` (``table``: ``_sorted``)."""
    order, ordered = table
    ratio = np.nan_to_num(ratio)
    above = np.clip(np.searchsorted(ordered, ratio), 1, len(ordered) - 1)
    nearer_below = np.abs(ratio - ordered[above - 1]) <= np.abs(ordered[above] - ratio)
    return _SHAPES[order[np.where(nearer_below, above - 1, above)]]


def _ggd(x: np.ndarray) -> list[np.ndarray]:
    """Per patch (rows of ``x``): generalised Gaussian shape and variance."""
    variance = np.mean(x * x, axis=1)
    ratio = variance / np.maximum(np.mean(np.abs(x), axis=1), 1e-12) ** 2
    return [_nearest_shape(ratio, _GGD_SORTED), variance]


def _aggd(x: np.ndarray) -> list[np.ndarray]:
    """Per patch: asymmetric generalised Gaussian shape, mean, left and right variances."""
    left_var = np.sum(np.where(x < 0, x * x, 0), axis=1) / np.maximum(np.sum(x < 0, axis=1), 1)
    right_var = np.sum(np.where(x > 0, x * x, 0), axis=1) / np.maximum(np.sum(x > 0, axis=1), 1)
    left, right = np.sqrt(left_var), np.sqrt(np.maximum(right_var, 1e-12))
    g = left / right
    r_hat = np.mean(np.abs(x), axis=1) ** 2 / np.maximum(np.mean(x * x, axis=1), 1e-12)
    shape = _nearest_shape(r_hat * (g**3 + 1) * (g + 1) / (g * g + 1) ** 2, _AGGD_SORTED)
    scale = np.sqrt(special.gamma(1 / shape) / special.gamma(3 / shape))
    mean = (right - left) * scale * special.gamma(2 / shape) / special.gamma(1 / shape)
    return [shape, mean, left_var, right_var]


def _patches(plane: np.ndarray, size: int) -> np.ndarray:
    """(rows * cols, size, size) whole patches in reading order."""
    rows, cols = plane.shape[0] // size, plane.shape[1] // size
    cut = plane[: rows * size, : cols * size]
    return cut.reshape(rows, size, cols, size).swapaxes(1, 2).reshape(rows * cols, size, size)


def _scale_features(gray: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(18 features per patch, mean local deviation per patch) at one scale."""
    coefficients, sigma = mscn(gray)
    patches = _patches(coefficients, size)
    flat = patches.reshape(len(patches), -1)
    pairs = (patches[:, :, :-1] * patches[:, :, 1:], patches[:, :-1] * patches[:, 1:],
             patches[:, :-1, :-1] * patches[:, 1:, 1:], patches[:, 1:, :-1] * patches[:, :-1, 1:])
    columns = _ggd(flat)
    for product in pairs:
        columns += _aggd(product.reshape(len(patches), -1))
    return np.stack(columns, axis=1), _patches(sigma, size).mean(axis=(1, 2))


def half_size(gray: np.ndarray) -> np.ndarray:
    """The second scale: bicubic (antialiased) resize to half, as MATLAB's imresize(0.5)."""
    from PIL import Image

    height, width = gray.shape[0] // 2, gray.shape[1] // 2
    return np.asarray(Image.fromarray(gray.astype(np.float32), mode="F").resize((width, height), Image.BICUBIC),
                      np.float64)


def patch_features(gray: np.ndarray, patch: int = PATCH) -> tuple[np.ndarray, np.ndarray]:
    """(36 features per whole patch, each patch's sharpness: its mean local deviation)."""
    rows, cols = gray.shape[0] // patch, gray.shape[1] // patch
    gray = gray[: rows * patch, : cols * patch]
    if rows * cols == 0:
        return np.zeros((0, 36)), np.zeros(0)
    full, sharpness = _scale_features(gray, patch)
    half, _ = _scale_features(half_size(gray), patch // 2)
    return np.concatenate([full, half], axis=1), sharpness


def central(image: np.ndarray, side: int = MAX_SIDE) -> np.ndarray:
    """The central ``side`` x ``side`` pixels (or fewer along a shorter side)."""
    top, left = max(0, (image.shape[0] - side) // 2), max(0, (image.shape[1] - side) // 2)
    return image[top : top + side, left : left + side]


@functools.cache
def load_model() -> tuple[np.ndarray, np.ndarray]:
    """(mean, covariance) of the shipped pristine model."""
    data = json.loads(importlib.resources.files("pipelines.quality").joinpath(MODEL_FILE).read_text())
    return np.asarray(data["mean"], np.float64), np.asarray(data["covariance"], np.float64)


def niqe(image: np.ndarray, *, data_range: float = 255.0, model=None) -> float:
    """The NIQE score of an image (HWC or HW, any bit depth with its ``data_range``); lower is
    more natural. NaN with fewer than two whole 96x96 patches."""
    features, _ = patch_features(luma(central(image), data_range))
    if len(features) < 2:
        return math.nan
    mean, covariance = model if model is not None else load_model()
    difference = mean - features.mean(axis=0)
    pooled = (covariance + np.cov(features, rowvar=False)) / 2
    return float(math.sqrt(max(0.0, difference @ np.linalg.pinv(pooled) @ difference)))
