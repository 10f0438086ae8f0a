"""The generator benchmark's measures (issue 25): a fixed feature network, KID, and the
distance of each image to its nearest neighbour in a reference set.

Features: the seeded random-weight network of style synthesis (``model.style_features``,
widths 32-64-128-256, seed 0: the style default), each level's ReLU responses pooled to their
mean and standard deviation over positions and concatenated (960 numbers for 4 levels). Nothing
is downloaded, so the figures compare within this project only, not with published FID/KID.

KID (Bińkowski et al., ICLR 2018): the unbiased estimate of the squared MMD with the cubic
polynomial kernel k(x, y) = (x.y / d + 1)^3, averaged over random subsets of both sets (mean and
standard deviation over the subsets). Features are first centred and scaled with the reference
set's statistics (``Standardiser``: random ReLU features are not on the unit scale that the
kernel's ``/ d + 1`` assumes); every set of one run is compared in that one space.
"""

from __future__ import annotations

import dataclasses

import numpy as np

FEATURE_WIDTHS = (32, 64, 128, 256)
FEATURE_SEED = 0


def pooled_features(images: np.ndarray, *, widths=FEATURE_WIDTHS, seed: int = FEATURE_SEED,
                    batch: int = 256) -> np.ndarray:
    """uint8 images (N, H, W, C) -> (N, 2 * sum(widths)) float64: per level, the mean and the
    standard deviation of each channel's responses over positions."""
    import tensorflow as tf

    from model.style_features import feature_kernels, features

    kernels = [tf.constant(k) for k in feature_kernels(images.shape[-1], tuple(widths), seed)]
    pooled = []
    for start in range(0, len(images), batch):
        chunk = tf.constant(images[start:start + batch], tf.float32) / 255.0
        levels = features(chunk, kernels)
        stats = [tf.concat([tf.reduce_mean(f, axis=[1, 2]), tf.math.reduce_std(f, axis=[1, 2])], axis=-1)
                 for f in levels]
        pooled.append(tf.concat(stats, axis=-1).numpy().astype(np.float64))
    return np.concatenate(pooled)


@dataclasses.dataclass(frozen=True)
class Standardiser:
    """(x - mean) / deviation per dimension, with a reference set's statistics; each deviation
    at least FLOOR x their median, so that a nearly dead ReLU channel (a tiny deviation in the
    reference) does not blow up the distance of a set that lights it. Measured on the benchmark's
    sets (the floor, a fitted Gaussian, a DCGAN; 50 subsets of 500): one global scale left the
    high-variance texture dimensions to dominate and gave the floor 109 ± 111 (x 1000); per
    dimension with this floor, 62 ± 41, the Gaussian's 396 ± 199 became 207 ± 64."""

    mean: np.ndarray
    deviation: np.ndarray

    FLOOR = 0.1

    @classmethod
    def of(cls, reference: np.ndarray) -> Standardiser:
        deviation = reference.std(axis=0)
        least = cls.FLOOR * float(np.median(deviation))
        return cls(reference.mean(axis=0), np.maximum(deviation, least if least > 0 else 1.0))

    def __call__(self, features: np.ndarray) -> np.ndarray:
        return (features - self.mean) / self.deviation


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """The unbiased squared MMD of two feature sets (rows) with the cubic polynomial kernel."""
    d = x.shape[1]
    kxx, kyy, kxy = ((a @ b.T / d + 1.0) ** 3 for a, b in ((x, x), (y, y), (x, y)))
    m, n = len(x), len(y)
    within_x = (kxx.sum() - np.trace(kxx)) / (m * (m - 1))
    within_y = (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
    return float(within_x + within_y - 2.0 * kxy.mean())


def kid_subsets(x: np.ndarray, y: np.ndarray, *, subsets: int = 50, subset_size: int = 500,
                seed: int = 0) -> np.ndarray:
    """The unbiased MMD^2 on each of ``subsets`` random subsets of each set, each of
    min(subset_size, len) rows drawn without replacement (Bińkowski et al.'s estimator). Sets
    of one length compared with one ``y`` and ``seed`` get the same draws, subset by subset:
    their values pair up (``paired``)."""
    size = min(subset_size, len(x), len(y))
    if size < 2:
        raise ValueError(f"KID needs at least 2 images on each side, got {len(x)} and {len(y)}")
    rng = np.random.default_rng(seed)
    return np.array([mmd2_unbiased(x[rng.choice(len(x), size, replace=False)],
                                   y[rng.choice(len(y), size, replace=False)]) for _ in range(subsets)])


def kid(x: np.ndarray, y: np.ndarray, *, subsets: int = 50, subset_size: int = 500,
        seed: int = 0) -> tuple[float, float]:
    """(mean, std) of ``kid_subsets``."""
    values = kid_subsets(x, y, subsets=subsets, subset_size=subset_size, seed=seed)
    return float(np.mean(values)), float(np.std(values))


def paired(values: np.ndarray, baseline: np.ndarray) -> tuple[float, float, float]:
    """(mean, std, share of subsets below the baseline) of a set's subset KIDs minus a
    baseline's drawn alike: the spread of the difference, not of each set's own KID, says
    whether one ranks below the other (both sides share each subset's reference rows)."""
    if values.shape != baseline.shape:
        raise ValueError(f"paired KIDs need as many subsets on each side, got {len(values)} and {len(baseline)}")
    difference = values - baseline
    return float(difference.mean()), float(difference.std()), float(np.mean(difference < 0))


def nearest_distances(queries: np.ndarray, reference: np.ndarray, *, batch: int = 256) -> np.ndarray:
    """Euclidean distance of each query row to its nearest reference row (float64, (N,)).
    Images are flattened; pixel distances are in 0-255 units divided by sqrt(pixels), i.e. the
    root-mean-square difference per value."""
    q = queries.reshape(len(queries), -1).astype(np.float32)
    r = reference.reshape(len(reference), -1).astype(np.float32)
    r_squared = np.einsum("ij,ij->i", r, r)
    found = np.empty(len(q))
    for start in range(0, len(q), batch):
        chunk = q[start:start + batch]
        nearest = (r_squared[None, :] - 2.0 * chunk @ r.T).argmin(axis=1)  # |q|^2 is the same for every r
        # float32 finds the neighbour fast; its distance, in float64, is exact (0 for a copy)
        exact = chunk.astype(np.float64) - r[nearest].astype(np.float64)
        found[start:start + batch] = np.sqrt(np.einsum("ij,ij->i", exact, exact))
    return found / np.sqrt(q.shape[1])
