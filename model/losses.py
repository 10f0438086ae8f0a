"""Training losses: one value per example, shape (N,).

A ``tf.distribute`` custom training loop averages them over the global batch itself with
``tf.nn.compute_average_loss``, so nothing here reduces over the batch.

Every loss takes ``(clean, restored, weight=None)``: images (N, H, W, C) on [0, 1], and an
optional per-pixel weight map (N, H, W, 1) - inpainting weights the masked region more. The
weighted mean divides by the sum of the weights (an all-zero weight map gives 0). ``restored``
is the raw model output: nothing is clipped, so gradients reach every pixel.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import tensorflow as tf

from model.metrics import ssim_map, window_mean
from restoreflow.configs import ConfigError
from restoreflow.ssim_window import SSIM_WINDOW, SsimWindow

Loss = Callable[..., tf.Tensor]


def _weighted_mean(values: tf.Tensor, weight) -> tf.Tensor:
    """Per-example mean of ``values`` (N, h, w, C), weighted by ``weight`` (N, h, w, 1) if given."""
    if weight is None:
        return tf.reduce_mean(values, axis=[1, 2, 3])
    weight = tf.broadcast_to(tf.cast(weight, values.dtype), tf.shape(values))
    return tf.math.divide_no_nan(
        tf.reduce_sum(values * weight, axis=[1, 2, 3]), tf.reduce_sum(weight, axis=[1, 2, 3])
    )


def _difference(clean, restored) -> tf.Tensor:
    return tf.cast(restored, tf.float32) - tf.cast(clean, tf.float32)


def mse(clean, restored, weight=None) -> tf.Tensor:
    """Mean squared error on the [0, 1] scale (DnCNN's loss, up to a factor 1/2)."""
    return _weighted_mean(tf.square(_difference(clean, restored)), weight)


def l1(clean, restored, weight=None) -> tf.Tensor:
    """Mean absolute error on the [0, 1] scale."""
    return _weighted_mean(tf.abs(_difference(clean, restored)), weight)


def charbonnier(clean, restored, weight=None, *, eps: float = 1e-3) -> tf.Tensor:
    """Charbonnier penalty mean(sqrt(d^2 + eps^2)) - eps: a smooth L1 (Lai et al., LapSRN 2017).

    eps = 1e-3 as in LapSRN. The constant - eps makes identical images score 0; it changes
    no gradient.
    """
    penalty = tf.sqrt(tf.square(_difference(clean, restored)) + eps**2) - eps
    return _weighted_mean(penalty, weight)


def ssim_loss(clean, restored, weight=None, *, max_val: float = 1.0, window: SsimWindow = SSIM_WINDOW) -> tf.Tensor:
    """1 - SSIM (the metric's window and constants), in [0, 2]; images need sides >= window.size.

    With a weight map, each SSIM value (one per window position) is weighted by the weight
    averaged under the same Gaussian window, i.e. by how much weighted pixels it describes.
    """
    similarity = ssim_map(clean, restored, max_val=max_val, window=window)
    if weight is not None:
        weight = window_mean(tf.cast(weight, tf.float32), window)
    return 1.0 - _weighted_mean(similarity, weight)


LOSSES: dict[str, Loss] = {
    "charbonnier": charbonnier,
    "l1": l1,
    "mse": mse,
    "ssim": ssim_loss,
}


def build_loss(
    weights: Mapping[str, float], *, masked_weight: float = 1.0, key: str = "train.loss"
) -> Callable:
    """A loss ``(clean, restored, mask=None) -> (N,)``: the weighted sum of the named losses.

    weights: loss name (a key of LOSSES) -> its factor, e.g. {"l1": 1.0, "ssim": 0.2}.
    masked_weight: with a mask (N, H, W, 1) in {0, 1}, pixels inside it count
    ``masked_weight`` times as much as the others: per-pixel weight 1 + (masked_weight - 1) * mask.
    key: where ``weights`` sits in the configuration, for error messages (``masked_weight``
    is named as its sibling: ``train.masked_weight``).
    Raises ConfigError naming the key for unknown names or negative factors.
    """
    if not weights:
        raise ConfigError(f"{key}: name at least one loss (known: {', '.join(sorted(LOSSES))})")
    for name, factor in weights.items():
        if name not in LOSSES:
            raise ConfigError(f"{key}.{name}: unknown loss (known: {', '.join(sorted(LOSSES))})")
        if factor < 0:
            raise ConfigError(f"{key}.{name}: the factor must be >= 0, got {factor}")
    if masked_weight < 0:
        section = key.rpartition(".")[0]
        where = f"{section}.masked_weight" if section else "masked_weight"
        raise ConfigError(f"{where}: must be >= 0, got {masked_weight}")
    terms = sorted(weights.items())

    def loss(clean, restored, mask=None) -> tf.Tensor:
        weight = None
        if mask is not None:
            weight = 1.0 + (masked_weight - 1.0) * tf.cast(mask, tf.float32)
        return tf.add_n([factor * LOSSES[name](clean, restored, weight) for name, factor in terms])

    return loss
