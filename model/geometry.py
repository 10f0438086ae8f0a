"""What a consumer needs to know of an architecture without building it, and the checks of its
arguments' values: both are plain arithmetic, so this module loads no TensorFlow.

``model.architectures.describe`` joins these to the builders' signatures; the builders run the
same checks, so a config is refused with the same message whether it is built or described.
"""

from __future__ import annotations

from restoreflow.configs import ConfigError

# How a training config spells the architecture's arguments (for error messages).
ARGS_KEY = "model.args"
SR_SCALES = (2, 3, 4)
# UpscaleBy's bicubic kernel (Keys, a = -0.5) reads 2 low-resolution pixels each side.
BICUBIC_RADIUS = 2


def _require(condition: bool, arg: str, message: str) -> None:
    """Argument checks raise ConfigError naming the key, as a config file would spell it."""
    if not condition:
        raise ConfigError(f"{ARGS_KEY}.{arg}: {message}")


def check_dncnn_args(channels: int, depth: int, width: int) -> None:
    _require(channels >= 1, "channels", f"must be at least 1, got {channels}")
    _require(depth >= 2, "depth", f"must be at least 2 (a first and a last convolution), got {depth}")
    _require(width >= 1, "width", f"must be at least 1, got {width}")


def check_unet_args(channels: int, width: int, levels: int, blocks: int) -> None:
    _require(channels >= 1, "channels", f"must be at least 1, got {channels}")
    _require(width >= 1, "width", f"must be at least 1, got {width}")
    _require(levels >= 1, "levels", f"must be at least 1, got {levels}")
    _require(blocks >= 0, "blocks", f"must be at least 0, got {blocks}")


def check_sr_args(channels: int, scale: int, depth: int, width: int) -> None:
    _require(channels >= 1, "channels", f"must be at least 1, got {channels}")
    _require(scale in SR_SCALES, "scale", f"must be one of {', '.join(map(str, SR_SCALES))}, got {scale}")
    _require(depth >= 1, "depth", f"must be at least 1, got {depth}")
    _require(width >= 1, "width", f"must be at least 1, got {width}")


STYLE_NET_MULTIPLE = 4  # two stride-2 convolutions


def check_style_net_args(channels: int, width: int, blocks: int) -> None:
    _require(channels in (1, 3), "channels", f"must be 1 or 3, got {channels}")
    _require(width >= 1, "width", f"must be at least 1, got {width}")
    _require(blocks >= 0, "blocks", f"must be at least 0, got {blocks}")


def style_net_receptive_field_radius(*, blocks: int) -> int:
    """Input pixels each side of an output pixel of ``model.style_net``, worst case over the 4
    phases of its strided grid: the span of input pixels an output pixel at ``phase`` reads,
    followed back layer by layer (a 'same' stride-2 3x3 conv's output k reads 2k..2k+2; a
    nearest-neighbour x2 resize's output q reads q // 2)."""
    reach = 0
    for phase in range(STYLE_NET_MULTIPLE):
        lo, hi = phase - 5, phase + 5  # the tail's 9x9 and up2's 3x3, at full resolution
        lo, hi = lo // 2 - 1, hi // 2 + 1  # up2's resize to half resolution, up1's 3x3
        lo, hi = lo // 2 - 2 * blocks, hi // 2 + 2 * blocks  # up1's resize to a quarter; the blocks' 3x3s
        lo, hi = 2 * lo, 2 * hi + 2  # down2
        lo, hi = 2 * lo - 4, 2 * hi + 2 + 4  # down1, then the head's 9x9
        reach = max(reach, phase - lo, hi - phase)
    return reach


def unet_receptive_field_radius(*, levels: int, blocks: int) -> int:
    """Input pixels of context each side of an output pixel of the U-Net, worst case.

    Count per input pixel: a 3x3 conv on a grid of stride s = 2**level (input pixels per
    feature pixel) reaches s more pixels each side. The 2x2 stride-2 convs only merge whole
    blocks of input pixels and add nothing beyond them; but on the way up, a pixel inherits
    its parent's context from the far end of the parent's block, which adds s at that level
    (left for odd positions, right for even ones; the worst case combines the levels).
    """
    radius = 1  # head conv
    for level in range(levels):
        radius += 2 * blocks * 2**level  # residual blocks on the way down
    radius += 2 * blocks * 2**levels  # residual blocks at the bottom
    for level in range(levels):
        radius += 2**level + 2 * blocks * 2**level  # upsampling position, then the blocks
    return radius + 1  # tail conv


