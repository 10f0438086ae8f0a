"""Decoding and encoding images with Pillow, with every mode rule stated in one place.

Decoded pixels are HWC numpy arrays, uint8 or uint16, with 1 (gray) or 3 (RGB) channels.
Alpha is split off and passed through untouched. The rules:

* ``1`` (bilevel) -> gray uint8 (0 / 255); ``encode(bilevel=True)`` thresholds it back to 1 bit.
* ``L`` -> gray; ``LA`` -> gray + alpha; ``RGB``; ``RGBA`` -> RGB + alpha.
* ``P`` (palette) -> RGB, or RGB + alpha when the palette has transparency.
* ``CMYK`` -> RGB through its ICC profile, with an sRGB profile (``colour_profiles``).
* ``YCbCr``, ``LAB``, ``HSV`` -> RGB with Pillow's conversion; refused when they carry a profile
  that is not for RGB (it would not describe the RGB pixels).
* ``I;16`` / ``I;16B`` / ``I;16L`` -> gray uint16. ``I`` (32-bit) -> gray uint16 when every value
  fits in 0..65535, else rejected. ``F`` and float TIFF are rejected with the reason (``FLOAT_REASON``).
* 16-bit colour (RGB, RGBA, gray + alpha) PNG and TIFF -> uint16, decoded and encoded by
  ``deep_images`` (Pillow has no 16-bit colour mode and would silently give 8 bits).
* Files with several images (multi-page TIFF, animated GIF/PNG/WebP) are rejected with a
  reason rather than cut to their first frame; an MPO (a phone camera's JPEG with previews
  after it) gives its primary image. TIFF pages that are reduced-resolution previews do not
  count as pages.
* EXIF orientation is applied, so pixels come out the way a viewer shows them.
* EXIF (Orientation then 1), XMP, IPTC and DPI are read into ``metadata.Metadata`` and
  ``encode`` writes what the output format can hold.

Decompression bombs are refused from the header alone: an image over ``max_pixels`` is
rejected before its pixels are decoded.

The pixel conventions (ranges, dtypes, gray and RGB conversion) live in ``restoreflow.pixels``;
the jobs call them through this module too (``images.to_float``, ``images.from_float``, ...).
"""

from __future__ import annotations

import dataclasses
import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from pipelines.imaging import deep_images, modes
from pipelines.imaging.metadata import Metadata, pillow_options as pillow_metadata, read as read_metadata, too_large_for
from pipelines.imaging.modes import ImageError
from restoreflow.pixels import as_float, from_float, to_8bit, to_float, to_gray, to_rgb  # noqa: F401 - see below

DEFAULT_MAX_PIXELS = 100_000_000
DEFAULT_MAX_BYTES = 512 * 1024 * 1024

IMAGE_EXTENSIONS = (
    ".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".ppm", ".pgm", ".pnm",
)

# Output formats we can write, keyed by Pillow format name -> file extension.
FORMAT_EXTENSIONS = {
    "PNG": ".png", "JPEG": ".jpg", "BMP": ".bmp", "TIFF": ".tif", "WEBP": ".webp", "PPM": ".ppm",
}
_EXTENSION_FORMATS = {
    ".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP", ".tif": "TIFF",
    ".tiff": "TIFF", ".webp": "WEBP", ".ppm": "PPM", ".pgm": "PPM", ".pnm": "PPM",
}



@dataclasses.dataclass(frozen=True)
class DecodedImage:
    pixels: np.ndarray  # HWC, uint8 or uint16, C in {1, 3}
    alpha: np.ndarray | None  # HW1, same dtype as pixels, untouched
    format: str  # Pillow's format name (PNG, JPEG, ...)
    source_mode: str  # Pillow's mode before any conversion
    icc_profile: bytes | None = None
    metadata: Metadata = Metadata()
    note: str | None = None  # what the row should say about the decoding (a guessed conversion)

    @property
    def height(self) -> int:
        return self.pixels.shape[0]

    @property
    def width(self) -> int:
        return self.pixels.shape[1]


def _open(data: bytes, max_pixels: int) -> Image.Image:
    if not data:
        raise ImageError("empty file (0 bytes)")
    # Pillow refuses images over 2 x MAX_IMAGE_PIXELS on its own; keep that above our limit so
    # --max_pixels decides (it is the same for every image of a job).
    Image.MAX_IMAGE_PIXELS = max(Image.MAX_IMAGE_PIXELS or 0, max_pixels)
    with warnings.catch_warnings():
        # We apply our own limit below; Pillow's global one only warns or errors later.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
        except Image.DecompressionBombError:
            raise ImageError(f"refused as a decompression bomb: over twice the limit of {_pixels_text(max_pixels)} "
                             f"(--max_pixels)") from None
        except UnidentifiedImageError:
            raise ImageError(deep_images.unreadable_tiff_reason(data)
                             or "not a recognised image format (Pillow cannot identify it)") from None
        except (OSError, SyntaxError, ValueError) as e:
            raise ImageError(f"unreadable image header: {e}") from None
    width, height = image.size
    if width * height > max_pixels:
        raise ImageError(
            f"image is {width}x{height} = {_pixels_text(width * height)}, over the limit of "
            f"{_pixels_text(max_pixels)} (raise --max_pixels to accept it)"
        )
    if width == 0 or height == 0:
        raise ImageError(f"image has no pixels ({width}x{height})")
    return image


