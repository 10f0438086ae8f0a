"""What the restore job measures of an image, before and after, and the report's crops.

Scores follow the published conventions (``pipelines.quality.scoring``): the Y channel of colour
images for super-resolution and JPEG, a border of ``sr_factor`` pixels cropped for
super-resolution; full-reference scores are null without a reference or when the image is
too small for the SSIM window.
"""

from __future__ import annotations

import numpy as np

from pipelines.degrade import ops
from pipelines.imaging import images
from pipelines.quality import scoring, signals
from restoreflow.pixels import peak

CROP_SIZE = 160  # side of the report's before/after crops, in output pixels
SSIM_WINDOW = 11  # full-reference scores need the SSIM window to fit (else they are null)


def score_pair(reference, image, *, task: str, sr_factor: int) -> dict:
    """Full-reference scores (psnr_db, ssim, ms_ssim) of ``image`` against ``reference``."""
    crop_border = sr_factor if task == "sr" else 0
    too_small = min(image.shape[:2]) - 2 * crop_border < SSIM_WINDOW
    if reference is None or reference.shape != image.shape or too_small:
        return {"psnr_db": None, "ssim": None, "ms_ssim": None}
    return scoring.full_reference(reference, image, data_range=peak(image.dtype), crop_border=crop_border,
                                  y_channel=image.shape[-1] == 3 and task in ("sr", "jpeg"))


def full_reference(reference, image, *, role: str, task: str, sr_factor: int) -> dict:
    """psnr_db_<role>, ssim_<role>, ms_ssim_<role> (role "degraded" or "restored")."""
    return _named(score_pair(reference, image, task=task, sr_factor=sr_factor), role)


def no_reference(image, *, role: str) -> dict:
    """noise_sigma_<role>, sharpness_<role>, blockiness_<role>."""
    return _named(signals.no_reference(image, data_range=peak(image.dtype)), role)


def _named(values: dict, role: str) -> dict:
    return {f"{name}_{role}": value for name, value in values.items()}


def upscale_like(pixels, reference):
    """The degraded input at the reference's size (bicubic), for the 'before' score of SR."""
    if reference is None or pixels.shape[:2] == reference.shape[:2]:
        return pixels

    upscaled = ops.resize(images.to_float(pixels), height=reference.shape[0], width=reference.shape[1])
    return images.from_float(upscaled, pixels.dtype)


def centre_box(height: int, width: int, size: int = CROP_SIZE) -> tuple[int, int, int, int]:
    """(top, left, height, width) of the centred crop of at most ``size`` pixels a side."""
    crop_h, crop_w = min(height, size), min(width, size)
    return (height - crop_h) // 2, (width - crop_w) // 2, crop_h, crop_w


def crop_at_output_size(pixels, box, scale: int) -> np.ndarray:
    """The degraded input under ``box`` (output coordinates), 8-bit, nearest-upscaled for SR
    so that the report shows the pixels the model got."""
    top, left, height, width = box
    small = pixels[top // scale : (top + height + scale - 1) // scale, left // scale : (left + width + scale - 1) // scale]
    if scale > 1:
        small = np.repeat(np.repeat(small, scale, axis=0), scale, axis=1)[:height, :width]
    return images.to_8bit(small)


def crop_panels(box, before: np.ndarray, restored: np.ndarray, reference: np.ndarray | None) -> bytes:
    """degraded | restored side by side, then the reference when there is one, 4 px apart, as a
    small 8-bit PNG."""
    top, left, height, width = box

    def at_box(pixels):
        return images.to_8bit(pixels[top : top + height, left : left + width])

    panels = [before, at_box(restored)]
    if reference is not None and reference.shape[:2] == restored.shape[:2]:
        panels.append(at_box(reference))
    if len({p.shape[-1] for p in panels}) > 1:
        panels = [images.to_rgb(p) for p in panels]
    gap = np.full((height, 4, panels[0].shape[-1]), 255, np.uint8)
    joined = [part for panel in panels for part in (gap, panel)][1:]
    return images.encode(np.concatenate(joined, axis=1), format="PNG")
