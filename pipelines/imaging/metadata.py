"""What an image file records besides its pixels, carried from the input to the restored file.

For archives these are the record: the camera, the dates, the copyright, the scan's resolution.
Kept, where the output format can hold it (``where``):

* EXIF, with Orientation 1 (decoding applies the input's to the pixels) and the TIFF layout tags
  left out (they describe the input file's strips, not the picture); the Exif and GPS
  directories go with it. Its thumbnail is not kept (it would show the unrestored image).
* XMP, as bytes.
* IPTC-IIM (a JPEG's Photoshop APP13 resource 0x0404, a TIFF's tag 33723); other Photoshop
  resources of a JPEG are not kept.
* Resolution (DPI). Super-resolution multiplies it by the scale (the same print size); the EXIF
  resolution follows, and its pixel dimensions are the restored image's.

The ICC profile travels apart (``DecodedImage.icc_profile``): colour conversions change it.
"""

from __future__ import annotations

import dataclasses
import struct

from PIL import Image

ORIENTATION = 0x0112
_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
_X_RESOLUTION, _Y_RESOLUTION = 0x011A, 0x011B
_PIXEL_X, _PIXEL_Y = 0xA002, 0xA003
_XMP_TAG, _IPTC_TAG = 700, 33723
_IPTC_RESOURCE = 0x0404
# TIFF tags that describe a file's layout (sizes, strips, tiles, compression, samples) or that
# travel separately (XMP, IPTC, Photoshop, ICC): never copied as EXIF.
_LAYOUT_TAGS = frozenset({
    254, 255, 256, 257, 258, 259, 262, 266, 273, 277, 278, 279, 280, 281, 284, 317, 320, 322, 323, 324, 325,
    330, 338, 339, 340, 341, 347, 513, 514, 530, 531, 532, _XMP_TAG, _IPTC_TAG, 34377, 34675,
})

# Which output format holds what (Pillow's writers; 16-bit colour see deep_images).
WHERE = {
    "JPEG": {"exif", "xmp", "iptc", "dpi"},
    "PNG": {"exif", "xmp", "dpi"},
    "TIFF": {"exif", "xmp", "iptc", "dpi"},
    "WEBP": {"exif", "xmp"},
    "BMP": {"dpi"},
    "PPM": set(),
}


@dataclasses.dataclass(frozen=True)
class Metadata:
    exif: bytes | None = None  # as Pillow's Exif.tobytes() (with its "Exif\0\0" header)
    xmp: bytes | None = None
    iptc: bytes | None = None  # IPTC-IIM records
    dpi: tuple[float, float] | None = None

    def kept_in(self, format: str) -> list[str]:
        """The names of what this output format keeps of it."""
        return [name for name in ("exif", "xmp", "iptc", "dpi") if getattr(self, name) and name in WHERE[format]]


def read(image: Image.Image) -> tuple[Metadata, str | None]:
    """The metadata of an opened (and loaded) Pillow image, and a note when its EXIF cannot be
    read (the image is still restored: the row says the EXIF is not kept)."""
    dpi = image.info.get("dpi")
    try:
        exif, note = _exif(image), None
    except Exception as e:  # noqa: BLE001 - Pillow's EXIF parser raises many kinds on damaged tags
        exif, note = None, f"EXIF unreadable ({type(e).__name__}: {e}): not kept"
    return Metadata(
        exif=exif,
        xmp=_bytes(image.info.get("xmp")),
        iptc=_iptc(image),
        dpi=(float(dpi[0]), float(dpi[1])) if dpi and dpi[0] and dpi[1] else None,
    ), note


def _bytes(value) -> bytes | None:
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, tuple):  # Pillow gives some TIFF byte tags as tuples of ints
        return bytes(value)
    return value or None


def _exif(image: Image.Image) -> bytes | None:
    exif = Image.Exif()  # a copy: the image's own is what ImageOps.exif_transpose reads next
    exif.load(image.getexif().tobytes())
    for tag in _LAYOUT_TAGS & set(exif):
        del exif[tag]
    for ifd in (_EXIF_IFD, _GPS_IFD):
        exif.get_ifd(ifd)  # loaded now, so that tobytes writes them
    if not len(exif) and len(image.info.get("exif") or b"") > len(b"Exif\x00\x00"):
        raise ValueError("no tag could be parsed")  # Pillow skips a damaged block without a word
    if not len(exif):
        return None
    exif[ORIENTATION] = 1  # applied to the pixels (Pillow's TIFF reader drops the tag once it has)
    return exif.tobytes()


