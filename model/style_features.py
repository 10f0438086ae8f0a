"""Style synthesis losses over a fixed feature network with random weights: nothing downloaded.

Random-weight convolutional features are a published working loss for texture and style
(Ustyuzhaninov et al., ICLR 2017 workshop; He, Wang and Hopcroft, NeurIPS 2016): what carries
the style is the Gram matrices of many rectified filter responses at several scales, not
trained filters. The network here is ``levels`` 3x3 convolutions with ReLU, each level after
a 2x2 average pool (so each sees a twice larger scale), weights drawn with He scaling from
``numpy.random.default_rng([seed, level])``: the same seed gives the same weights, and the
same loss, on every machine; the model card records the seed and widths.

Losses, per example (shape (N,), as the training loop expects):
- style: per level, the squared difference of the output's feature covariance (the Gram matrix
  of the features less their mean over positions) from the style image's, plus that of the
  mean features, each relative (the squared error over the sum of both mean squares: 0 for a
  match, 1 against an all-zero one, at most 2), so the default weights hold whatever the widths
  and levels;
- content: the squared difference of the mean-free features at ``content_level``, relative
  likewise;
- total variation: mean squared difference of neighbouring pixels (Johnson et al. 2016).

Why the mean is taken apart (issue 24; measured in bench/RESULTS.md): the ReLU responses of
[0, 1] pixels all carry the image's mean colour, so the plain Gram matrix (covariance plus
mean times mean) is dominated by that DC term. With it, a flat image of the style's mean colour
scored a better style term than another crop of the style image, and a trained network
collapsed to that flat colour. Apart, a flat image has a relative covariance error of 1 (the
most a term can cost for lacking texture) and a relative content error of 1.
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
    # Pixels not centred: a flat mid-gray image (where an untrained sigmoid output starts) would
    # give all-zero responses and no gradient; the losses take the mean out of the features.
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


def statistics(feature: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """(N, H, W, C) -> the mean features (N, C) and the covariance, the Gram matrix of the
    mean-free features (N, C, C)."""
    mean = tf.reduce_mean(feature, axis=[1, 2], keepdims=True)
    return mean[:, 0, 0, :], gram(feature - mean)


def total_variation(images) -> tf.Tensor:
    images = tf.cast(images, tf.float32)
    across = tf.reduce_mean(tf.square(images[:, :, 1:, :] - images[:, :, :-1, :]), axis=[1, 2, 3])
    down = tf.reduce_mean(tf.square(images[:, 1:, :, :] - images[:, :-1, :, :]), axis=[1, 2, 3])
    return across + down


def _mean_free(feature: tf.Tensor) -> tf.Tensor:
    return feature - tf.reduce_mean(feature, axis=[1, 2], keepdims=True)


def _relative(difference: tf.Tensor, reference: tf.Tensor) -> tf.Tensor:
    """|found - reference|^2 / (|reference|^2 + |found|^2): 0 for a match, 1 for an all-zero
    found (a flat image's covariance, or mean-free features), at most 2. Symmetric: an error
    relative to the reference alone explodes when the style has little variance (the Hubble
    deep field: mostly black), and the network then learns a flat dark image (measured)."""
    axes = list(range(1, len(difference.shape)))
    found = difference + reference
    scale = tf.reduce_mean(tf.square(reference), axis=axes) + tf.reduce_mean(tf.square(found), axis=axes)
    return tf.reduce_mean(tf.square(difference), axis=axes) / (scale + EPSILON)


@dataclasses.dataclass(frozen=True)
class RandomFeatures:
    """``features(images, levels=None)``: the seeded random network as a callable, the interface
    ``StyleLoss`` takes (``model.style_encoder.EncoderFeatures`` is the other)."""

    kernels: tuple

    def __call__(self, images, levels: int | None = None) -> list[tf.Tensor]:
        return features(images, self.kernels[:levels] if levels else self.kernels)


@dataclasses.dataclass(frozen=True)
class StyleLoss:
    """``loss(content, output, mask=None) -> (N,)``: the weighted sum of the three terms, with
    the style image's statistics computed once. ``terms`` gives them apart (for logs and tests)."""

    extract: object  # images -> per-level features: RandomFeatures or style_encoder.EncoderFeatures
    style_statistics: tuple  # per level, the style image's (mean (1, C), covariance (1, C, C)) constants
    content_level: int
    content_weight: float
    style_weight: float
    tv_weight: float

    def terms(self, content, output) -> dict[str, tf.Tensor]:
        output_features = self.extract(output)
        content_feature = self.extract(content, self.content_level + 1)[-1]
        style = []
        for feature, (mean, covariance) in zip(output_features, self.style_statistics):
            found_mean, found_covariance = statistics(feature)
            style.append(_relative(found_covariance - covariance, covariance) + _relative(found_mean - mean, mean))
        content_term = _relative(_mean_free(output_features[self.content_level]) - _mean_free(content_feature),
                                 _mean_free(content_feature))
        return {"content": content_term, "style": tf.add_n(style) / len(style), "tv": total_variation(output)}

    def __call__(self, content, output, mask=None) -> tf.Tensor:
        terms = self.terms(content, output)
        return (self.content_weight * terms["content"] + self.style_weight * terms["style"]
                + self.tv_weight * terms["tv"])


def random_features(channels: int, widths: tuple[int, ...], seed: int) -> RandomFeatures:
    return RandomFeatures(tuple(tf.constant(k) for k in feature_kernels(channels, widths, seed)))


def style_loss(style_image: np.ndarray, extract, *, content_level: int, content_weight: float,
               style_weight: float, tv_weight: float) -> StyleLoss:
    """The loss for one style image (HWC float32 on [0, 1], the model's channels) in the
    feature network ``extract`` (``random_features(...)`` or an encoder's)."""
    found = tuple(tuple(tf.constant(t.numpy()) for t in statistics(f)) for f in extract(style_image[None]))
    if not 0 <= content_level < len(found):
        raise ValueError(f"content_level {content_level} is not a level of a {len(found)}-level feature network")
    return StyleLoss(extract=extract, style_statistics=found, content_level=content_level,
                     content_weight=content_weight, style_weight=style_weight, tv_weight=tv_weight)