def _pixels_text(pixels: int) -> str:
    return f"{pixels / 1e6:.1f} MP" if pixels >= 100_000 else f"{pixels} pixels"


def decode(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> DecodedImage:
    """Bytes of an image file -> pixels, per the module's mode rules. Raises ImageError."""
    image = _open(data, max_pixels)
    source_mode, fmt = image.mode, image.format or "PNG"
    icc_profile = image.info.get("icc_profile")
    if modes.needs_deep_decoder(image, data):
        pixels, alpha, source_mode = modes.decode_deep(image, data)
        metadata, note = read_metadata(image)
        return DecodedImage(pixels=pixels, alpha=alpha, format=fmt, source_mode=source_mode, icc_profile=icc_profile,
                            metadata=metadata, note=note)
    try:
        image.load()
        metadata, metadata_note = read_metadata(image)
        image = ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise ImageError(f"truncated or corrupt image data: {e}") from None
    image, icc_profile, colour_note = modes.managed_colour(image, icc_profile)
    note = "; ".join(n for n in (colour_note, metadata_note) if n) or None
    pixels, alpha = modes.split_mode(image)
    return DecodedImage(
        pixels=np.ascontiguousarray(pixels),
        alpha=None if alpha is None else np.ascontiguousarray(alpha),
        format=fmt,
        source_mode=source_mode,
        icc_profile=icc_profile,
        metadata=metadata,
        note=note,
    )


def format_for_extension(extension: str) -> str | None:
    return _EXTENSION_FORMATS.get(extension.lower())


def check_writable(format: str, *, dtype, has_alpha: bool, metadata: Metadata | None = None) -> None:
    """Refuses, with the reason, pixels or metadata that ``format`` cannot hold (checked before
    any work)."""
    if has_alpha and format in ("JPEG", "PPM"):
        raise ImageError(f"{format} cannot store an alpha channel; choose --format PNG")
    if has_alpha and format == "BMP":
        raise ImageError("BMP would lose the alpha channel (Pillow writes a 32-bit BMP that common readers show "
                         "as RGB); choose --format PNG or TIFF")
    if np.dtype(dtype) == np.uint16 and format not in ("PNG", "TIFF"):
        raise ImageError(f"{format} cannot store 16-bit pixels; choose --format PNG or TIFF")
    too_large = metadata and too_large_for(metadata, format)
    if too_large:
        raise ImageError(too_large)


BILEVEL_FORMATS = ("PNG", "TIFF", "BMP")  # the others get the thresholded pixels as 8-bit gray


def threshold(pixels: np.ndarray) -> np.ndarray:
    """Gray uint8 -> 0 or 255 at half scale: a bilevel input's result, as it will be written."""
    return np.where(pixels >= 128, 255, 0).astype(np.uint8)


def _to_pil(pixels: np.ndarray, alpha: np.ndarray | None) -> Image.Image:
    if pixels.dtype == np.uint16:  # gray without alpha (the rest goes through deep_images)
        return Image.fromarray(pixels[..., 0], mode="I;16")
    if pixels.shape[-1] == 1:
        if alpha is not None:
            return Image.fromarray(np.concatenate([pixels, alpha], axis=-1), mode="LA")
        return Image.fromarray(pixels[..., 0], mode="L")
    if alpha is not None:
        return Image.fromarray(np.concatenate([pixels, alpha], axis=-1), mode="RGBA")
    return Image.fromarray(pixels, mode="RGB")


# The PNG level restore writes by default: zlib level 1 wrote a 6 MP photograph 2.6x faster
# than Pillow's default 6, for a file 15 % larger (bench.jobs.write_costs, bench/RESULTS.md).
FAST_PNG_COMPRESS_LEVEL = 1


def encode(
    pixels: np.ndarray,
    *,
    format: str,
    alpha: np.ndarray | None = None,
    icc_profile: bytes | None = None,
    jpeg_quality: int = 95,
    metadata: Metadata | None = None,
    bilevel: bool = False,
    png_compress_level: int | None = None,
) -> bytes:
    """Pixels (HWC uint8/uint16) and optional alpha -> image file bytes in ``format``, with the
    profile and the metadata it can hold; ``bilevel``: 0/255 gray written as 1-bit.

    ``png_compress_level``: zlib's level for PNG (None: Pillow's default, 6); the pixels are
    the same at every level, only the time and the file's size change.
    Formats that cannot hold what the pixels need are refused with a reason (``check_writable``).
    16-bit colour or alpha goes through deep_images (Pillow would write 8 bits).
    """
    check_writable(format, dtype=pixels.dtype, has_alpha=alpha is not None, metadata=metadata)
    if pixels.dtype == np.uint16 and (pixels.shape[-1] != 1 or alpha is not None):
        return deep_images.encode(pixels, alpha, format=format, icc_profile=icc_profile, metadata=metadata)
    image = _to_pil(pixels, alpha)
    if bilevel and format in BILEVEL_FORMATS:
        image = image.convert("1", dither=Image.Dither.NONE)
    options = pillow_metadata(metadata, format) if metadata else {}
    if icc_profile:
        options["icc_profile"] = icc_profile
    if format == "JPEG":
        options["quality"] = jpeg_quality
    elif format == "WEBP":
        options["lossless"] = True
    elif format == "PNG" and png_compress_level is not None:
        options["compress_level"] = png_compress_level
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return buffer.getvalue()
