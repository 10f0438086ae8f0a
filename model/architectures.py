"""Network builders: plain functions with keyword-only arguments, and a plain dict of them.

Every builder returns a ``keras.Model`` that maps degraded images, float32 in [0, 1], shape
(N, H, W, C) - plus one last channel: inpainting's mask, or a denoiser's noise level - to restored images
(N, H*scale, W*scale, C), for any H and W. Residual formulations live inside the model, and
outputs are not clipped (training needs the gradient; consumers clip).

``build(name, args)`` is how a configuration turns into a model: it checks the argument names
against the builder's signature and the values against its type hints first (with
``restoreflow.configs.coerce``, as every configuration value), so a typo is an error naming the key rather
than a silently ignored setting. ``describe(name, args)`` gives what a consumer needs (scale,
mask, receptive field, size multiple) without building anything.
"""

from __future__ import annotations

import inspect
import typing

import keras

from model.diagnosis_net import diagnosis_cnn
from model.diffusion_net import diffusion_unet
from model.geometry import ARGS_KEY, DESCRIBERS, check_dncnn_args, check_sr_args, check_unet_args
from model.layers import (
    CropToMatch,
    KeepKnownPixels,
    PadToMultiple,
    PixelShuffle,
    SplitMask,
    UpscaleBy,
)
from model.style_net import style_net
from restoreflow.configs import ConfigError, coerce, suggest

# How a training config spells the architecture (for error messages).
ARCHITECTURE_KEY = "model.architecture"
# The output layer computes in float32 even under a mixed_float16 policy: the residual sum
# (input + a small correction) keeps its precision, and consumers always get float32.
OUTPUT_DTYPE = "float32"


def _conv(filters: int, name: str, *, kernel_size: int = 3, use_bias: bool = True, initializer: str = "he_normal"):
    """A 'same'-padded convolution with He initialisation (the DnCNN paper's choice for ReLU nets)."""
    return keras.layers.Conv2D(
        filters,
        kernel_size,
        padding="same",
        use_bias=use_bias,
        kernel_initializer=initializer,
        name=name,
    )


# --- DnCNN -------------------------------------------------------------------------------


def dncnn(
    *,
    channels: int = 1,
    depth: int = 17,
    width: int = 64,
    batch_norm: bool = True,
    residual: bool = True,
) -> keras.Model:
    """DnCNN (Zhang et al., IEEE TIP 2017): ``depth`` 3x3 convolutions, all 'same'-padded.

    conv+ReLU, then (depth - 2) x [conv (+ batch norm) + ReLU], then a conv to ``channels``.
    With ``residual`` the network predicts the degradation: restored = degraded - prediction.

    The conv layers are named ``conv1`` .. ``conv{depth}``. With ``batch_norm=False`` every
    conv has a bias, which is the shape of the authors' released weights (batch norm folded
    into the convolutions); with batch norm the middle convs drop their bias (the norm's
    offset replaces it).
    """
    check_dncnn_args(channels, depth, width)
    inputs = keras.Input((None, None, channels), name="degraded")
    x = _conv(width, "conv1")(inputs)
    x = keras.layers.ReLU(name="relu1")(x)
    for i in range(2, depth):
        x = _conv(width, f"conv{i}", use_bias=not batch_norm)(x)
        if batch_norm:
            x = keras.layers.BatchNormalization(name=f"bn{i}")(x)
        x = keras.layers.ReLU(name=f"relu{i}")(x)
    prediction = _conv(channels, f"conv{depth}")(x)
    outputs = keras.layers.Subtract(name="restored", dtype=OUTPUT_DTYPE)([inputs, prediction]) if residual else prediction
    return keras.Model(inputs, outputs, name="dncnn")


# --- U-Nets ------------------------------------------------------------------------------


def _residual_block(x, filters: int, name: str):
    """conv-ReLU-conv plus the block's input (no activation after the sum, as in DRUNet)."""
    y = _conv(filters, f"{name}_conv1")(x)
    y = keras.layers.ReLU(name=f"{name}_relu")(y)
    y = _conv(filters, f"{name}_conv2")(y)
    return keras.layers.Add(name=f"{name}_add")([x, y])


def _residual_blocks(x, filters: int, count: int, name: str):
    for b in range(count):
        x = _residual_block(x, filters, f"{name}_block{b + 1}")
    return x