def _iptc(image: Image.Image) -> bytes | None:
    if image.format == "TIFF":
        return _bytes(getattr(image, "tag_v2", {}).get(_IPTC_TAG))
    return _bytes((image.info.get("photoshop") or {}).get(_IPTC_RESOURCE))


def scaled(meta: Metadata, factor: int, size: tuple[int, int]) -> Metadata:
    """The metadata of the restored image, ``factor`` times larger (super-resolution) and ``size``
    (height, width): the EXIF pixel dimensions are set to it (an applied orientation swaps them)."""
    exif = None
    if meta.exif:
        loaded = Image.Exif()
        loaded.load(meta.exif)
        for tag in (_X_RESOLUTION, _Y_RESOLUTION):
            if loaded.get(tag):
                loaded[tag] = float(loaded[tag]) * factor
        sub = loaded.get_ifd(_EXIF_IFD)
        for tag, value in ((_PIXEL_X, size[1]), (_PIXEL_Y, size[0])):
            if tag in sub:
                sub[tag] = value
        exif = loaded.tobytes()
    dpi = meta.dpi and (meta.dpi[0] * factor, meta.dpi[1] * factor) if factor > 1 else meta.dpi
    return dataclasses.replace(meta, exif=exif, dpi=dpi)


_JPEG_SEGMENT = 65533  # bytes a JPEG marker segment holds after its length


def too_large_for(meta: Metadata, format: str) -> str | None:
    """Why ``format`` cannot hold this metadata (a JPEG segment is 64 KB; Pillow writes no
    extended XMP), or None."""
    if format != "JPEG":
        return None
    iptc_overhead = len(photoshop_iptc(b"")) + 1  # its resource header and padding
    for name, value, limit in (("EXIF", meta.exif, _JPEG_SEGMENT), ("XMP", meta.xmp, _JPEG_SEGMENT - 29),
                               ("IPTC", meta.iptc, _JPEG_SEGMENT - iptc_overhead)):
        if value and len(value) > limit:
            return (f"its {name} ({len(value)} bytes) is over the {limit} bytes a JPEG segment holds; choose "
                    f"--format TIFF to keep it")
    return None


def pillow_options(meta: Metadata, format: str) -> dict:
    """Keyword arguments of Pillow's ``Image.save`` in ``format`` that write what it can hold."""
    kept = set(meta.kept_in(format))
    options = {}
    if "dpi" in kept:
        options["dpi"] = meta.dpi
    if format == "TIFF":  # Pillow's TIFF writer drops the Exif directory of exif=: tags go one by one
        tags = _tiff_tags(meta)
        return {**options, "tiffinfo": tags} if tags else options
    if "exif" in kept:
        options["exif"] = meta.exif
    if "xmp" in kept and format == "PNG":
        from PIL import PngImagePlugin

        info = PngImagePlugin.PngInfo()
        info.add_itxt("XML:com.adobe.xmp", meta.xmp.decode("utf-8", "replace"))
        options["pnginfo"] = info
    elif "xmp" in kept:
        options["xmp"] = meta.xmp
    if "iptc" in kept:  # JPEG: an APP13 segment; Pillow writes "extra" bytes after its own
        body = photoshop_iptc(meta.iptc)
        options["extra"] = b"\xff\xed" + struct.pack(">H", len(body) + 2) + body
    return options


def _tiff_tags(meta: Metadata) -> dict:
    tags = {}
    if meta.exif:
        exif = Image.Exif()
        exif.load(meta.exif)
        tags = {tag: value for tag, value in exif.items() if tag not in (_EXIF_IFD, _GPS_IFD)}
        for ifd in (_EXIF_IFD, _GPS_IFD):
            if exif.get_ifd(ifd):
                tags[ifd] = dict(exif.get_ifd(ifd))
    if meta.xmp:
        tags[_XMP_TAG] = meta.xmp
    if meta.iptc:
        tags[_IPTC_TAG] = meta.iptc
    return tags


def photoshop_iptc(iptc: bytes) -> bytes:
    """A JPEG APP13 body holding IPTC-IIM records: "Photoshop 3.0", one 8BIM resource 0x0404."""
    padded = iptc + b"\x00" * (len(iptc) % 2)
    return b"Photoshop 3.0\x00" + b"8BIM" + struct.pack(">HHI", _IPTC_RESOURCE, 0, len(iptc)) + padded
