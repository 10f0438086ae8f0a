"""The style benchmark's scores (issue 24), per (content, style, output):

- ``feature_distances``: style match in a feature network, the style term of
  ``model.style_features`` (relative errors of the output's feature statistics, Gram or
  covariance matrices, against the style image's, averaged over levels), and the relative
  content-feature distance. The benchmark takes them in a fixed judge, the trainer's default
  random feature network: a kind of objective our network and the Gatys baseline minimise,
  so it favours them over the anchor; read it beside the colour distance, which favours no one;
- ``colour_distance``: style match in colour, the 1-D Wasserstein (earth mover's) distance
  between the output's and the style image's distributions of each 8-bit RGB channel, in
  levels of 0-255, averaged over the three channels (0: the same histograms, whatever the
  sizes; a uniform shift by d levels gives d);
- ``edge_ssim``: content kept, SSIM (``pipelines.quality.scoring.ssim``: 11x11 Gaussian
  window, sigma 1.5, K1 0.01, K2 0.03) of the luminance edges of the output against the
  content's: the Sobel gradient magnitude of full-range BT.601 luma on [0, 1], divided by 4 so
  that a unit step gives 1, with data_range 1. Edges, not pixels: a style changes colours
  and textures, and what should survive is where the content's outlines are.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from pipelines.quality.scoring import ssim
from restoreflow.pixels import rgb_to_ycbcr

LEVELS = 256  # of an 8-bit channel


def colour_distance(output: np.ndarray, style: np.ndarray) -> float:
    """Mean over RGB of the 1-D Wasserstein distance of 8-bit channel histograms (uint8 HWC)."""
    distances = []
    for channel in range(3):
        cdfs = [np.cumsum(np.bincount(image[..., channel].ravel(), minlength=LEVELS)) / image[..., channel].size
                for image in (output, style)]
        distances.append(float(np.abs(cdfs[0] - cdfs[1]).sum()))  # W1 = the area between the CDFs
    return float(np.mean(distances))


def edges(image: np.ndarray) -> np.ndarray:
    """uint8 RGB HWC -> the Sobel gradient magnitude of its luma on [0, 1], a unit step -> 1."""
    luma = rgb_to_ycbcr(image.astype(np.float64) / 255.0)[..., 0]
    return np.hypot(ndimage.sobel(luma, axis=0, mode="reflect"), ndimage.sobel(luma, axis=1, mode="reflect")) / 4.0


def edge_ssim(content: np.ndarray, output: np.ndarray) -> float:
    return ssim(edges(content), edges(output), data_range=1.0)


def feature_distances(loss, content: np.ndarray, output: np.ndarray) -> dict[str, float]:
    """The style term (and the relative content-feature distance) of a
    ``model.style_features.StyleLoss`` for one uint8 output of one uint8 content image."""
    terms = loss.terms(content[None].astype(np.float32) / 255.0, output[None].astype(np.float32) / 255.0)
    return {"style_distance": float(terms["style"][0]), "content_features": float(terms["content"][0])}


def scores(loss, content: np.ndarray, style: np.ndarray, output: np.ndarray) -> dict[str, float]:
    """Every score of one output (uint8 RGB HWC, the content's size)."""
    return {**feature_distances(loss, content, output), "colour": colour_distance(output, style),
            "edge_ssim": edge_ssim(content, output)}