def _describe_dncnn(*, channels, depth, width, batch_norm, residual):
    check_dncnn_args(channels, depth, width)
    return _description(channels=channels, scale=1, takes_mask=False, radius=depth, size_multiple=1)


def _describe_unet(*, channels, width, levels, blocks):
    check_unet_args(channels, width, levels, blocks)
    radius = unet_receptive_field_radius(levels=levels, blocks=blocks)
    return _description(channels=channels, scale=1, takes_mask=False, radius=radius, size_multiple=2**levels)


def _describe_inpaint_unet(*, channels, width, levels, blocks):
    return {**_describe_unet(channels=channels, width=width, levels=levels, blocks=blocks), "takes_mask": True}


def _describe_noise_level_unet(*, channels, width, levels, blocks):
    """``takes_noise_level``: one more input channel, the noise sigma / 255 at every pixel."""
    return {**_describe_unet(channels=channels, width=width, levels=levels, blocks=blocks), "takes_noise_level": True}


def _describe_sr(*, channels, scale, depth, width):
    """The features reach ``depth``; the upsampler one more low-resolution pixel (the deconv's
    3*scale kernel, or the sub-pixel conv); the bicubic residual reaches BICUBIC_RADIUS. All in
    input pixels, measured from the input pixel an output pixel lies in."""
    check_sr_args(channels, scale, depth, width)
    return _description(
        channels=channels, scale=scale, takes_mask=False, radius=max(depth + 1, BICUBIC_RADIUS), size_multiple=1
    )


def _description(*, channels, scale, takes_mask, radius, size_multiple) -> dict:
    return {
        "channels": int(channels),
        "scale": int(scale),
        "takes_mask": bool(takes_mask),
        "receptive_field_radius": int(radius),
        "size_multiple": int(size_multiple),
    }


def _describe_sr_unet(*, channels, scale, width, levels, blocks):
    """The U-Net's radius in input pixels (its output pixel is where the shuffled values come
    from), or the bicubic residual's, whichever is larger."""
    unet_info = _describe_unet(channels=channels, width=width, levels=levels, blocks=blocks)
    check_sr_args(channels, scale, 1, width)
    return {**unet_info, "scale": int(scale),
            "receptive_field_radius": max(unet_info["receptive_field_radius"], BICUBIC_RADIUS)}


def _describe_diagnosis_cnn(*, channels: int, width: int, stages: int) -> dict:
    """A damage estimator: one row of restoreflow.diagnosis.OUTPUTS per crop, not an image.
    Crops start at multiples of 8 (the JPEG grid its training patches were aligned to)."""
    return {"channels": channels, "scale": 1, "takes_mask": False, "receptive_field_radius": 0,
            "size_multiple": 8, "outputs": "diagnosis"}


def _describe_style_net(*, channels: int, width: int, blocks: int) -> dict:
    check_style_net_args(channels, width, blocks)
    return _description(channels=channels, scale=1, takes_mask=False,
                        radius=style_net_receptive_field_radius(blocks=blocks), size_multiple=STYLE_NET_MULTIPLE)


def check_diffusion_unet_args(channels: int, width: int, levels: int, blocks: int) -> None:
    _require(channels >= 1, "channels", f"must be at least 1, got {channels}")
    _require(width >= 8 and width % 8 == 0, "width", f"must be a multiple of 8 (group norms of 8), got {width}")
    _require(levels >= 1, "levels", f"must be at least 1, got {levels}")
    _require(blocks >= 1, "blocks", f"must be at least 1, got {blocks}")


def _describe_diffusion_unet(*, channels: int, width: int, levels: int, blocks: int) -> dict:
    """A generator: images in and out at one size, never tiled (radius 0); ``conditioning``
    marks it for the trainer (the EDM objective) and for the consumers that must refuse it."""
    check_diffusion_unet_args(channels, width, levels, blocks)
    return {"channels": int(channels), "scale": 1, "takes_mask": False, "receptive_field_radius": 0,
            "size_multiple": 2**levels, "conditioning": "noise_level"}


DESCRIBERS = {
    "dncnn": _describe_dncnn,
    "unet": _describe_unet,
    "sr_deconv": _describe_sr,
    "sr_subpixel": _describe_sr,
    "sr_unet": _describe_sr_unet,
    "inpaint_unet": _describe_inpaint_unet,
    "noise_level_unet": _describe_noise_level_unet,
    "diagnosis_cnn": _describe_diagnosis_cnn,
    "style_net": _describe_style_net,
    "diffusion_unet": _describe_diffusion_unet,
}
