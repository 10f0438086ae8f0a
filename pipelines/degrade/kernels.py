"""Blur and ringing kernels of the second-order ("real-world") chain, after Real-ESRGAN
(Wang et al. 2021, section 3.1): Gaussian, generalised Gaussian and plateau kernels, each
isotropic or anisotropic (a rotated covariance), and the 2-D sinc (ideal low-pass) kernel that
makes ringing and overshoot. Every kernel is float32, odd-sized and sums to 1.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

KERNEL_KINDS = ("iso", "aniso", "generalized_iso", "generalized_aniso", "plateau_iso", "plateau_aniso")


def _quadratic_form(size: int, sigma_x: float, sigma_y: float, theta: float) -> np.ndarray:
    """x^T Sigma^-1 x on a size x size grid centred on 0; Sigma has the standard deviations
    sigma_x, sigma_y along axes rotated by theta (radians)."""
    radius = size // 2
    ys, xs = np.mgrid[-radius : radius + 1, -radius : radius + 1].astype(np.float64)
    cos, sin = math.cos(theta), math.sin(theta)
    u = cos * xs + sin * ys
    v = -sin * xs + cos * ys
    return (u / sigma_x) ** 2 + (v / sigma_y) ** 2


def shaped_kernel(*, kind: str, size: int, sigma_x: float, sigma_y: float, theta: float,
                  beta: float) -> np.ndarray:
    """One blur kernel of ``kind`` (see ``KERNEL_KINDS``; iso kinds use sigma_x for both axes).

    With q = x^T Sigma^-1 x: Gaussian exp(-q/2); generalised Gaussian exp(-q^beta/2)
    (beta < 1 heavier tails, > 1 a flatter top); plateau 1 / (1 + q^beta), as in Real-ESRGAN.
    """
    if kind not in KERNEL_KINDS:
        raise ValueError(f"unknown kernel kind {kind!r}")
    if size < 3 or size % 2 == 0:
        raise ValueError(f"kernel size must be odd and >= 3, got {size}")
    if kind.endswith("_iso") or kind == "iso":
        sigma_y, theta = sigma_x, 0.0
    q = _quadratic_form(size, sigma_x, sigma_y, theta)
    if kind.startswith("generalized"):
        kernel = np.exp(-0.5 * q**beta)
    elif kind.startswith("plateau"):
        kernel = 1.0 / (1.0 + q**beta)
    else:
        kernel = np.exp(-0.5 * q)
    return (kernel / kernel.sum()).astype(np.float32)


def sinc_kernel(*, size: int, cutoff: float) -> np.ndarray:
    """The circular ideal low-pass filter (2-D sinc, an Airy pattern) with cutoff frequency
    ``cutoff`` in radians per pixel, within (0, pi]; its negative lobes ring at edges."""
    if size < 3 or size % 2 == 0:
        raise ValueError(f"kernel size must be odd and >= 3, got {size}")
    if not 0 < cutoff <= math.pi:
        raise ValueError(f"sinc cutoff must lie within (0, pi], got {cutoff}")
    radius = size // 2
    ys, xs = np.mgrid[-radius : radius + 1, -radius : radius + 1].astype(np.float64)
    r = np.hypot(xs, ys)
    with np.errstate(divide="ignore", invalid="ignore"):
        kernel = cutoff * special.j1(cutoff * r) / (2 * math.pi * r)
    kernel[radius, radius] = cutoff**2 / (4 * math.pi)  # the limit at r = 0
    return (kernel / kernel.sum()).astype(np.float32)
