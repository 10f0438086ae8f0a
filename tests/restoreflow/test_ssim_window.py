import numpy as np
import pytest
from scipy import ndimage

from restoreflow.ssim_window import SSIM_WINDOW, SsimWindow


def test_the_default_is_the_papers_window():
    assert (SSIM_WINDOW.size, SSIM_WINDOW.sigma, SSIM_WINDOW.k1, SSIM_WINDOW.k2) == (11, 1.5, 0.01, 0.03)
    assert SSIM_WINDOW.constants(255.0) == pytest.approx(((0.01 * 255) ** 2, (0.03 * 255) ** 2))


def test_taps_are_scikit_images_gaussian_weights():
    # scikit-image filters with scipy's gaussian_filter, sigma 1.5, truncate 3.5: 11 taps.
    impulse = np.zeros(11)
    impulse[5] = 1.0
    expected = ndimage.gaussian_filter1d(impulse, 1.5, truncate=3.5, mode="constant")
    np.testing.assert_allclose(SSIM_WINDOW.taps(), expected / expected.sum(), atol=1e-12)
    kernel = SSIM_WINDOW.kernel()
    assert kernel.shape == (11, 11) and kernel.sum() == pytest.approx(1.0)


def test_an_even_window_is_refused():
    with pytest.raises(ValueError, match="positive odd number"):
        SsimWindow(size=10)