def _unet_body(inputs, *, out_channels: int, width: int, levels: int, blocks: int):
    """The U-Net from ``inputs`` to its tail convolution, cropped back to the input's size.

    The input is padded (bottom/right, edge replication) to a multiple of 2**levels so that
    every 2x2 stride-2 convolution halves the size exactly and every 2x2 stride-2 transposed
    convolution restores it; skip connections are sums. Level l has width * 2**l channels.
    """
    x = PadToMultiple(2**levels, name="pad")(inputs)
    x = _conv(width, "head")(x)
    skips = []
    for level in range(levels):
        x = _residual_blocks(x, width * 2**level, blocks, f"down{level}")
        skips.append(x)
        x = keras.layers.Conv2D(
            width * 2 ** (level + 1), 2, strides=2, padding="valid", kernel_initializer="he_normal", name=f"downsample{level}"
        )(x)
    x = _residual_blocks(x, width * 2**levels, blocks, "bottom")
    for level in reversed(range(levels)):
        x = keras.layers.Conv2DTranspose(
            width * 2**level, 2, strides=2, padding="valid", kernel_initializer="he_normal", name=f"upsample{level}"
        )(x)
        x = keras.layers.Add(name=f"skip{level}")([x, skips[level]])
        x = _residual_blocks(x, width * 2**level, blocks, f"up{level}")
    # Zero-initialised: the residual U-Net starts as the identity (restored = degraded) instead
    # of adding the random output of a deep unnormalised stack (measured: loss 3.96 vs 0.03
    # after 100 steps of a warm-up).
    x = _conv(out_channels, "tail", initializer="zeros")(x)
    return CropToMatch(name="crop")([x, inputs])


def unet(*, channels: int = 1, width: int = 32, levels: int = 3, blocks: int = 2) -> keras.Model:
    """A residual U-Net in the spirit of DRUNet (Zhang et al., TPAMI 2021): restored = input + net.

    head conv; per level ``blocks`` residual blocks then a stride-2 conv down; ``blocks``
    residual blocks at the bottom; per level a stride-2 transposed conv up, plus the skip from
    the same level, then ``blocks`` residual blocks; tail conv. Any H, W: the model pads to a
    multiple of 2**levels inside and crops back.
    """
    check_unet_args(channels, width, levels, blocks)
    inputs = keras.Input((None, None, channels), name="degraded")
    tail = _unet_body(inputs, out_channels=channels, width=width, levels=levels, blocks=blocks)
    outputs = keras.layers.Add(name="restored", dtype=OUTPUT_DTYPE)([inputs, tail])
    return keras.Model(inputs, outputs, name="unet")


def noise_level_unet(*, channels: int = 3, width: int = 32, levels: int = 2, blocks: int = 2) -> keras.Model:
    """:func:`unet` told the noise level to remove (FFDNet's map, Zhang et al., TIP 2018): the
    last input channel is sigma / 255 at every pixel; a smaller sigma keeps more of the image."""
    check_unet_args(channels, width, levels, blocks)
    inputs = keras.Input((None, None, channels + 1), name="degraded_and_noise_level")
    image, _ = SplitMask(name="split_noise_level")(inputs)
    tail = _unet_body(inputs, out_channels=channels, width=width, levels=levels, blocks=blocks)
    outputs = keras.layers.Add(name="restored", dtype=OUTPUT_DTYPE)([image, tail])
    return keras.Model(inputs, outputs, name="noise_level_unet")


def inpaint_unet(*, channels: int = 1, width: int = 32, levels: int = 3, blocks: int = 2) -> keras.Model:
    """The U-Net of :func:`unet` for inpainting: input (N, H, W, channels + 1), the last channel
    the mask (1 = missing pixel), output (N, H, W, channels).

    The network sees the image and the mask; its prediction is image + net (missing pixels are
    0 in the degraded image, so there the net supplies the whole value). Known pixels pass
    through exactly: output = mask * prediction + (1 - mask) * image.
    """
    check_unet_args(channels, width, levels, blocks)
    inputs = keras.Input((None, None, channels + 1), name="degraded_and_mask")
    image, mask = SplitMask(name="split_mask")(inputs)
    tail = _unet_body(inputs, out_channels=channels, width=width, levels=levels, blocks=blocks)
    prediction = keras.layers.Add(name="prediction")([image, tail])
    outputs = KeepKnownPixels(name="restored", dtype=OUTPUT_DTYPE)([prediction, image, mask])
    return keras.Model(inputs, outputs, name="inpaint_unet")


# --- Super-resolution --------------------------------------------------------------------


def _sr_features(inputs, *, depth: int, width: int):
    """``depth`` conv3x3+ReLU layers at the low resolution, where they are cheapest."""
    x = inputs
    for i in range(1, depth + 1):
        x = _conv(width, f"conv{i}")(x)
        x = keras.layers.ReLU(name=f"relu{i}")(x)
    return x


def _bicubic(inputs, scale: int):
    """The global residual's base: bicubic upsampling, exactly (H*scale, W*scale)."""
    return UpscaleBy(scale, name="bicubic")(inputs)


def sr_deconv(*, channels: int = 1, scale: int = 2, depth: int = 8, width: int = 64) -> keras.Model:
    """Super-resolution with a learned transposed convolution (the FSRCNN idea).

    ``depth`` conv+ReLU feature layers at low resolution, then a ``Conv2DTranspose`` with
    stride ``scale`` and a 3*scale kernel ('same': output exactly H*scale x W*scale; every
    high-resolution pixel blends the 3x3 nearest low-resolution feature pixels), added to the
    bicubic upsampling of the input.
    """
    check_sr_args(channels, scale, depth, width)
    inputs = keras.Input((None, None, channels), name="degraded")
    x = _sr_features(inputs, depth=depth, width=width)
    detail = keras.layers.Conv2DTranspose(
        channels, 3 * scale, strides=scale, padding="same", kernel_initializer="he_normal", name="deconv"
    )(x)
    outputs = keras.layers.Add(name="restored", dtype=OUTPUT_DTYPE)([_bicubic(inputs, scale), detail])
    return keras.Model(inputs, outputs, name="sr_deconv")


