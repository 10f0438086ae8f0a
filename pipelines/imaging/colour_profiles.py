"""CMYK inputs, converted to RGB through their ICC profile, and the sRGB profile the result carries.

A CMYK file's profile describes CMYK ink: kept on RGB pixels it would make every colour-managed
viewer show wrong colours, and converting without it guesses the colours. So:

* CMYK with a CMYK profile: converted by LittleCMS (Pillow's ``ImageCms``, perceptual intent)
  to sRGB, and the sRGB profile is attached.
* CMYK with a profile that cannot be read or is not for CMYK: refused with the reason.
* CMYK without a profile: Pillow's uncalibrated conversion (R = 255 - C - K, ...), no profile
  attached, and the row's note says so.
"""

from __future__ import annotations

import functools
import io

from PIL import Image, ImageCms

NO_PROFILE_NOTE = ("CMYK without an ICC profile: converted to RGB by the uncalibrated formula "
                   "(no colour management)")


class ProfileError(ValueError):
    """A CMYK image whose profile cannot be used; the message is the reason."""


@functools.cache
def srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def colour_space(icc_profile: bytes) -> str | None:
    """The profile's colour space ("RGB", "CMYK", "GRAY", ...), None when it cannot be read."""
    try:
        return ImageCms.ImageCmsProfile(io.BytesIO(icc_profile)).profile.xcolor_space.strip()
    except (OSError, ImageCms.PyCMSError, ValueError, TypeError):
        return None


def cmyk_to_rgb(image: Image.Image, icc_profile: bytes | None) -> tuple[Image.Image, bytes | None, str | None]:
    """A CMYK image -> (RGB image, its profile, a note for the row). Raises ProfileError."""
    if not icc_profile:
        return image.convert("RGB"), None, NO_PROFILE_NOTE
    space = colour_space(icc_profile)
    if space is None:
        raise ProfileError("CMYK image with an ICC profile that cannot be read: not converted, since colours "
                           "converted without it would be guessed; convert it to RGB with its profile first")
    if space != "CMYK":
        raise ProfileError(f"CMYK image whose ICC profile is for {space}, not CMYK: not converted; convert it "
                           f"to RGB with a matching profile first")
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        target = ImageCms.ImageCmsProfile(io.BytesIO(srgb_profile()))
        rgb = ImageCms.profileToProfile(image, source, target, outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError) as e:
        raise ProfileError(f"CMYK image whose ICC profile LittleCMS cannot convert with ({e}); convert it to "
                           f"RGB with its profile first") from None
    return rgb, srgb_profile(), None
