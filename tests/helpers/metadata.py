"""Files with the metadata a camera or a scanner leaves, and what a reader finds in a file
(tests of pipelines/imaging/metadata.py and of the restore job's outputs)."""

import io

from PIL import Image

from pipelines.imaging import images, metadata
from tests.helpers.images import photo

XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><dc:rights>(c) Archive</dc:rights></rdf:RDF></x:xmpmeta>'
IPTC = b"\x1c\x02\x74\x00\x0b(c) Archive"  # record 2, dataset 116 (copyright notice)
DATE, CAMERA, COPYRIGHT = "2001:02:03 04:05:06", "Canon", "(c) Archive"


def archive_exif(orientation=6) -> Image.Exif:
    exif = Image.Exif()
    exif[metadata.ORIENTATION] = orientation
    exif[0x010F] = CAMERA
    exif[0x8298] = COPYRIGHT
    exif.get_ifd(0x8769)[0x9003] = DATE  # DateTimeOriginal, in the Exif directory
    return exif


def archive_file(fmt: str, pixels=None) -> bytes:
    """A small photograph in ``fmt`` with a date, camera, copyright, orientation 6, XMP, IPTC
    (where the format holds it) and 300 dpi, as a camera or a scanner leaves them."""
    pixels = photo("astronaut", (12, 16)) if pixels is None else pixels
    source = metadata.Metadata(exif=archive_exif().tobytes(), xmp=XMP, iptc=IPTC, dpi=(300.0, 300.0))
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt, **metadata.pillow_options(source, fmt))
    return buffer.getvalue()


def recorded(data: bytes) -> dict:
    """What a reader finds in a file: EXIF tags, XMP, IPTC, DPI rounded to whole dots per inch."""
    image = Image.open(io.BytesIO(data))
    image.load()
    exif = image.getexif()
    read = images.decode(data).metadata
    return {
        "orientation": exif.get(metadata.ORIENTATION), "camera": exif.get(0x010F), "copyright": exif.get(0x8298),
        "date": exif.get_ifd(0x8769).get(0x9003), "xmp": read.xmp == XMP, "iptc": read.iptc == IPTC,
        "dpi": read.dpi and tuple(round(v) for v in read.dpi),
    }


EVERYTHING = {"orientation": 1, "camera": CAMERA, "copyright": COPYRIGHT, "date": DATE, "xmp": True, "iptc": True,
              "dpi": (300, 300)}
NOTHING = {"orientation": None, "camera": None, "copyright": None, "date": None, "xmp": False, "iptc": False,
           "dpi": None}
