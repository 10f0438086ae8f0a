"""No-reference signals for the restore job, in numpy only: the job records them for every
image before and after restoration, since most inputs have no clean reference.

``noise_sigma_estimate``, ``sharpness_laplacian_var`` and ``jpeg_blockiness`` (and all three
at once, ``no_reference``). Like the full-reference scores in ``pipelines.quality.scoring`` they walk
the image in strips (``planes.strips``); they work in float32, which is exact for 8- and
16-bit inputs (every intermediate is an integer below 2**24).
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np

from pipelines.quality import niqe
from pipelines.quality.planes import Rows, as_hwc, strips

# The restore job's signals read at most this many pixels of an image: evenly spaced bands of
# BAND_ROWS rows. They are averages over the image, so a sample of a large photograph gives
# a reading within 10 % of the whole image's (0.3 % but on JPEG-compressed photographs;
# bench.jobs.write_costs) in a quarter of the time.
SAMPLE_PIXELS = 2_000_000
BAND_ROWS = 64


def _float32_rows(pixels: np.ndarray, channel: int, start: int, stop: int) -> np.ndarray:
    return pixels[start:stop, :, channel].astype(np.float32)


def _channel_readers(image: np.ndarray) -> list[Rows]:
    pixels = as_hwc(image)
    return [partial(_float32_rows, pixels, c) for c in range(pixels.shape[-1])]


def _second_difference(plane: np.ndarray, axis: int) -> np.ndarray:
    """x[i-1] - 2 x[i] + x[i+1] along ``axis`` (0 or 1), valid positions only."""
    p = np.moveaxis(plane, axis, 0)
    return np.moveaxis(p[:-2] - 2.0 * p[1:-1] + p[2:], 0, axis)


def bands(image: np.ndarray, max_pixels: int | None) -> list[np.ndarray]:
    """The image itself when it has at most ``max_pixels`` pixels (or None), else views of
    evenly spaced full-width bands of ``BAND_ROWS`` rows that hold about ``max_pixels`` in all.
    Each band starts on a multiple of 8 rows, so JPEG's block grid stays where it was."""
    pixels = as_hwc(image)
    height, width = pixels.shape[:2]
    if max_pixels is None or height * width <= max_pixels or height <= 2 * BAND_ROWS:
        return [pixels]
    count = max(2, max_pixels // (BAND_ROWS * width))
    starts = sorted({round(i * (height - BAND_ROWS) / (count - 1) / 8) * 8 for i in range(count)})
    return [pixels[start : start + BAND_ROWS] for start in starts]


def sampled_fraction(image: np.ndarray, max_pixels: int | None) -> float:
    """The share of the image's rows that ``bands`` reads (1.0: the whole image)."""
    height = as_hwc(image).shape[0]
    return min(1.0, sum(band.shape[0] for band in bands(image, max_pixels)) / height)


def _noise_parts(pixels: np.ndarray) -> tuple[np.ndarray, int]:
    """Per channel, sum |I * N| over the valid positions; and their count."""
    height, width = pixels.shape[:2]
    totals = np.zeros(pixels.shape[-1])
    for c, read in enumerate(_channel_readers(pixels)):
        for start, stop in strips(height - 2, width):
            rows = read(start, stop + 2)
            # N is separable: [1, -2, 1] down the columns, then along the rows.
            totals[c] += float(np.sum(np.abs(_second_difference(_second_difference(rows, 0), 1)), dtype=np.float64))
    return totals, (height - 2) * (width - 2)


def noise_sigma_estimate(image: np.ndarray, *, data_range: float = 255.0, max_pixels: int | None = None) -> float:
    """Standard deviation of white Gaussian noise, on the 0-255 scale (whatever the bit depth).

    Immerkaer, "Fast Noise Variance Estimation", CVIU 64(2), 1996: the image is filtered with
    N = [[1, -2, 1], [-2, 4, -2], [1, -2, 1]] (the difference of two Laplacians, which nearly
    cancels smooth image structure), and sigma = sqrt(pi / 2) * sum |I * N| / (6 (W - 2)(H - 2)).
    Per channel, averaged; NaN below 3x3 pixels. Edges and fine texture leak in, so the
    estimate is an upper bound on highly textured images; it is meant for comparing images
    before and after restoration. ``max_pixels``: pooled over ``bands`` of the image.
    """
    pixels = as_hwc(image)
    if min(pixels.shape[:2]) < 3:
        return math.nan  # no 3x3 neighbourhood: a tiny image is not an error for the job
    parts = [_noise_parts(band) for band in bands(pixels, max_pixels)]
    totals, count = sum(t for t, _ in parts), sum(n for _, n in parts)
    return float(np.mean(math.sqrt(math.pi / 2) * totals / (6.0 * count))) * 255.0 / data_range


def _laplacian_parts(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Per channel, the sum and the sum of squares of the Laplacian; and the positions' count."""
    height, width = pixels.shape[:2]
    totals, squares = np.zeros(pixels.shape[-1]), np.zeros(pixels.shape[-1])
    for c, read in enumerate(_channel_readers(pixels)):
        for start, stop in strips(height - 2, width):
            rows = read(start, stop + 2)
            laplacian = _second_difference(rows, 0)[:, 1:-1] + _second_difference(rows[1:-1], 1)
            totals[c] += float(np.sum(laplacian, dtype=np.float64))
            squares[c] += float(np.sum(np.square(laplacian), dtype=np.float64))
    return totals, squares, (height - 2) * (width - 2)


def sharpness_laplacian_var(image: np.ndarray, *, data_range: float = 255.0, max_pixels: int | None = None) -> float:
    """Variance of the Laplacian, on the 0-255 scale (squared units); higher is sharper.

    Pech-Pacheco, Cristobal, Chamorro-Martinez & Fernandez-Valdivia, "Diatom autofocusing in
    brightfield microscopy: a comparative study", ICPR 2000: the variance of the image filtered
    with [[0, 1, 0], [1, -4, 1], [0, 1, 0]] (OpenCV's ``Laplacian`` with ksize=1), over the
    positions where the kernel fits. Per channel, averaged; NaN below 3x3 pixels. Noise raises
    it too, so read it together with ``noise_sigma_estimate``. ``max_pixels``: as there.
    """
    pixels = as_hwc(image)
    if min(pixels.shape[:2]) < 3:
        return math.nan  # no 3x3 neighbourhood: a tiny image is not an error for the job
    parts = [_laplacian_parts(band) for band in bands(pixels, max_pixels)]
    count = sum(n for _, _, n in parts)
    totals, squares = sum(t for t, _, _ in parts), sum(q for _, q, _ in parts)
    return float(np.mean(squares / count - (totals / count) ** 2)) * (255.0 / data_range) ** 2


def _boundary_and_inside(differences: np.ndarray, axis: int, block: int) -> tuple:
    """(sum, count) of |differences| across block boundaries, then of those inside blocks.

    Difference i is between pixels i and i + 1, so it crosses a boundary when i % block is
    block - 1 (for strips, ``differences`` must start on a block boundary).
    """
    magnitudes = np.abs(differences)
    total = float(np.sum(magnitudes, dtype=np.float64))
    boundary = np.moveaxis(magnitudes, axis, 0)[block - 1 :: block]
    boundary_sum = float(np.sum(boundary, dtype=np.float64))
    return boundary_sum, boundary.size, total - boundary_sum, magnitudes.size - boundary.size


def _blockiness_parts(pixels: np.ndarray, block_size: int) -> np.ndarray:
    """Boundary sum, boundary count, inside sum, inside count of |neighbour steps|."""
    height, width = pixels.shape[:2]
    sums = np.zeros(4)
    for read in _channel_readers(pixels):
        for start, stop in strips(height, width, multiple=block_size):
            rows = read(start, min(stop + 1, height))  # one row of halo for vertical steps
            sums += _boundary_and_inside(np.diff(rows[: stop - start], axis=1), 1, block_size)
            sums += _boundary_and_inside(np.diff(rows, axis=0), 0, block_size)
    return sums


def jpeg_blockiness(image: np.ndarray, *, block_size: int = 8, max_pixels: int | None = None) -> float:
    """Blocking on the JPEG grid: mean |step| across block boundaries / mean |step| inside blocks.

    A gradient-ratio measure in the spirit of Wang, Bovik & Evans, "Blind measurement of
    blocking artifacts in images", ICIP 2000, and Wu & Yuen's GBIM (IEEE TCSVT 7(2), 1997):
    horizontal and vertical neighbour differences are split into those that cross the
    ``block_size`` grid anchored at the top-left pixel (where JPEG puts it) and the rest. About
    1.0 for natural images, clearly above 1 for blocky JPEGs. Unit-free, so no data_range.
    Degenerate cases: NaN for an image without a block boundary (at most one block in each
    direction), 1.0 for a flat image, inf when only the boundaries have steps. ``max_pixels``:
    pooled over ``bands`` (each starts on the grid).
    """
    boundary_sum, boundary_count, inside_sum, inside_count = sum(
        _blockiness_parts(band, block_size) for band in bands(image, max_pixels))
    if boundary_count == 0 or inside_count == 0:
        return math.nan
    boundary_mean, inside_mean = boundary_sum / boundary_count, inside_sum / inside_count
    if inside_mean == 0.0:
        return 1.0 if boundary_mean == 0.0 else math.inf
    return float(boundary_mean / inside_mean)


def no_reference(image: np.ndarray, *, data_range: float = 255.0, max_pixels: int | None = SAMPLE_PIXELS) -> dict:
    """{"noise_sigma", "sharpness", "blockiness", "niqe"}: the three no-reference signals above,
    on bands of at most ``max_pixels`` (None: every pixel), and the NIQE naturalness score
    (``pipelines.quality.niqe``, on at most the central 1024x1024)."""
    return {
        "noise_sigma": noise_sigma_estimate(image, data_range=data_range, max_pixels=max_pixels),
        "sharpness": sharpness_laplacian_var(image, data_range=data_range, max_pixels=max_pixels),
        "blockiness": jpeg_blockiness(image, max_pixels=max_pixels),
        "niqe": niqe.niqe(image, data_range=data_range),
    }
