"""The no-reference signals the restore job records before and after restoration."""

import io
import math

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from pipelines.quality import niqe, signals
from tests.helpers.images import photo


def smooth_photo() -> np.ndarray:
    """A real photograph with its fine detail removed, so only added noise is noise."""
    image = photo("camera", (192, 224)).astype(np.float64)
    return ndimage.gaussian_filter(image, sigma=(3, 3, 0)) * 0.7 + 40  # keep off the clip limits


@pytest.mark.parametrize("sigma", [5.0, 10.0, 20.0])
def test_noise_estimate_recovers_added_noise(sigma):
    clean = smooth_photo()
    rng = np.random.default_rng(3)
    degraded = np.round(clean + rng.normal(0.0, sigma, clean.shape)).astype(np.uint8)
    assert signals.noise_sigma_estimate(degraded) == pytest.approx(sigma, rel=0.1)
    assert signals.noise_sigma_estimate(np.round(clean).astype(np.uint8)) < 1.5
    as_16bit = degraded.astype(np.uint16) * 257
    assert signals.noise_sigma_estimate(as_16bit, data_range=65535.0) == pytest.approx(
        signals.noise_sigma_estimate(degraded), rel=1e-6
    )


def test_sharpness_drops_after_blurring():
    sharp = photo("astronaut", (96, 128))
    blurred = ndimage.gaussian_filter(sharp, sigma=(1.5, 1.5, 0))
    assert signals.sharpness_laplacian_var(blurred) < 0.25 * signals.sharpness_laplacian_var(sharp)
    gray = sharp[..., :1].astype(np.float64)
    laplacian = ndimage.laplace(gray[..., 0])[1:-1, 1:-1]  # the same kernel, by hand
    assert signals.sharpness_laplacian_var(gray) == pytest.approx(laplacian.var(), rel=1e-9)
    as_16bit = sharp.astype(np.uint16) * 257
    assert signals.sharpness_laplacian_var(as_16bit, data_range=65535.0) == pytest.approx(
        signals.sharpness_laplacian_var(sharp), rel=1e-6
    )


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(
        buffer, format="JPEG", quality=quality
    )
    decoded = np.asarray(Image.open(buffer))
    return decoded[..., None] if decoded.ndim == 2 else decoded


@pytest.mark.parametrize("name", ["camera", "astronaut"])
def test_blockiness_rises_after_strong_jpeg(name):
    original = photo(name, (128, 160))
    before = signals.jpeg_blockiness(original)
    after = signals.jpeg_blockiness(jpeg(original, 10))
    assert 0.85 < before < 1.15
    assert after > 1.3 and after > before + 0.25


def test_blockiness_degenerate_cases():
    assert math.isnan(signals.jpeg_blockiness(np.zeros((8, 8, 1), np.uint8)))
    assert signals.jpeg_blockiness(np.full((16, 16, 1), 7, np.uint8)) == 1.0
    blocks = np.kron(np.arange(4).reshape(2, 2), np.ones((8, 8))).astype(np.uint8)
    assert signals.jpeg_blockiness(blocks) == math.inf


def test_no_reference_bundles_the_three_signals_and_niqe():
    image = photo("astronaut", (192, 200))
    scores = signals.no_reference(image)
    assert scores == {
        "noise_sigma": signals.noise_sigma_estimate(image),
        "sharpness": signals.sharpness_laplacian_var(image),
        "blockiness": signals.jpeg_blockiness(image),
        "niqe": niqe.niqe(image),
    }
    assert math.isfinite(scores["niqe"])
    assert all(isinstance(v, float) for v in scores.values())
    tiny = signals.no_reference(np.zeros((2, 5, 3), np.uint8))  # recorded, not an error
    assert all(math.isnan(v) for v in tiny.values())


def test_a_large_image_is_read_on_evenly_spaced_bands_on_the_jpeg_grid():
    image = np.zeros((1000, 300, 3), np.uint8)
    assert signals.bands(image, None)[0].shape == image.shape
    assert signals.bands(image, 1000 * 300)[0].shape == image.shape  # small enough: every pixel
    found = signals.bands(image, 60_000)
    assert sum(b.size for b in found) <= 60_000 * 3 and len(found) == 3
    starts = [b.__array_interface__["data"][0] - image.__array_interface__["data"][0] for b in found]
    rows = [offset // (300 * 3) for offset in starts]
    assert rows[0] == 0 and rows[-1] + signals.BAND_ROWS >= 1000 - 8 and all(r % 8 == 0 for r in rows)
    assert signals.sampled_fraction(image, 60_000) == pytest.approx(3 * signals.BAND_ROWS / 1000)


def test_signals_on_a_sample_of_bands_read_what_the_whole_image_reads():
    rng = np.random.default_rng(5)
    tall = ndimage.gaussian_filter(photo("camera", (768, 224)).astype(np.float64), sigma=(3, 3, 0)) * 0.7 + 40
    noisy = np.round(tall + rng.normal(0.0, 8.0, tall.shape)).clip(0, 255).astype(np.uint8)
    blocky = np.asarray(Image.open(io.BytesIO(png_as_jpeg(noisy[..., 0], quality=20))))[..., None]
    for pixels in (noisy, blocky):
        whole = signals.no_reference(pixels, max_pixels=None)
        sample = signals.no_reference(pixels, max_pixels=pixels.shape[1] * 256)  # a third of the rows
        for name in ("noise_sigma", "sharpness", "blockiness"):
            assert sample[name] == pytest.approx(whole[name], rel=0.05, abs=0.05), (name, sample, whole)
    assert signals.no_reference(noisy, max_pixels=None) == signals.no_reference(noisy, max_pixels=noisy.size)


def png_as_jpeg(pixels: np.ndarray, *, quality: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()
