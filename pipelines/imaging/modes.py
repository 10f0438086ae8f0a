"""Pillow's image modes -> HWC arrays, per the rules in ``pipelines.imaging.images`` (whose
``decode`` calls these): files holding several images refused, 16-bit colour handed to
``deep_images``, CMYK through its profile, every other mode split into pixels and alpha."""

from __future__ import annotations

import numpy as np
from PIL import Image

from pipelines.imaging import colour_profiles, deep_images

_TO_RGB_MODES = {"CMYK", "YCbCr", "LAB", "HSV", "RGBX", "RGBa", "La"}


class ImageError(ValueError):
    """An input that cannot be used; the message is the reason shown to the user."""


PRIMARY_IMAGE_FORMATS = ("MPO",)  # the frames after the first are previews of it


def needs_deep_decoder(image: Image.Image, data: bytes) -> bool:
    """Refuses files holding several images; True when Pillow would lose bits."""
    if image.format == "TIFF":
        try:
            pages = deep_images.tiff_pages(data)
        except Exception as e:  # noqa: BLE001 - tifffile raises many kinds on damaged files
            raise ImageError(f"unreadable TIFF structure: {e}") from None
        if not pages:
            raise ImageError("TIFF without an image page")
        if len(pages) > 1:
            raise ImageError(f"multi-page TIFF ({len(pages)} pages): only single-page images are restored, and the "
                             f"first page alone would lose the others; split the pages into files")
        return deep_images.is_deep_tiff(pages[0])
    try:
        frames = getattr(image, "n_frames", 1)
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise ImageError(f"truncated or corrupt image data: {e}") from None
    if frames > 1 and image.format not in PRIMARY_IMAGE_FORMATS:
        raise ImageError(f"animated {image.format} ({frames} frames): only still images are restored, and the "
                         f"first frame alone would lose the others")
    return image.format == "PNG" and deep_images.is_deep_png(data)


def decode_deep(image: Image.Image, data: bytes) -> tuple[np.ndarray, np.ndarray | None, str]:
    """16-bit colour pixels (and alpha) from deep_images, oriented per EXIF; and a mode name."""
    try:
        values = deep_images.decode_png(data) if image.format == "PNG" else deep_images.decode_tiff(data)
        values = deep_images.orient(values, image.getexif().get(0x0112))
    except Exception as e:  # noqa: BLE001 - imagecodecs and tifffile raise their own kinds
        raise ImageError(f"truncated or corrupt image data: {e}") from None
    channels = values.shape[-1]
    colour = values[..., :3] if channels >= 3 else values[..., :1]
    alpha = values[..., -1:] if channels in (2, 4) else None
    return colour, alpha, {1: "I;16", 2: "LA;16", 3: "RGB;16", 4: "RGBA;16"}[channels]


def split_mode(image: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    mode = image.mode
    if mode == "1":
        image = image.convert("L")
        mode = "L"
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        mode = image.mode
    if mode == "PA":
        image = image.convert("RGBA")
        mode = "RGBA"
    if mode in _TO_RGB_MODES:
        image = image.convert("RGBA" if mode in ("RGBa", "La") else "RGB")
        mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N"):
        return np.asarray(image).astype(np.uint16)[..., None], None
    if mode == "I":
        values = np.asarray(image)
        if values.min() < 0 or values.max() > 65535:
            raise ImageError("32-bit integer image with values outside 0..65535 is not supported")
        return values.astype(np.uint16)[..., None], None
    if mode == "L":
        return np.asarray(image)[..., None], None
    if mode == "LA":
        values = np.asarray(image)
        return values[..., :1], values[..., 1:]
    if mode == "RGB":
        return np.asarray(image), None
    if mode == "RGBA":
        values = np.asarray(image)
        return values[..., :3], values[..., 3:]
    if mode == "F":
        raise ImageError(f"32-bit {deep_images.FLOAT_REASON}")
    raise ImageError(f"unsupported image mode {mode!r}")


def managed_colour(image: Image.Image, icc_profile: bytes | None) -> tuple[Image.Image, bytes | None, str | None]:
    """CMYK converted through its profile; another converted mode must not keep a profile that
    is not for RGB (it would be written on the RGB pixels)."""
    if image.mode == "CMYK":
        try:
            return colour_profiles.cmyk_to_rgb(image, icc_profile)
        except colour_profiles.ProfileError as e:
            raise ImageError(str(e)) from None
    if image.mode in _TO_RGB_MODES and icc_profile:
        space = colour_profiles.colour_space(icc_profile)
        if space not in ("RGB", None):
            raise ImageError(f"{image.mode} image whose ICC profile is for {space}: its colours cannot be "
                             f"converted to RGB faithfully; convert it to RGB with its profile first")
    return image, icc_profile, None
