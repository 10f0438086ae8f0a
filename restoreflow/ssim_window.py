"""The SSIM convention, written once for the numpy scores (``pipelines.quality.scoring``) and the
TensorFlow metrics and loss (``model.metrics``, ``model.losses``).

Wang, Bovik, Sheikh & Simoncelli 2004: an 11x11 Gaussian window of sigma 1.5, K1 0.01,
K2 0.03, statistics over the positions where the window fits. 11 taps at sigma 1.5 is what
scikit-image (``gaussian_weights=True``, truncate 3.5), TensorFlow's ``tf.image.ssim`` and
MATLAB's ``fspecial('gaussian', 11, 1.5)`` use.
"""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class SsimWindow:
    size: int = 11  # taps per side, odd
    sigma: float = 1.5  # of the Gaussian, in pixels
    k1: float = 0.01
    k2: float = 0.03

    def __post_init__(self):
        if self.size < 1 or self.size % 2 == 0:
            raise ValueError(f"the SSIM window size must be a positive odd number, got {self.size}")

    def taps(self) -> np.ndarray:
        """The normalised 1-D Gaussian taps (float64); the 2-D window is their outer product."""
        offsets = np.arange(self.size, dtype=np.float64) - (self.size - 1) / 2
        taps = np.exp(-0.5 * (offsets / self.sigma) ** 2)
        return taps / taps.sum()

    def kernel(self) -> np.ndarray:
        """The normalised 2-D window, (size, size), float64."""
        taps = self.taps()
        return np.outer(taps, taps)

    def constants(self, data_range: float) -> tuple[float, float]:
        """(C1, C2) for pixels on a scale whose peak is ``data_range``."""
        return (self.k1 * data_range) ** 2, (self.k2 * data_range) ** 2


SSIM_WINDOW = SsimWindow()
