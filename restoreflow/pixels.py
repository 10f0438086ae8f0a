"""Pixel conventions, each written once (numpy only): value ranges and dtypes, and colour.

Ranges: stored pixels are uint8 (0-255) or uint16 (0-65535); computation uses float32 on a
[0, 1] scale. Going back rounds to nearest and clips (the PSNR convention: a score is of the
image as saved). 16-bit to 8-bit divides by 257, which maps 65535 to 255 exactly.

Colour, ITU-R BT.601 in two ranges:
- full range (JFIF): luma Y = 0.299 R + 0.587 G + 0.114 B on the pixels' own scale, Cb and
  Cr centred on 0.5; the gray conversion (as Pillow's ``convert('L')``) and the restore job's
  channel rules (a gray model on a colour image restores this Y);
- studio range (MATLAB ``rgb2ycbcr``): Y = 16 + 65.481 R + 128.553 G + 24.966 B for R, G, B in
  [0, 1], on the 0-255 scale; what the super-resolution and JPEG papers score.
"""

from __future__ import annotations

import numpy as np

LUMA = np.array([0.299, 0.587, 0.114], np.float32)  # BT.601 luma weights (full range)
_TO_YCBCR = np.array(  # JFIF: the luma row, then Cb = (B - Y) / 1.772 and Cr = (R - Y) / 1.402
    [LUMA.tolist(), [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]], np.float32
)
_FROM_YCBCR = np.linalg.inv(_TO_YCBCR).astype(np.float32)
_STUDIO_Y_OFFSET = 16.0
_STUDIO_Y_WEIGHTS = (65.481, 128.553, 24.966)


def peak(dtype) -> float:
    """The largest value of an image dtype's scale: 65535 for 16-bit, else 255 (scores' data_range)."""
    return 65535.0 if np.dtype(dtype) == np.uint16 else 255.0


def to_float(pixels: np.ndarray) -> np.ndarray:
    """uint8/uint16 pixels -> float32 on a [0, 1] scale."""
    return pixels.astype(np.float32) / np.float32(peak(pixels.dtype))


def as_float(pixels: np.ndarray) -> np.ndarray:
    """Stored pixels (uint8, uint16 or float16 on a [0, 1] scale) -> float32 [0, 1]."""
    if pixels.dtype in (np.uint8, np.uint16):
        return to_float(pixels)
    return pixels.astype(np.float32)


def from_float(values: np.ndarray, dtype) -> np.ndarray:
    """float [0, 1] -> uint8/uint16, clipped and rounded to nearest (the PSNR convention)."""
    dtype = np.dtype(dtype)
    peak_value = peak(dtype)
    return np.clip(np.rint(values * peak_value), 0, peak_value).astype(dtype)


def to_8bit(pixels: np.ndarray) -> np.ndarray:
    """uint16 -> uint8 by rounding v / 257 (maps 65535 to 255 exactly); uint8 unchanged."""
    if pixels.dtype == np.uint8:
        return pixels
    return np.rint(pixels.astype(np.float32) / 257.0).astype(np.uint8)


def to_gray(pixels: np.ndarray) -> np.ndarray:
    """RGB -> gray with the BT.601 luma weights (as Pillow's ``convert('L')``), same dtype."""
    if pixels.shape[-1] == 1:
        return pixels
    return np.rint(pixels.astype(np.float32) @ LUMA).astype(pixels.dtype)[..., None]


def to_rgb(pixels: np.ndarray) -> np.ndarray:
    """Gray -> RGB by repeating the channel; RGB unchanged."""
    return pixels if pixels.shape[-1] == 3 else np.repeat(pixels, 3, axis=-1)


def luma(rgb: np.ndarray) -> np.ndarray:
    """Full-range BT.601 luma of float RGB (..., 3), unrounded: (..., ) on the same scale."""
    return rgb @ LUMA


def rgb_to_ycbcr(rgb: np.ndarray) -> np.ndarray:
    """Full-range BT.601 (JFIF) of float RGB in [0, 1]: Y in [0, 1], Cb and Cr centred on 0.5."""
    ycbcr = rgb @ _TO_YCBCR.T
    ycbcr[..., 1:] += 0.5
    return ycbcr


def ycbcr_to_rgb(ycbcr: np.ndarray) -> np.ndarray:
    centred = ycbcr.copy()
    centred[..., 1:] -= 0.5
    return centred @ _FROM_YCBCR.T


def keep_colours(content: np.ndarray, output: np.ndarray) -> np.ndarray:
    """Luminance-only transfer: the output's full-range luma with the content's Cb and Cr
    (float RGB on [0, 1], (..., 3)); unclipped, as the model's outputs are."""
    ycbcr = rgb_to_ycbcr(content.astype(np.float32))
    ycbcr[..., 0] = luma(output.astype(np.float32))
    return ycbcr_to_rgb(ycbcr)


def rgb_to_y(rgb: np.ndarray, data_range: float = 255.0) -> np.ndarray:
    """The BT.601 studio-range luma of RGB pixels (..., 3), float64 on the same ``data_range`` scale.

    This is MATLAB's ``rgb2ycbcr`` luma (and BasicSR's ``bgr2ycbcr(y_only=True)``): Y spans
    16-235 on the 0-255 scale (scaled by data_range / 255 for other ranges). Y is not rounded:
    BasicSR scores it as a float; MATLAB, given uint8, rounds it to uint8, which moves PSNR by
    about 0.01 dB.
    """
    rgb = np.asarray(rgb)
    if rgb.shape[-1] != 3:
        raise ValueError(f"rgb_to_y needs 3 channels last, got shape {rgb.shape}")
    weights = np.asarray(_STUDIO_Y_WEIGHTS, dtype=np.float64) / 255.0
    return rgb.astype(np.float64) @ weights + _STUDIO_Y_OFFSET * (data_range / 255.0)
