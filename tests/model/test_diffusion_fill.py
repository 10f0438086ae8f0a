"""Generated fill on data whose ideal denoiser is known in closed form, and on a real (untrained)
U-Net for the image-level contract."""

import numpy as np
import pytest

from model import diffusion
from model.diffusion_fill import fill, fill_image

EDM = diffusion.EDM()


def gaussian_pair_denoiser(rho: float):
    """The ideal D(x; sigma) of two pixels jointly Gaussian (variance sigma_data^2, correlation rho)."""
    cov = np.array([[1.0, rho], [rho, 1.0]]) * EDM.sigma_data**2

    def denoise(x, sigma):
        gain = cov @ np.linalg.inv(cov + sigma**2 * np.eye(2))
        return (x.reshape(len(x), 2) @ gain.T).reshape(x.shape)

    return denoise


def test_a_point_distribution_fills_its_holes_with_its_one_image_and_keeps_the_known_pixels():
    y0 = np.random.default_rng(1).uniform(-1, 1, (1, 4, 4, 3))
    known = np.random.default_rng(2).uniform(-1, 1, (1, 4, 4, 3))
    missing = (np.random.default_rng(3).random((1, 4, 4, 1)) < 0.5).astype(np.uint8)
    out = fill(lambda x, sigma: y0, known, missing, diffusion.sampling_sigmas(5, EDM), np.random.default_rng(0))
    np.testing.assert_allclose(np.where(missing, out, 0), np.where(missing, y0, 0), atol=1e-9)
    np.testing.assert_array_equal(np.where(missing, 0, out), np.where(missing, 0, known))


def test_resampling_brings_the_fill_to_the_conditional_distribution_of_the_data():
    # Pixel b given a = 0.8 is N(rho a, sigma_data^2 (1 - rho^2)): replacement alone misses its mean
    # badly (the known pixel never hears from the generated one); resampling approaches it.
    rho, n = 0.9, 4000
    known = np.zeros((n, 1, 2, 1))
    known[:, 0, 0, 0] = 0.8
    missing = np.zeros((n, 1, 2, 1))
    missing[:, 0, 1, 0] = 1

    def error(resample):
        out = fill(gaussian_pair_denoiser(rho), known, missing, diffusion.sampling_sigmas(30, EDM),
                   np.random.default_rng(0), resample=resample)
        return abs(out[:, 0, 1, 0].mean() - rho * 0.8)

    assert error(10) < 0.1 < 0.3 < error(1)


def test_a_resample_count_below_one_is_refused():
    with pytest.raises(ValueError, match="resample"):
        fill(lambda x, s: x, np.zeros((1, 2, 2, 1)), np.zeros((1, 2, 2, 1)), diffusion.sampling_sigmas(2, EDM),
             np.random.default_rng(0), resample=0)


def test_an_image_of_any_size_is_filled_whole_seeded_with_its_known_pixels_kept():
    from model.diffusion_net import diffusion_unet

    sampler = diffusion.Sampler(diffusion_unet(channels=3, width=8, levels=2, blocks=1), EDM)
    image = np.random.default_rng(4).integers(0, 256, (10, 14, 3), dtype=np.uint8)  # not a multiple of 4
    missing = np.zeros((10, 14, 1), np.uint8)
    missing[2:7, 3:11] = 1
    first = fill_image(sampler, image, missing, steps=3, seed=7, multiple=4)
    assert first.shape == image.shape and first.dtype == np.uint8
    np.testing.assert_array_equal(first[missing[..., 0] == 0], image[missing[..., 0] == 0])
    np.testing.assert_array_equal(first, fill_image(sampler, image, missing, steps=3, seed=7, multiple=4))
    assert not np.array_equal(first, fill_image(sampler, image, missing, steps=3, seed=8, multiple=4))
