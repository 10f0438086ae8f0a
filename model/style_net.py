"""The feed-forward style network (Johnson, Alahi and Fei-Fei, ECCV 2016, with the changes
that later work found better): content image in [0, 1] -> the image in the learned style.

A 9x9 convolution, two stride-2 convolutions down, ``blocks`` residual blocks at a quarter of
the resolution, two resize-convolutions up (nearest-neighbour x2 then a 3x3 convolution: no
checkerboard, as transposed convolutions leave; Odena et al. 2016) and a 9x9 convolution to
the image, through a sigmoid into [0, 1]. Width 32 with 5 blocks has about 1.7 M parameters.

Normalisation is layer normalisation over each pixel's channels, not instance normalisation:
the latter's statistics span the whole image, so a tile would come out unlike the same region
of the whole image and the restore job's tiling would show seams. A per-pixel normalisation
keeps the output a function of a bounded neighbourhood (``model.geometry``'s radius).
"""

from __future__ import annotations

import keras

from model.geometry import STYLE_NET_MULTIPLE, check_style_net_args
from model.layers import CropToMatch, PadToMultiple

OUTPUT_DTYPE = "float32"


def _conv_norm_relu(x, filters: int, kernel_size: int, name: str, *, strides: int = 1, relu: bool = True):
    x = keras.layers.Conv2D(filters, kernel_size, strides=strides, padding="same", kernel_initializer="he_normal",
                            name=f"{name}_conv")(x)
    x = keras.layers.LayerNormalization(axis=-1, epsilon=1e-5, name=f"{name}_norm")(x)
    return keras.layers.ReLU(name=f"{name}_relu")(x) if relu else x


def _residual_block(x, filters: int, name: str):
    y = _conv_norm_relu(x, filters, 3, f"{name}_a")
    y = _conv_norm_relu(y, filters, 3, f"{name}_b", relu=False)
    return keras.layers.Add(name=f"{name}_add")([x, y])


def _resize_conv(x, filters: int, name: str):
    x = keras.layers.UpSampling2D(2, interpolation="nearest", name=f"{name}_resize")(x)
    return _conv_norm_relu(x, filters, 3, name)


def style_net(*, channels: int = 3, width: int = 32, blocks: int = 5) -> keras.Model:
    """Any H, W: the input is padded (edge replication) to a multiple of 4 and cropped back."""
    check_style_net_args(channels, width, blocks)
    inputs = keras.Input((None, None, channels), name="content")
    x = PadToMultiple(STYLE_NET_MULTIPLE, name="pad")(inputs)
    x = _conv_norm_relu(x, width, 9, "head")
    x = _conv_norm_relu(x, 2 * width, 3, "down1", strides=2)
    x = _conv_norm_relu(x, 4 * width, 3, "down2", strides=2)
    for b in range(blocks):
        x = _residual_block(x, 4 * width, f"block{b + 1}")
    x = _resize_conv(x, 2 * width, "up1")
    x = _resize_conv(x, width, "up2")
    x = keras.layers.Conv2D(channels, 9, padding="same", kernel_initializer="glorot_uniform", name="tail")(x)
    x = CropToMatch(name="crop")([x, inputs])
    outputs = keras.layers.Activation("sigmoid", name="stylized", dtype=OUTPUT_DTYPE)(x)
    return keras.Model(inputs, outputs, name="style_net")
