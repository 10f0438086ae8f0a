"""How an image's channels meet a model's channels (the documented rules of the restore job).

* Same channel count: the pixels go to the model as they are.
* A gray (1-channel) model on a colour image restores the luma: the image is converted to
  full-range BT.601 YCbCr (JFIF, ``restoreflow.pixels``, so a colour file holding a gray picture gives exactly its
  gray values), Y goes through the model, Cb/Cr are kept (resized bicubically for
  super-resolution), and the result is converted back to RGB.
* A colour model on a gray image sees the gray channel repeated three times; its output is
  turned back into gray with the BT.601 luma weights.

All arrays are float32 HWC on a [0, 1] scale; nothing is clipped here. The "same" and
"replicate" rules are per pixel (``PER_PIXEL``), so the restore job applies them one tile at a
time (``widen``, ``from_model``) and never holds a whole image in float32 for them.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from pipelines.degrade import ops
from restoreflow.pixels import luma, rgb_to_ycbcr, ycbcr_to_rgb


@dataclasses.dataclass(frozen=True)
class ChannelPlan:
    """What goes into the model and how its output becomes the image's channels again."""

    model_input: np.ndarray
    rule: str  # "same", "luma", "replicate"
    chroma: np.ndarray | None = None  # Cb/Cr kept aside by the "luma" rule


PER_PIXEL = ("same", "replicate")


def widen(tile: np.ndarray, rule: str) -> np.ndarray:
    """One tile of a plan's model input as the model takes it: a "replicate" plan's input kept
    gray (one channel) is repeated here; one made whole beforehand (with a mask channel beside
    it, for inpainting) is already wide."""
    return np.repeat(tile, 3, axis=-1) if rule == "replicate" and tile.shape[-1] == 1 else tile


def to_model(image: np.ndarray, model_channels: int) -> ChannelPlan:
    channels = image.shape[-1]
    if channels == model_channels:
        return ChannelPlan(image, "same")
    if model_channels == 1 and channels == 3:
        ycbcr = rgb_to_ycbcr(image)
        return ChannelPlan(ycbcr[..., :1], "luma", ycbcr[..., 1:])
    if model_channels == 3 and channels == 1:
        return ChannelPlan(np.repeat(image, 3, axis=-1), "replicate")
    raise ValueError(f"no rule for a {model_channels}-channel model on a {channels}-channel image")


def from_model(output: np.ndarray, plan: ChannelPlan, scale: int = 1) -> np.ndarray:
    """The model's output in the image's own channels."""
    if plan.rule == "same":
        return output
    if plan.rule == "replicate":
        return luma(output)[..., None]
    chroma = plan.chroma
    if scale > 1:
        chroma = ops.resize(chroma, height=output.shape[0], width=output.shape[1])
    return ycbcr_to_rgb(np.concatenate([output, chroma], axis=-1))
