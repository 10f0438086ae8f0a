"""Generated fill: missing pixels sampled by a diffusion model with the known pixels fixed
(issue 25, item 3).

The replacement method with resampling of RePaint (Lugmayr et al., CVPR 2022), written for
the EDM noise levels of ``model.diffusion``: before each step from sigma to the next level, the
known region is set to the known pixels plus fresh noise of that sigma (what the forward
process would have made of them), so only the missing region keeps the sampler's own state;
then a Heun step. Replacement alone harmonises poorly (the known region never sees the
generated one), so each step is repeated ``resample`` times: after a step, noise of variance
sigma^2 - next^2 takes x back up to sigma and the step runs again, which lets the two regions
agree. The final image takes the known pixels exactly.

The U-Net is fully convolutional: an image is filled whole (reflect-padded to a multiple of the
network's size multiple), not tiled, so no seams. Its group normalisation sees the statistics of
the whole image, not of the 32x32 patches it trained on: larger images are a shift from
training (bench/RESULTS.md measures fill on crops).

Randomness: one ``numpy.random.Generator`` given by the caller (e.g. ``default_rng([seed, i])``;
the restore job's: seeded by the tile's bytes) draws the starting noise and every step's noise:
the same generator state, the same fill.
"""

from __future__ import annotations

import hashlib

import numpy as np

from model.diffusion import heun_step, sampling_sigmas, to_uint8


def fill(denoiser, known: np.ndarray, missing: np.ndarray, sigmas: np.ndarray, rng: np.random.Generator,
         *, resample: int = 1) -> np.ndarray:
    """``known`` (N, H, W, C) on [-1, 1] (its missing pixels' values are ignored), ``missing``
    (N, H, W, 1), 1 = to fill -> the filled batch on [-1, 1], known pixels unchanged.
    ``denoiser(x, sigma)``: as for ``model.diffusion.heun_sample``."""
    if resample < 1:
        raise ValueError(f"resample must be at least 1, got {resample}")
    hole = missing.astype(np.float64)
    known = known.astype(np.float64) * (1.0 - hole)
    x = rng.standard_normal(known.shape) * sigmas[0]
    for sigma, following in zip(sigmas[:-1], sigmas[1:]):
        for round_ in range(resample):
            x = hole * x + (1.0 - hole) * (known + sigma * rng.standard_normal(known.shape))
            x = heun_step(denoiser, x, sigma, following)
            if round_ < resample - 1 and following > 0:  # back up to sigma, and step again
                x = x + np.sqrt(sigma**2 - following**2) * rng.standard_normal(known.shape)
    return hole * x + (1.0 - hole) * known


def fill_padded(sampler, known: np.ndarray, missing: np.ndarray, *, steps: int, rng: np.random.Generator,
                resample: int = 1, multiple: int = 1) -> np.ndarray:
    """One HWC image on [-1, 1] and its HW1 mask -> the filled image on [-1, 1], the image
    reflect-padded to a multiple of ``multiple`` (the card's size multiple) while it is filled.
    ``sampler``: a ``model.diffusion.Sampler``."""
    height, width = known.shape[:2]
    pad = ((0, -height % multiple), (0, -width % multiple), (0, 0))
    padded = np.pad(known.astype(np.float64), pad, mode="reflect")
    hole = np.pad(missing.astype(np.float64), pad, mode="constant")  # the padding is known: reflected pixels
    filled = fill(sampler.denoise, padded[None], hole[None], sampling_sigmas(steps, sampler.edm), rng,
                  resample=resample)
    return filled[0, :height, :width]


def fill_image(sampler, image: np.ndarray, missing: np.ndarray, *, steps: int, seed: int, index: int = 0,
               resample: int = 1, multiple: int = 1) -> np.ndarray:
    """One uint8 HWC ``image`` with its HW1 ``missing`` mask (1 = to fill) -> the filled uint8
    image, its noise from ``default_rng([seed, index])``."""
    filled = fill_padded(sampler, image.astype(np.float64) / 127.5 - 1.0, missing, steps=steps,
                         rng=np.random.default_rng([seed, index]), resample=resample, multiple=multiple)
    return np.where(missing.astype(bool), to_uint8(filled), image)


def fill_tile(sampler, tile: np.ndarray, *, steps: int, resample: int = 1, multiple: int = 1) -> np.ndarray:
    """The restore job's tile: (H, W, C + 1) float on [0, 1], the last channel the mask -> the
    filled (H, W, C) on [0, 1]. Its noise is seeded by the tile's own bytes, so the same tile
    (its pixels and mask) is filled the same on any worker, in any batch, on a rerun."""
    tile = np.ascontiguousarray(tile, np.float32)
    image, missing = tile[..., :-1], tile[..., -1:] > 0.5
    seed = np.frombuffer(hashlib.sha256(tile.tobytes()).digest()[:16], np.uint32)
    filled = fill_padded(sampler, image * 2.0 - 1.0, missing, steps=steps, rng=np.random.default_rng(seed),
                         resample=resample, multiple=multiple)
    return np.where(missing, np.clip((filled + 1.0) / 2.0, 0.0, 1.0), image).astype(np.float32)