def sr_subpixel(*, channels: int = 1, scale: int = 2, depth: int = 8, width: int = 64) -> keras.Model:
    """Super-resolution with a sub-pixel convolution (ESPCN, Shi et al. 2016).

    ``depth`` conv+ReLU feature layers at low resolution, a conv3x3 to channels * scale**2,
    then :class:`~model.layers.PixelShuffle` to (H*scale, W*scale, channels), added to the
    bicubic upsampling of the input.
    """
    check_sr_args(channels, scale, depth, width)
    inputs = keras.Input((None, None, channels), name="degraded")
    x = _sr_features(inputs, depth=depth, width=width)
    x = _conv(channels * scale**2, "subpixel_conv")(x)
    detail = PixelShuffle(scale, name="pixel_shuffle")(x)
    outputs = keras.layers.Add(name="restored", dtype=OUTPUT_DTYPE)([_bicubic(inputs, scale), detail])
    return keras.Model(inputs, outputs, name="sr_subpixel")


def sr_unet(*, channels: int = 3, scale: int = 2, width: int = 32, levels: int = 2, blocks: int = 2) -> keras.Model:
    """Super-resolution with the U-Net of :func:`unet` at the low resolution, where its work is
    cheap (1 / scale**2 of the output's pixels): its tail predicts channels * scale**2 values per
    pixel, :class:`~model.layers.PixelShuffle` lays them out at (H*scale, W*scale), added to the
    bicubic upsampling of the input. The tail starts at zero, so training starts from bicubic;
    the body has the layer names of :func:`unet`, so it can start from a trained restorer."""
    check_unet_args(channels, width, levels, blocks)
    check_sr_args(channels, scale, 1, width)
    inputs = keras.Input((None, None, channels), name="degraded")
    tail = _unet_body(inputs, out_channels=channels * scale**2, width=width, levels=levels, blocks=blocks)
    detail = PixelShuffle(scale, name="pixel_shuffle")(tail)
    outputs = keras.layers.Add(name="restored", dtype=OUTPUT_DTYPE)([_bicubic(inputs, scale), detail])
    return keras.Model(inputs, outputs, name="sr_unet")


BUILDERS = {
    "dncnn": dncnn,
    "unet": unet,
    "sr_deconv": sr_deconv,
    "sr_subpixel": sr_subpixel,
    "sr_unet": sr_unet,
    "inpaint_unet": inpaint_unet,
    "noise_level_unet": noise_level_unet,
    "diagnosis_cnn": diagnosis_cnn,
    "style_net": style_net,
    "diffusion_unet": diffusion_unet,
}


def resolve_args(name: str, args: dict | None) -> dict:
    """The builder's full keyword arguments: defaults overlaid with ``args``, names checked here
    and values against the builder's type hints by ``restoreflow.configs.coerce`` (the one
    validation path of every configuration value)."""
    if name not in BUILDERS:
        raise ConfigError(
            f"{ARCHITECTURE_KEY}: unknown architecture '{name}'{suggest(name, BUILDERS)}; choose from {', '.join(BUILDERS)}"
        )
    builder = BUILDERS[name]
    parameters = inspect.signature(builder).parameters
    hints = typing.get_type_hints(builder)
    args = dict(args or {})
    for key, value in args.items():
        if key not in parameters:
            raise ConfigError(
                f"{ARGS_KEY}.{key}: unknown argument of {name}{suggest(str(key), parameters)}; "
                f"allowed: {', '.join(parameters)}"
            )
        args[key] = coerce(hints[key], value, f"{ARGS_KEY}.{key}")
    return {key: args.get(key, parameter.default) for key, parameter in parameters.items()}


def build(name: str, args: dict | None = None) -> keras.Model:
    """The model ``name`` built with ``args`` (a config's ``model.args``), checked first."""
    kwargs = resolve_args(name, args)
    return BUILDERS[name](**kwargs)


def describe(name: str, args: dict | None = None) -> dict:
    """What a consumer needs without building the model.

    channels: image channels in and out (an inpainting model takes one more input channel,
    the mask); scale: output size / input size; takes_mask; receptive_field_radius: input
    pixels of context each side that an output pixel depends on (tiles must overlap by at
    least this much to match a whole-image run); size_multiple: the model's output is the
    same function of its neighbourhood at every position whose offset is a multiple of this
    (1: fully translation-equivariant; 2**levels for U-Nets, whose strided grid has phases).
    """
    kwargs = resolve_args(name, args)  # first: an unknown name is a ConfigError naming the choices
    return DESCRIBERS[name](**kwargs)
