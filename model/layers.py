"""Custom Keras layers used by the architectures.

Each layer uses ``keras.ops`` only (so it runs on any Keras backend), accepts any spatial
size (H and W are read at run time, never fixed when the model is built), implements
``get_config``, and is registered under the package name ``restoreflow``, so that
``keras.saving.load_model`` finds it once this module is imported.

Tensors are NHWC throughout.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

PACKAGE = "restoreflow"


def _scaled(size: int | None, factor: int) -> int | None:
    """A static spatial size times ``factor``; unknown (None) stays unknown."""
    return None if size is None else size * factor


def _padded(size: int | None, multiple: int) -> int | None:
    return None if size is None else -(-size // multiple) * multiple


@keras.saving.register_keras_serializable(package=PACKAGE)
class PadToMultiple(keras.layers.Layer):
    """Pads H and W at the bottom and right up to the next multiple of ``multiple``.

    Why bottom/right and not centred: the strided grid of a U-Net then stays anchored at the
    top-left pixel whatever the image size, so two tiles whose offsets differ by a multiple
    of ``multiple`` see exactly the same grid (the ``size_multiple`` promise of the card).

    The padding replicates the last row/column (edge mode): unlike reflection, it works for
    any image size, even a single pixel, and unlike zeros it adds no artificial dark border.
    It is built from a gather with clipped indices, which keeps H and W dynamic.
    """

    def __init__(self, multiple: int, **kwargs):
        super().__init__(**kwargs)
        if int(multiple) < 1:
            raise ValueError(f"multiple must be a positive integer, got {multiple}")
        self.multiple = int(multiple)

    def call(self, images):
        shape = ops.shape(images)
        for axis in (1, 2):
            size = shape[axis]
            target = (size + self.multiple - 1) // self.multiple * self.multiple
            indices = ops.minimum(ops.arange(target), size - 1)
            images = ops.take(images, indices, axis=axis)
        return images

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        return (batch, _padded(height, self.multiple), _padded(width, self.multiple), channels)

    def get_config(self):
        return {**super().get_config(), "multiple": self.multiple}


@keras.saving.register_keras_serializable(package=PACKAGE)
class CropToMatch(keras.layers.Layer):
    """``[images, reference]`` -> ``images`` cropped (top-left kept) to the reference's H, W.

    The inverse of :class:`PadToMultiple`: it removes the rows and columns that were added at
    the bottom and right.
    """

    def call(self, inputs):
        images, reference = inputs
        shape = ops.shape(reference)
        return images[:, : shape[1], : shape[2], :]

    def compute_output_shape(self, input_shapes):
        images_shape, reference_shape = input_shapes
        return (images_shape[0], reference_shape[1], reference_shape[2], images_shape[3])


@keras.saving.register_keras_serializable(package=PACKAGE)
class PixelShuffle(keras.layers.Layer):
    """Depth to space: (N, H, W, C*r*r) -> (N, H*r, W*r, C), with r = ``scale``.

    The channel order is TensorFlow's ``depth_to_space`` (NHWC): input channel
    ``(dy * r + dx) * C + c`` becomes output pixel (y*r + dy, x*r + dx), channel c.
    (PyTorch's ``PixelShuffle`` orders the channels ``c * r * r + dy * r + dx`` instead, which
    matters only when importing weights trained there.)
    """

    def __init__(self, scale: int, **kwargs):
        super().__init__(**kwargs)
        if int(scale) < 1:
            raise ValueError(f"scale must be a positive integer, got {scale}")
        self.scale = int(scale)

    def call(self, features):
        r = self.scale
        shape = ops.shape(features)
        height, width, depth = shape[1], shape[2], shape[3]
        channels = depth // (r * r)
        blocks = ops.reshape(features, (-1, height, width, r, r, channels))
        # (N, H, dy, W, dx, C): rows then columns of each r x r block interleave with H and W.
        blocks = ops.transpose(blocks, (0, 1, 3, 2, 4, 5))
        return ops.reshape(blocks, (-1, height * r, width * r, channels))

    def compute_output_shape(self, input_shape):
        batch, height, width, depth = input_shape
        if depth is not None and depth % (self.scale**2):
            raise ValueError(f"PixelShuffle({self.scale}) needs channels divisible by {self.scale**2}, got {depth}")
        channels = None if depth is None else depth // self.scale**2
        return (batch, _scaled(height, self.scale), _scaled(width, self.scale), channels)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


def cubic_weight(distance: float, a: float = -0.5) -> float:
    """Keys' cubic convolution kernel (a = -0.5, as MATLAB's imresize and Pillow)."""
    x = abs(distance)
    if x <= 1:
        return (a + 2) * x**3 - (a + 3) * x**2 + 1
    if x < 2:
        return a * x**3 - 5 * a * x**2 + 8 * a * x - 4 * a
    return 0.0


def bicubic_phase_weights(scale: int) -> np.ndarray:
    """(scale, 5) weights: output pixel ``scale * i + p`` = sum_k w[p, k] * input[i + k - 2].

    With pixel centres aligned (output j sits at input coordinate (j + 0.5) / scale - 0.5),
    phase p lies ``(p + 0.5) / scale - 0.5`` from input pixel i, within half a pixel, so five
    taps always cover the kernel's support of 4.
    """
    weights = np.zeros((scale, 5), np.float64)
    for p in range(scale):
        offset = (p + 0.5) / scale - 0.5
        for k in range(-2, 3):
            weights[p, k + 2] = cubic_weight(k - offset)
    return weights


@keras.saving.register_keras_serializable(package=PACKAGE)
class UpscaleBy(keras.layers.Layer):
    """Bicubic upsampling by an integer ``scale`` to exactly (H*scale, W*scale), with mirrored
    borders (MATLAB's ``imresize`` convention).

    Keras' ``UpSampling2D(interpolation="bicubic")`` and ``ops.image.resize`` check the size
    in Python, which fails inside a ``tf.function`` whose H and W are unknown (the restore
    job's tiles). Upscaling by an integer factor is a fixed 5x5 filter per output phase, so
    this is a depthwise convolution followed by depth-to-space: no run-time sizes needed.
    """

    def __init__(self, scale: int, **kwargs):
        super().__init__(**kwargs)
        if int(scale) < 1:
            raise ValueError(f"scale must be a positive integer, got {scale}")
        self.scale = int(scale)

    def build(self, input_shape):
        channels = input_shape[-1]
        weights = bicubic_phase_weights(self.scale)
        # kernel[ky, kx, m] for output phase m = py * scale + px: separable product.
        phases = np.einsum("pi,qj->ijpq", weights, weights).reshape(5, 5, self.scale**2)
        kernel = np.repeat(phases[:, :, None, :], channels, axis=2)  # (5, 5, C, scale**2)
        self._kernel = ops.convert_to_tensor(kernel.astype("float32"))

    def call(self, images):
        r = self.scale
        padded = ops.pad(images, [[0, 0], [2, 2], [2, 2], [0, 0]], mode="symmetric")
        phases = ops.depthwise_conv(padded, ops.cast(self._kernel, images.dtype), strides=1, padding="valid")
        shape = ops.shape(images)
        height, width, channels = shape[1], shape[2], shape[3]
        # depthwise output channel c * r*r + (py * r + px) -> pixel (y*r + py, x*r + px), channel c
        blocks = ops.reshape(phases, (-1, height, width, channels, r, r))
        blocks = ops.transpose(blocks, (0, 1, 4, 2, 5, 3))
        return ops.reshape(blocks, (-1, height * r, width * r, channels))

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        return (batch, _scaled(height, self.scale), _scaled(width, self.scale), channels)

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


@keras.saving.register_keras_serializable(package=PACKAGE)
class SplitMask(keras.layers.Layer):
    """(N, H, W, C+1) -> ``[image (N, H, W, C), mask (N, H, W, 1)]``: the mask is the last channel.

    An explicit layer (rather than slicing a Keras tensor in the functional graph) so the
    saved model names what the split means.
    """

    def call(self, inputs):
        return [inputs[..., :-1], inputs[..., -1:]]

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        image_channels = None if channels is None else channels - 1
        return [(batch, height, width, image_channels), (batch, height, width, 1)]


@keras.saving.register_keras_serializable(package=PACKAGE)
class KeepKnownPixels(keras.layers.Layer):
    """``[prediction, image, mask]`` -> ``mask * prediction + (1 - mask) * image``.

    mask = 1 marks a missing pixel. Where the mask is 0 the result is the input image exactly
    (1 * image + 0 * prediction is exact in floating point for finite predictions), so an
    inpainting model never alters a pixel it was given; a soft mask in (0, 1) blends.
    """

    def call(self, inputs):
        prediction, image, mask = inputs
        mask = ops.cast(mask, prediction.dtype)
        return mask * prediction + (1.0 - mask) * ops.cast(image, prediction.dtype)

    def compute_output_shape(self, input_shapes):
        return input_shapes[0]
