"""Image-quality scores for the restore job, in numpy and scipy only (no TensorFlow, no Beam).

Full-reference scores (``psnr_db``, ``ssim``, ``ms_ssim``, ``full_reference``) follow the
published conventions (design page, "Conventions"), each an explicit keyword argument:

- ``data_range``: the peak value of the pixel scale: 255 for 8-bit images, 65535 for 16-bit
  ones; floats must already be on that scale (nothing is clipped or rounded here: the restore
  job scores the saved, clipped and rounded output, as the papers do);
- ``crop_border``: pixels removed from every side first (super-resolution uses the scale);
- ``y_channel``: score colour images on their BT.601 studio-range luma (``restoreflow.pixels.rgb_to_y``), as the
  super-resolution and JPEG papers do; gray images are used as they are;
- SSIM: the window convention of ``restoreflow.ssim_window`` (11-tap Gaussian, sigma 1.5,
  K1 0.01, K2 0.03), population covariances, the mean of the SSIM map over the region where
  the window fits, per channel, then averaged over channels: scikit-image's
  ``structural_similarity(gaussian_weights=True, sigma=1.5, use_sample_covariance=False)``.

No-reference signals, which need no clean image, are in ``pipelines.quality.signals``.

Memory: the restore job scores 50-megapixel images, so every score walks the image in
horizontal strips of about ``planes.STRIP_PIXELS`` pixels (plus the few rows of halo a filter needs)
and converts one strip at a time. Full-reference scores work in float64, as scikit-image
does: SSIM's variances are differences of large sums (E[x^2] - E[x]^2), which float32 would
blur for 16-bit data. No-reference signals work in float32, which is exact for 8- and 16-bit
inputs (every intermediate there is an integer below 2**24).
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np
from scipy import ndimage

from pipelines.quality.planes import Rows, pair, plane_pairs, strips
from restoreflow.ssim_window import SSIM_WINDOW, SsimWindow

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
"""Wang, Simoncelli & Bovik 2003, the exponents of scales 1 (full size) to 5."""


# ---------------------------------------------------------------------------------------------
# PSNR


def psnr_db(
    reference: np.ndarray,
    restored: np.ndarray,
    *,
    data_range: float = 255.0,
    crop_border: int = 0,
    y_channel: bool = False,
) -> float:
    """Peak signal-to-noise ratio in dB: 10 log10(data_range^2 / MSE).

    The MSE is over every pixel and channel at once (scikit-image, BasicSR), not a mean of
    per-channel PSNRs. Identical images give ``math.inf`` (no error at all); report it as
    such rather than as a large number.
    """
    reference, restored = pair(reference, restored, crop_border)
    height, width = reference.shape[:2]
    squared_error, count = 0.0, 0
    for read_reference, read_restored in plane_pairs(reference, restored, y_channel=y_channel, data_range=data_range):
        for start, stop in strips(height, width):
            error = (read_reference(start, stop) - read_restored(start, stop)).ravel()
            squared_error += float(error @ error)
        count += height * width
    if squared_error == 0.0:
        return math.inf
    return 10.0 * math.log10(data_range**2 * count / squared_error)


# ---------------------------------------------------------------------------------------------
# SSIM and MS-SSIM


def _valid_filter(plane: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """Separable filtering keeping only the positions where the whole window fits."""
    radius = len(taps) // 2
    rows = ndimage.correlate1d(plane, taps, axis=0, mode="constant")
    rows = rows[radius : plane.shape[0] - radius]
    both = ndimage.correlate1d(rows, taps, axis=1, mode="constant")
    return both[:, radius : plane.shape[1] - radius]


def _ssim_sums(
    read_x: Rows, read_y: Rows, height: int, width: int, *, taps: np.ndarray, c1: float, c2: float
) -> tuple[float, float, int]:
    """Sums of the SSIM map and of the contrast-structure (cs) map over the valid region.

    Returns (sum of SSIM, sum of cs, number of positions). Works strip by strip: output rows
    [start, stop) of the valid region read input rows [start, stop + window - 1).
    """
    window = len(taps)
    valid_height, valid_width = height - window + 1, width - window + 1
    if valid_height < 1 or valid_width < 1:
        raise ValueError(f"a {height}x{width} image is smaller than the {window}x{window} window")
    ssim_sum = cs_sum = 0.0
    for start, stop in strips(valid_height, width):
        x, y = read_x(start, stop + window - 1), read_y(start, stop + window - 1)
        mean_x, mean_y = _valid_filter(x, taps), _valid_filter(y, taps)
        # Only var_x + var_y is needed, so E[x^2 + y^2] takes one filter pass instead of two.
        mean_xy, mean_squares = mean_x * mean_y, mean_x * mean_x + mean_y * mean_y
        covariance = _valid_filter(x * y, taps) - mean_xy
        variances = _valid_filter(x * x + y * y, taps) - mean_squares
        cs = (2.0 * covariance + c2) / (variances + c2)
        luminance = (2.0 * mean_xy + c1) / (mean_squares + c1)
        ssim_sum += float(np.sum(luminance * cs))
        cs_sum += float(np.sum(cs))
    return ssim_sum, cs_sum, valid_height * valid_width


def ssim(
    reference: np.ndarray,
    restored: np.ndarray,
    *,
    data_range: float = 255.0,
    crop_border: int = 0,
    y_channel: bool = False,
    window: SsimWindow = SSIM_WINDOW,
) -> float:
    """Structural similarity (Wang, Bovik, Sheikh & Simoncelli 2004), in [-1, 1], 1 = identical.

    The mean of the SSIM map over the positions where the Gaussian window fits, per channel,
    averaged over channels; equal to scikit-image's ``structural_similarity(...,
    gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=...)``.
    """
    reference, restored = pair(reference, restored, crop_border)
    height, width = reference.shape[:2]
    c1, c2 = window.constants(data_range)
    means = []
    for read_x, read_y in plane_pairs(reference, restored, y_channel=y_channel, data_range=data_range):
        ssim_sum, _, count = _ssim_sums(read_x, read_y, height, width, taps=window.taps(), c1=c1, c2=c2)
        means.append(ssim_sum / count)
    return float(np.mean(means))


def _half_size(rows: np.ndarray) -> np.ndarray:
    """2x2 average; an odd last row or column is first repeated (TensorFlow's SYMMETRIC pad)."""
    if rows.shape[0] % 2:
        rows = np.concatenate([rows, rows[-1:]], axis=0)
    if rows.shape[1] % 2:
        rows = np.concatenate([rows, rows[:, -1:]], axis=1)
    return 0.25 * (rows[0::2, 0::2] + rows[1::2, 0::2] + rows[0::2, 1::2] + rows[1::2, 1::2])


def _downsample(read: Rows, height: int, width: int) -> np.ndarray:
    """The plane at half size, built strip by strip (the only full-plane array MS-SSIM holds)."""
    half = np.empty(((height + 1) // 2, (width + 1) // 2))
    for start, stop in strips(height, width, multiple=2):
        half[start // 2 : (stop + 1) // 2] = _half_size(read(start, stop))
    return half


def _array_rows(plane: np.ndarray, start: int, stop: int) -> np.ndarray:
    return plane[start:stop]


def _ms_ssim_plane(
    read_x: Rows, read_y: Rows, height: int, width: int, *, taps, c1, c2, weights
) -> tuple[float, float]:
    """(MS-SSIM, SSIM at full size) of one plane; the full-size pass serves both."""
    factors, full_size_ssim = [], None
    for scale in range(len(weights)):
        ssim_sum, cs_sum, count = _ssim_sums(
            read_x, read_y, height, width, taps=taps, c1=c1, c2=c2
        )
        if scale == 0:
            full_size_ssim = ssim_sum / count
        last = scale == len(weights) - 1
        # The coarsest scale contributes the whole SSIM (luminance too), the others cs only;
        # negative values are clamped to 0 as TensorFlow and pytorch-msssim do.
        factors.append(max(0.0, (ssim_sum if last else cs_sum) / count) ** weights[scale])
        if not last:
            half_x, half_y = _downsample(read_x, height, width), _downsample(read_y, height, width)
            read_x, read_y = partial(_array_rows, half_x), partial(_array_rows, half_y)
            height, width = half_x.shape
    return math.prod(factors), full_size_ssim


def ms_ssim_min_side(window: SsimWindow = SSIM_WINDOW, scales: int = len(MS_SSIM_WEIGHTS)) -> int:
    """The shortest side MS-SSIM accepts: the window must still fit at the coarsest scale."""
    return window.size * 2 ** (scales - 1)


def _ms_ssim_and_ssim(reference, restored, *, data_range, crop_border, y_channel, window: SsimWindow,
                      weights) -> tuple[float | None, float]:
    reference, restored = pair(reference, restored, crop_border)
    height, width = reference.shape[:2]
    if min(height, width) < ms_ssim_min_side(window, len(weights)):
        return None, ssim(reference, restored, data_range=data_range, y_channel=y_channel, window=window)
    c1, c2 = window.constants(data_range)
    results = [
        _ms_ssim_plane(read_x, read_y, height, width, taps=window.taps(), weights=weights, c1=c1, c2=c2)
        for read_x, read_y in plane_pairs(reference, restored, y_channel=y_channel, data_range=data_range)
    ]
    return float(np.mean([r[0] for r in results])), float(np.mean([r[1] for r in results]))


def ms_ssim(
    reference: np.ndarray,
    restored: np.ndarray,
    *,
    data_range: float = 255.0,
    crop_border: int = 0,
    y_channel: bool = False,
    window: SsimWindow = SSIM_WINDOW,
    weights: tuple[float, ...] = MS_SSIM_WEIGHTS,
) -> float | None:
    """Multi-scale SSIM (Wang, Simoncelli & Bovik 2003), in [0, 1], 1 = identical; or None.

    Five scales, each a 2x2 average of the previous one (an odd last row or column repeated
    first); the product over scales of mean cs (contrast-structure) ** weight, except that the
    coarsest scale uses its mean SSIM; negative factors count as 0; per channel, averaged
    over channels. This is ``tf.image.ssim_multiscale``'s definition (and pytorch-msssim's).

    Returns None when the shorter side, after cropping, is below ``window.size *
    2**(scales - 1)`` (176 by default): the window would not fit at the coarsest scale, and
    the score would not be comparable with anyone's.
    """
    value, _ = _ms_ssim_and_ssim(reference, restored, data_range=data_range, crop_border=crop_border,
                                 y_channel=y_channel, window=window, weights=weights)
    return value


def full_reference(
    reference: np.ndarray,
    restored: np.ndarray,
    *,
    data_range: float = 255.0,
    crop_border: int = 0,
    y_channel: bool = False,
) -> dict:
    """{"psnr_db", "ssim", "ms_ssim"} with the SSIM window convention; ms_ssim is None when too small.

    SSIM and MS-SSIM share their full-size pass, so this costs about a third more than ``ssim``.
    """
    conventions = {"data_range": data_range, "crop_border": crop_border, "y_channel": y_channel}
    ms_value, ssim_value = _ms_ssim_and_ssim(reference, restored, window=SSIM_WINDOW, weights=MS_SSIM_WEIGHTS,
                                             **conventions)
    return {
        "psnr_db": psnr_db(reference, restored, **conventions),
        "ssim": ssim_value,
        "ms_ssim": ms_value,
    }
