"""Style synthesis losses over a fixed feature network with random weights: nothing downloaded.

Random-weight convolutional features are a published working loss for texture and style
(Ustyuzhaninov et al., ICLR 2017 workshop; He, Wang and Hopcroft, NeurIPS 2016): what carries
the style is the Gram matrices of many rectified filter responses at several scales, not
trained filters. The network here is ``levels`` 3x3 convolutions with ReLU, each level after
a 2x2 average pool (so each sees a twice larger scale), weights drawn with He scaling from
``numpy.random.default_rng([seed, level])``: the same seed gives the same weights, and the
same loss, on every machine; the model card records the seed and widths.

Losses, per example (shape (N,), as the training loop expects):
- style: per level, the mean squared difference of the output's Gram matrix from the style
  image's, divided by the mean square of the style image's (a relative error, so the default
  weights hold whatever the widths; the deepest levels' Grams are otherwise orders larger);
- content: the mean squared feature difference at ``content_level``, relative likewise;
- total variation: mean squared difference of neighbouring pixels (Johnson et al. 2016).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

EPSILON = 1e-8  # keeps the relative losses finite on a flat (all-zero feature) image


def feature_kernels(channels: int, widths: tuple[int, ...], seed: int) -> list[np.ndarray]:
    """The network's 3x3 kernels (HWIO, float32), drawn once from the seed."""
    kernels, fan_in = [], channels
    for level, width in enumerate(widths):
        rng = np.random.default_rng([seed, level])
        scale = np.sqrt(2.0 / (9 * fan_in))  # He: keeps the ReLU responses' scale level to level
        kernels.append((rng.standard_normal((3, 3, fan_in, width)) * scale).astype(np.float32))
        fan_in = width
    return kernels


def features(images, kernels) -> list[tf.Tensor]:
    """Images (N, H, W, C) on [0, 1] -> the ReLU responses of every level."""
    # Not centred: on a flat mid-gray image (where an untrained sigmoid output starts) centred
    # features are all 0 and so is the style gradient (measured on the tests' tiny network, 40
    # steps: centred, the style term went 0.97 -> 0.99; uncentred, 3.9 -> 0.97).
    x = tf.cast(images, tf.float32)
    found = []
    for level, kernel in enumerate(kernels):
        if level:
            x = tf.nn.avg_pool2d(x, 2, 2, "VALID")
        x = tf.nn.relu(tf.nn.conv2d(x, kernel, 1, "SAME"))
        found.append(x)
    return found


def gram(feature: tf.Tensor) -> tf.Tensor:
    """(N, H, W, C) -> (N, C, C): channel co-activations averaged over positions, so a style
    image and a patch of another size compare."""
    pixels = tf.cast(tf.shape(feature)[1] * tf.shape(feature)[2], tf.float32)
    return tf.einsum("nhwc,nhwd->ncd", feature, feature) / pixels


def total_variation(images) -> tf.Tensor:
    images = tf.cast(images, tf.float32)
    across = tf.reduce_mean(tf.square(images[:, :, 1:, :] - images[:, :, :-1, :]), axis=[1, 2, 3])
    down = tf.reduce_mean(tf.square(images[:, 1:, :, :] - images[:, :-1, :, :]), axis=[1, 2, 3])
    return across + down


def _relative(difference: tf.Tensor, reference: tf.Tensor) -> tf.Tensor:
    axes = list(range(1, len(difference.shape)))
    return tf.reduce_mean(tf.square(difference), axis=axes) / (tf.reduce_mean(tf.square(reference), axis=axes) + EPSILON)


@dataclasses.dataclass(frozen=True)
class StyleLoss:
    """``loss(content, output, mask=None) -> (N,)``: the weighted sum of the three terms, with
    the style image's Gram matrices computed once. ``terms`` gives them apart (for logs and tests)."""

    kernels: tuple
    style_grams: tuple  # per level, (1, C, C) constants
    content_level: int
    content_weight: float
    style_weight: float
    tv_weight: float

    def terms(self, content, output) -> dict[str, tf.Tensor]:
        output_features = features(output, self.kernels)
        content_feature = features(content, self.kernels[: self.content_level + 1])[-1]
        style = tf.add_n([_relative(gram(f) - g, g) for f, g in zip(output_features, self.style_grams)])
        content_term = _relative(output_features[self.content_level] - content_feature, content_feature)
        return {"content": content_term, "style": style / len(self.style_grams), "tv": total_variation(output)}

    def __call__(self, content, output, mask=None) -> tf.Tensor:
        terms = self.terms(content, output)
        return (self.content_weight * terms["content"] + self.style_weight * terms["style"]
                + self.tv_weight * terms["tv"])


def style_loss(style_image: np.ndarray, *, widths: tuple[int, ...], seed: int, content_level: int,
               content_weight: float, style_weight: float, tv_weight: float) -> StyleLoss:
    """The loss for one style image (HWC float32 on [0, 1], the model's channels)."""
    kernels = tuple(tf.constant(k) for k in feature_kernels(style_image.shape[-1], widths, seed))
    grams = tuple(tf.constant(gram(f).numpy()) for f in features(style_image[None], kernels))
    return StyleLoss(kernels=kernels, style_grams=grams, content_level=content_level,
                     content_weight=content_weight, style_weight=style_weight, tv_weight=tv_weight)
