"""The noise-conditional U-Net of a diffusion model, and its two custom layers.

The network is the raw F of EDM (Karras et al. 2022): inputs ``noisy`` (N, H, W, C), already
scaled by c_in, and ``noise_level`` (N, 1), c_noise = ln(sigma) / 4; output F (N, H, W, C).
The preconditioning that turns F into a denoiser D(x; sigma) lives in ``model.diffusion``, so
the same network serves any sigma_data. The noise level is embedded (sinusoids, then two dense
layers) and modulates every residual block (FiLM: a scale and a shift per channel).

H and W must be multiples of 2**levels (the trainer checks the patch size); a generator is
never tiled, so the card's receptive field is 0 and its size multiple 2**levels.
"""

from __future__ import annotations

import math

import keras
from keras import ops

from model.geometry import check_diffusion_unet_args

PACKAGE = "restoreflow"
OUTPUT_DTYPE = "float32"


@keras.saving.register_keras_serializable(package=PACKAGE)
class NoiseEmbedding(keras.layers.Layer):
    """(N, 1) noise levels -> (N, dim) sinusoids of geometrically spaced frequencies (the
    Transformer's positional embedding), so that nearby levels get nearby embeddings."""

    def __init__(self, dim: int, **kwargs):
        super().__init__(**kwargs)
        if int(dim) < 2 or int(dim) % 2:
            raise ValueError(f"dim must be an even number >= 2, got {dim}")
        self.dim = int(dim)

    def call(self, levels):
        half = self.dim // 2
        frequencies = ops.exp(-math.log(10000.0) * ops.arange(half, dtype="float32") / half)
        # c_noise = ln(sigma) / 4 spans about [-1.6, 1.1]: scaled by 100, the fastest sinusoid turns
        # about 40 times over that span and the slowest hardly at all
        angles = ops.cast(levels, "float32") * frequencies[None, :] * 100.0
        return ops.concatenate([ops.sin(angles), ops.cos(angles)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.dim)

    def get_config(self):
        return {**super().get_config(), "dim": self.dim}


@keras.saving.register_keras_serializable(package=PACKAGE)
class FiLM(keras.layers.Layer):
    """[features (N, H, W, C), scale_and_shift (N, 2C)] -> features * (1 + scale) + shift."""

    def call(self, inputs):
        features, scale_shift = inputs
        scale, shift = ops.split(scale_shift, 2, axis=-1)
        return features * (1.0 + scale[:, None, None, :]) + shift[:, None, None, :]

    def compute_output_shape(self, input_shapes):
        return input_shapes[0]


def _block(x, embedding, filters: int, name: str):
    """GroupNorm-SiLU-conv, FiLM by the noise level, GroupNorm-SiLU-conv, plus the input
    (projected by a 1x1 conv when the width changes). The second conv starts at zero, so
    every block starts as the identity."""
    norm = dict(groups=8, epsilon=1e-5)
    h = keras.layers.GroupNormalization(**norm, name=f"{name}_norm1")(x)
    h = keras.layers.Activation("silu", name=f"{name}_act1")(h)
    h = keras.layers.Conv2D(filters, 3, padding="same", name=f"{name}_conv1")(h)
    scale_shift = keras.layers.Dense(2 * filters, kernel_initializer="zeros", name=f"{name}_film_dense")(embedding)
    h = keras.layers.GroupNormalization(**norm, name=f"{name}_norm2")(h)
    h = FiLM(name=f"{name}_film")([h, scale_shift])
    h = keras.layers.Activation("silu", name=f"{name}_act2")(h)
    h = keras.layers.Conv2D(filters, 3, padding="same", kernel_initializer="zeros", name=f"{name}_conv2")(h)
    if x.shape[-1] != filters:
        x = keras.layers.Conv2D(filters, 1, name=f"{name}_skip")(x)
    return keras.layers.Add(name=f"{name}_add")([x, h])


def diffusion_unet(*, channels: int = 3, width: int = 32, levels: int = 2, blocks: int = 2) -> keras.Model:
    """A U-Net F(noisy, noise_level) for EDM: head conv; per level ``blocks`` conditioned
    residual blocks then a stride-2 conv down; ``blocks`` at the bottom; per level nearest
    upsampling + conv, concatenated with the skip of that level, then ``blocks``; tail conv
    (zero-initialised: F starts at 0, so D starts as c_skip * x). Level l has width * 2**l
    channels; width 32, levels 2, blocks 2 is about 1.4 M parameters."""
    check_diffusion_unet_args(channels, width, levels, blocks)
    noisy = keras.Input((None, None, channels), name="noisy")
    level_in = keras.Input((1,), name="noise_level")
    embedding = NoiseEmbedding(width, name="noise_embedding")(level_in)
    embedding = keras.layers.Dense(4 * width, activation="silu", name="embedding_dense1")(embedding)
    embedding = keras.layers.Dense(4 * width, activation="silu", name="embedding_dense2")(embedding)
    x = keras.layers.Conv2D(width, 3, padding="same", name="head")(noisy)
    skips = []
    for level in range(levels):
        for b in range(blocks):
            x = _block(x, embedding, width * 2**level, f"down{level}_block{b + 1}")
        skips.append(x)
        x = keras.layers.Conv2D(width * 2 ** (level + 1), 3, strides=2, padding="same", name=f"downsample{level}")(x)
    for b in range(blocks):
        x = _block(x, embedding, width * 2**levels, f"bottom_block{b + 1}")
    for level in reversed(range(levels)):
        x = keras.layers.UpSampling2D(2, interpolation="nearest", name=f"upsample{level}")(x)
        x = keras.layers.Conv2D(width * 2**level, 3, padding="same", name=f"upsample{level}_conv")(x)
        x = keras.layers.Concatenate(name=f"skip{level}")([x, skips[level]])
        for b in range(blocks):
            x = _block(x, embedding, width * 2**level, f"up{level}_block{b + 1}")
    x = keras.layers.GroupNormalization(groups=8, name="tail_norm")(x)
    x = keras.layers.Activation("silu", name="tail_act")(x)
    outputs = keras.layers.Conv2D(channels, 3, padding="same", kernel_initializer="zeros", name="tail",
                                  dtype=OUTPUT_DTYPE)(x)
    return keras.Model([noisy, level_in], outputs, name="diffusion_unet")
