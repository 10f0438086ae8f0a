import io

import numpy as np
import pytest
from PIL import Image

from pipelines.degrade import ops
from tests.helpers.images import photo


def flat(value=0.5, shape=(128, 128, 1)):
    return np.full(shape, value, np.float32)


@pytest.mark.parametrize("sigma", [5.0, 25.0, 50.0])
def test_gaussian_noise_has_the_requested_sigma(sigma):
    noisy = ops.gaussian_noise(flat(), noise_sigma=sigma, color=True, rng=np.random.default_rng(1))
    measured = float(np.std(noisy - 0.5) * 255)
    assert measured == pytest.approx(sigma, rel=0.02)
    standard_error = sigma / np.sqrt(noisy.size)
    assert float(np.mean(noisy - 0.5) * 255) == pytest.approx(0.0, abs=4 * standard_error)


def test_gray_noise_is_shared_across_channels_and_color_noise_is_not():
    image = flat(shape=(32, 32, 3))
    gray = ops.gaussian_noise(image, noise_sigma=20, color=False, rng=np.random.default_rng(0))
    color = ops.gaussian_noise(image, noise_sigma=20, color=True, rng=np.random.default_rng(0))
    assert np.array_equal(gray[..., 0], gray[..., 2])
    assert not np.array_equal(color[..., 0], color[..., 2])


def test_noise_is_not_clipped():
    noisy = ops.gaussian_noise(flat(0.0), noise_sigma=25, color=True, rng=np.random.default_rng(0))
    assert noisy.min() < 0.0


def test_poisson_noise_variance_follows_the_mean():
    peak = 50.0
    noisy = ops.poisson_noise(flat(0.4, (256, 256, 1)), peak=peak, rng=np.random.default_rng(2))
    assert float(noisy.mean()) == pytest.approx(0.4, rel=0.01)
    # Var(counts / peak) = mean / peak for Poisson counts.
    assert float(noisy.var()) == pytest.approx(0.4 / peak, rel=0.05)


def test_blur_kernels_are_normalised_and_shaped():
    iso = ops.gaussian_kernel(sigma_x=2.0, sigma_y=2.0, theta=0.0)
    assert iso.sum() == pytest.approx(1.0, abs=1e-5)
    assert np.allclose(iso, iso.T, atol=1e-7)
    aniso = ops.gaussian_kernel(sigma_x=3.0, sigma_y=0.5, theta=0.0)
    # Wide along x, narrow along y.
    assert aniso.sum(axis=0).std() < aniso.sum(axis=1).std()
    motion = ops.motion_kernel(length=9, angle=0.0)
    assert motion.sum() == pytest.approx(1.0, abs=1e-5)
    assert np.count_nonzero(motion.sum(axis=1) > 1e-6) <= 2  # a horizontal line


def test_blur_removes_detail_but_keeps_brightness():
    image = photo("camera", (64, 64)).astype(np.float32) / 255
    blurred = ops.gaussian_blur(image, sigma_x=2.0, sigma_y=2.0, theta=0.0)
    moved = ops.motion_blur(image, length=9, angle=30)
    for out in (blurred, moved):
        assert out.shape == image.shape
        assert float(out.mean()) == pytest.approx(float(image.mean()), abs=0.01)
        assert np.abs(np.diff(out, axis=1)).mean() < np.abs(np.diff(image, axis=1)).mean()


@pytest.mark.parametrize("quality", [10, 40, 90])
def test_jpeg_equals_pillow_at_that_quality(quality):
    pixels = photo("astronaut", (40, 48))
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=quality)
    expected = np.asarray(Image.open(buffer)).astype(np.float32) / 255
    ours = ops.jpeg(pixels.astype(np.float32) / 255, quality=quality)
    assert np.array_equal(ours, expected)


def test_jpeg_of_a_gray_image_stays_gray():
    gray = photo("camera", (24, 24)).astype(np.float32) / 255
    assert ops.jpeg(gray, quality=30).shape == (24, 24, 1)


def test_film_grain_is_correlated_gray_and_strongest_in_the_midtones():
    rng = np.random.default_rng(0)
    image = np.concatenate([flat(0.5, (128, 128, 3)), flat(0.97, (128, 128, 3))], axis=1)
    grain = ops.film_grain(image, grain_sigma=8.0, size_x=1.2, size_y=1.2, chroma=0.0, rng=rng) - image
    mid, bright = grain[:, :128] * 255, grain[:, 128:] * 255
    assert mid.std() == pytest.approx(8.0, rel=0.15) and bright.std() < 0.6 * mid.std()
    assert np.array_equal(grain[..., 0], grain[..., 2])  # chroma 0: one gray field
    neighbours = np.corrcoef(mid[:, :-1, 0].ravel(), mid[:, 1:, 0].ravel())[0, 1]
    assert neighbours > 0.5  # grain clumps; white noise would give about 0


def test_unsharp_mask_raises_contrast_at_edges_and_keeps_flat_areas():
    step = np.concatenate([flat(0.3, (32, 16, 1)), flat(0.7, (32, 16, 1))], axis=1)
    sharpened = ops.unsharp_mask(step, amount=1.0, radius=1.0)
    assert sharpened[:, 15].max() < 0.3 and sharpened[:, 16].min() > 0.7  # overshoot at the edge
    np.testing.assert_allclose(sharpened[:, :8], 0.3, atol=1e-6)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_downscale_shapes(scale):
    image = photo("astronaut", (12 * scale, 10 * scale)).astype(np.float32) / 255
    small = ops.downscale(image, scale=scale, reupscale=False)
    assert small.shape == (12, 10, 3)
    assert ops.downscale(image, scale=scale, reupscale=True).shape == image.shape
    with pytest.raises(ValueError, match="multiple"):
        ops.downscale(image[:-1], scale=scale, reupscale=False)


def test_downscale_antialiases():
    # A pixel-level checkerboard averages to mid-gray when shrunk with antialiasing.
    board = (np.indices((64, 64)).sum(0) % 2).astype(np.float32)[..., None]
    small = ops.downscale(board, scale=4, reupscale=False)
    assert np.abs(small[2:-2, 2:-2] - 0.5).max() < 0.05


@pytest.mark.parametrize("seed", range(12))
def test_inpaint_mask_fraction_stays_within_bounds(seed):
    mask = ops.inpaint_mask(
        height=40, width=56, min_fraction=0.1, max_fraction=0.3, stroke_probability=0.6,
        rng=np.random.default_rng(seed),
    )
    assert mask.shape == (40, 56, 1) and mask.dtype == np.uint8
    assert set(np.unique(mask)) <= {0, 1}
    assert 0.1 <= mask.mean() <= 0.3 + 1 / (40 * 56)


def test_masked_pixels_become_zero():
    image = flat(0.7, (8, 8, 3))
    mask = np.zeros((8, 8, 1), np.uint8)
    mask[2:4, 2:4] = 1
    out = ops.apply_mask(image, mask)
    assert np.all(out[2:4, 2:4] == 0) and np.all(out[0, 0] == np.float32(0.7))
