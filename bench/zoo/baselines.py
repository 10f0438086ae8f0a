"""Classical baselines for bench/zoo, run on exactly the degraded images the restore job sees.

``degraded_set`` rebuilds each paired-mode input as the restore job's PrepareImages does
(``pairs.prepare_clean`` then ``pairs.make_pairs`` on the whole image with the job's seed and
the image id), so a baseline and a model are scored on the same pixels; ``score_baseline``
scores the baseline's output with the job's own ``score_pair`` (same conventions: rounding to
8 bits, Y channel and border for SR/JPEG). numpy/scikit-image only: no TensorFlow here.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from bench.common import image_files
from pipelines.degrade import ops, pairs, recipe as recipes
from pipelines.imaging import images

# Iteration counts tried for Richardson-Lucy (in order, until the PSNR falls); the best one
# for the whole set is reported.
RL_ITERATIONS = (10, 20, 30, 50, 80, 120, 200, 300, 500)


@dataclasses.dataclass(frozen=True)
class Item:
    """One paired-mode input: the clean reference, the degraded image (float32 [0, 1],
    unclipped when the recipe does not quantize), the mask (HW1, 1 = missing) and the
    sampled degradation parameters."""

    image_id: str
    clean: np.ndarray
    degraded: np.ndarray
    mask: np.ndarray | None
    steps: list[dict]


@dataclasses.dataclass(frozen=True)
class Score:
    """Mean scores over a set, and the per-image PSNRs (image_id -> (before, after))."""

    psnr_db: float
    ssim: float | None
    psnr_db_degraded: float
    images: int
    seconds: float
    per_image: dict[str, tuple[float, float]]

    @property
    def gain_db(self) -> float:
        return self.psnr_db - self.psnr_db_degraded

    @property
    def worst_gain_db(self) -> float:
        return min(after - before for before, after in self.per_image.values())


def degraded_set(folder: Path, recipe: recipes.Recipe, seed: int = 0) -> Iterator[Item]:
    """The inputs of ``restoreflow restore --input FOLDER --degrade RECIPE --seed SEED``."""
    for path in image_files(folder):
        image_id = path.relative_to(folder).as_posix()
        clean = pairs.prepare_clean(images.decode(path.read_bytes()).pixels, recipe)
        pair = next(pairs.make_pairs(clean, recipe=recipe, settings=pairs.PatchSettings(patch_size=0),
                                     seed=seed, image_id=image_id))
        steps = pair.degradation["steps"]
        yield Item(image_id, pair.clean, images.as_float(pair.degraded), pair.mask, steps)


def score_outputs(items: Sequence[Item], outputs: Sequence[np.ndarray], recipe: recipes.Recipe,
                  seconds: float) -> Score:
    """Scores float outputs (rounded to the clean image's dtype first) as the restore job does."""
    from pipelines.restore.quality import score_pair, upscale_like

    per_image, ssims = {}, []
    for item, output in zip(items, outputs):
        degraded_pixels = images.from_float(item.degraded, item.clean.dtype)
        before = score_pair(item.clean, upscale_like(degraded_pixels, item.clean), task=recipe.task,
                            sr_factor=recipe.sr_factor)
        after = score_pair(item.clean, images.from_float(output, item.clean.dtype), task=recipe.task,
                           sr_factor=recipe.sr_factor)
        per_image[item.image_id] = (before["psnr_db"], after["psnr_db"])
        ssims.append(after["ssim"])
    befores, afters = zip(*per_image.values())
    return Score(psnr_db=float(np.mean(afters)), ssim=float(np.mean(ssims)), psnr_db_degraded=float(np.mean(befores)),
                 images=len(items), seconds=seconds, per_image=per_image)


def run_baseline(items: Sequence[Item], restore: Callable[[Item], np.ndarray], recipe: recipes.Recipe) -> Score:
    start = time.perf_counter()
    outputs = [restore(item) for item in items]
    return score_outputs(items, outputs, recipe, time.perf_counter() - start)


# --- the baselines: Item -> float32 HWC restored image ------------------------------------


def bicubic(item: Item) -> np.ndarray:
    """Bicubic upscaling to the clean size (Pillow's kernel, as the degradation's downscale)."""
    return ops.resize(item.degraded, height=item.clean.shape[0], width=item.clean.shape[1])


def cbm3d(noise_sigma: float) -> Callable[[Item], np.ndarray]:
    """CBM3D (PyPI ``bm3d``, ``bm3d_rgb``) with the true noise sigma (0-255 scale)."""
    import bm3d

    def restore(item: Item) -> np.ndarray:
        return np.asarray(bm3d.bm3d_rgb(item.degraded, sigma_psd=noise_sigma / 255.0), np.float32)

    return restore


def biharmonic(item: Item) -> np.ndarray:
    """Biharmonic inpainting (scikit-image) of the masked pixels; known pixels are kept."""
    from skimage.restoration import inpaint_biharmonic

    restored = inpaint_biharmonic(item.degraded, item.mask[..., 0].astype(bool), channel_axis=-1)
    return np.asarray(restored, np.float32)


def unsharp(amount: float, radius: float) -> Callable[[Item], np.ndarray]:
    """Unsharp masking (scikit-image), the classical answer to a soft photograph."""
    from skimage.filters import unsharp_mask

    def restore(item: Item) -> np.ndarray:
        # channel_axis=2, not -1: scikit-image 0.22-0.26 returns garbage for a negative axis
        # (scikit-image issue 7264, fixed by PR 8085, not yet released).
        sharpened = unsharp_mask(np.clip(item.degraded, 0.0, 1.0), radius=radius, amount=amount, channel_axis=2)
        return np.asarray(sharpened, np.float32)

    return restore


def true_blur_kernel(steps: list[dict]) -> np.ndarray:
    """The Gaussian blur kernel the recipe applied to this image (from its sampled steps)."""
    blurs = [s for s in steps if s["op"] == "gaussian_blur"]
    if len(blurs) != 1:
        raise ValueError(f"expected exactly one gaussian_blur step, found {[s['op'] for s in steps]}")
    blur = blurs[0]
    return ops.gaussian_kernel(sigma_x=blur["sigma_x"], sigma_y=blur["sigma_y"], theta=blur["theta"])


def richardson_lucy(item: Item, iterations: int) -> np.ndarray:
    """Non-blind Richardson-Lucy (scikit-image) with the true kernel, per channel. The image is
    mirrored by the kernel's size first (as the blur mirrored it), so the deconvolution's
    zero-padded FFT does not ring at the borders; the margin is cut away afterwards."""
    from skimage.restoration import richardson_lucy as skimage_rl

    kernel = true_blur_kernel(item.steps)
    pad = kernel.shape[0]
    padded = np.pad(np.clip(item.degraded, 0.0, 1.0), ((pad, pad), (pad, pad), (0, 0)), mode="reflect")
    channels = [skimage_rl(padded[..., c], kernel, num_iter=iterations) for c in range(padded.shape[-1])]
    return np.stack(channels, axis=-1)[pad:-pad, pad:-pad].astype(np.float32)


def best_iterations(scores: dict[int, Score]) -> int:
    """The iteration count with the highest mean PSNR over the set (the fewest on a tie)."""
    return max(sorted(scores), key=lambda n: (scores[n].psnr_db, -n))


def search_iterations(grid: Sequence[int], evaluate: Callable[[int], Score]) -> dict[int, Score]:
    """Scores the counts of ``grid`` in increasing order until one scores below the best so
    far: Richardson-Lucy's PSNR rises, then falls once it starts fitting the noise, so the
    larger (slower) counts cannot win."""
    scores: dict[int, Score] = {}
    for count in sorted(grid):
        scores[count] = evaluate(count)
        if scores[count].psnr_db < scores[best_iterations(scores)].psnr_db:
            break
    return scores


def richardson_lucy_best(items: Sequence[Item], recipe: recipes.Recipe,
                         grid: Sequence[int] = RL_ITERATIONS) -> tuple[int, Score, dict[int, Score]]:
    """Richardson-Lucy over ``grid``; returns (best count, its score, every count tried).
    The count is chosen on the benchmark itself: an oracle choice that favours the baseline."""
    scores = search_iterations(grid, lambda n: run_baseline(items, lambda item: richardson_lucy(item, n), recipe))
    best = best_iterations(scores)
    return best, scores[best], scores
