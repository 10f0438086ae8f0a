"""16-bit colour PNG and TIFF, which Pillow reads and writes at 8 bits per channel only, and
TIFF page counts.

Pillow has no 16-bit colour mode: it silently reads a 48-bit RGB PNG or TIFF as 24-bit and
cannot write one. These files go through real decoders instead: ``imagecodecs`` (libpng) for
PNG and ``tifffile`` for TIFF. Pillow still parses the header (size limits, EXIF orientation,
ICC profile, metadata); only the pixels come from here. 16-bit gray stays with Pillow (``I;16``).
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_COLOUR_TYPES = (2, 4, 6)  # RGB, gray + alpha, RGBA (16-bit gray alone Pillow reads)


def is_deep_png(data: bytes) -> bool:
    """A 16-bit PNG with colour or alpha, from its IHDR chunk (bytes 24 and 25)."""
    return data.startswith(_PNG_SIGNATURE) and len(data) > 25 and data[24] == 16 and data[25] in _PNG_COLOUR_TYPES


def tiff_pages(data: bytes) -> list:
    """The TIFF's pages that are images of their own (reduced-resolution previews left out)."""
    import tifffile

    with tifffile.TiffFile(io.BytesIO(data)) as tiff:
        return [page for page in tiff.pages if not page.is_reduced]


def is_deep_tiff(page) -> bool:
    return page.bitspersample == 16 and page.samplesperpixel > 1


FLOAT_REASON = ("floating-point image: not restored, since the models take the values of 8- and 16-bit files "
                "on their fixed scale, and a float file's range is not fixed by its format (HDR or measured "
                "data would be clipped to 0..1); convert it to a 16-bit TIFF or PNG with the scale you choose")


def unreadable_tiff_reason(data: bytes) -> str | None:
    """Why a TIFF that Pillow cannot identify is not restored; None when ``data`` is no TIFF."""
    import tifffile

    if data[:4] not in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return None
    try:
        with tifffile.TiffFile(io.BytesIO(data)) as tiff:
            page = tiff.pages.first
            kind = (tifffile.SAMPLEFORMAT(int(page.sampleformat)).name, page.bitspersample, page.samplesperpixel,
                    _name(page.photometric))
    except Exception as e:  # noqa: BLE001 - tifffile raises many kinds on damaged files
        return f"unreadable TIFF structure: {e}"
    if kind[0] == "IEEEFP":
        return f"{kind[1]}-bit {FLOAT_REASON}"
    return f"TIFF of a kind Pillow cannot read ({kind[2]} samples of {kind[1]} bits, {kind[0]}, {kind[3]})"


def _name(value) -> str:
    return str(getattr(value, "name", value))


def decode_png(data: bytes) -> np.ndarray:
    """HWC uint16 (C: 2, 3 or 4; alpha last)."""
    import imagecodecs

    return np.asarray(imagecodecs.png_decode(data), dtype=np.uint16)


def decode_tiff(data: bytes) -> np.ndarray:
    """The first page as HWC uint16 (samples last, whatever the planar configuration)."""
    import tifffile

    with tifffile.TiffFile(io.BytesIO(data)) as tiff:
        page = next(page for page in tiff.pages if not page.is_reduced)
        if page.photometric.name not in ("RGB", "MINISBLACK"):
            raise ValueError(f"16-bit TIFF with photometric {page.photometric.name} is not supported")
        pixels = page.asarray()
        axes = page.axes  # e.g. "YXS", or "SYX" for planar files
    return np.ascontiguousarray(np.moveaxis(pixels, axes.index("S"), -1)).astype(np.uint16)


def encode(pixels: np.ndarray, alpha: np.ndarray | None, *, format: str, icc_profile: bytes | None,
           metadata=None) -> bytes:
    """16-bit pixels with colour or alpha -> PNG or TIFF bytes, with the ICC profile and what
    ``pipelines.imaging.metadata`` these writers can hold (PNG: EXIF, XMP, DPI; TIFF: XMP, IPTC, DPI)."""
    values = pixels if alpha is None else np.concatenate([pixels, alpha], axis=-1)
    if format == "PNG":
        import imagecodecs

        encoded = imagecodecs.png_encode(np.ascontiguousarray(values))
        return _with_chunks(encoded, _png_chunks(icc_profile, metadata))
    import tifffile

    buffer = io.BytesIO()
    tifffile.imwrite(
        buffer, values, photometric="rgb" if pixels.shape[-1] == 3 else "minisblack",
        extrasamples=["unassalpha"] if alpha is not None else None, compression="zlib", iccprofile=icc_profile,
        **_tiff_options(metadata),
    )
    return buffer.getvalue()


def _png_chunks(icc_profile: bytes | None, metadata) -> list[tuple[bytes, bytes]]:
    """(type, body) of the chunks libpng's encoder here cannot take: iCCP, pHYs, eXIf, iTXt (XMP)."""
    chunks = []
    if icc_profile:
        chunks.append((b"iCCP", b"icc\x00\x00" + zlib.compress(icc_profile)))  # name, NUL, method 0
    if metadata and metadata.dpi:
        per_metre = [round(value / 0.0254) for value in metadata.dpi]
        chunks.append((b"pHYs", struct.pack(">IIB", *per_metre, 1)))
    if metadata and metadata.exif:
        chunks.append((b"eXIf", metadata.exif.removeprefix(b"Exif\x00\x00")))
    if metadata and metadata.xmp:  # keyword, NUL, uncompressed, method, no language, no translation
        chunks.append((b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + metadata.xmp))
    return chunks


def _tiff_options(metadata) -> dict:
    """tifffile.imwrite's arguments for the DPI, XMP and IPTC (it writes no EXIF directory)."""
    if metadata is None:
        return {}
    options, tags = {}, []
    if metadata.dpi:
        options.update(resolution=metadata.dpi, resolutionunit="INCH")
    if metadata.xmp:
        tags.append((700, 1, len(metadata.xmp), metadata.xmp, True))  # BYTE
    if metadata.iptc:
        tags.append((33723, 7, len(metadata.iptc), metadata.iptc, True))  # UNDEFINED
    return {**options, "extratags": tags} if tags else options


def _with_chunks(png: bytes, chunks: list[tuple[bytes, bytes]]) -> bytes:
    """The PNG with these chunks after IHDR."""
    packed = b"".join(struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
                      for kind, body in chunks)
    end_of_ihdr = len(_PNG_SIGNATURE) + 8 + 13 + 4
    return png[:end_of_ihdr] + packed + png[end_of_ihdr:]


# EXIF orientation -> the numpy steps that show the pixels as a viewer does (as Pillow's
# ImageOps.exif_transpose does for 8-bit images).
_ORIENT = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
    8: lambda a: np.rot90(a, 1),
}


def orient(pixels: np.ndarray, orientation: int | None) -> np.ndarray:
    step = _ORIENT.get(orientation or 1)
    return np.ascontiguousarray(step(pixels)) if step else pixels
