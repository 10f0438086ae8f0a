"""EXIF, XMP, IPTC and DPI: read on decoding, written by encoding where the format holds them."""

import dataclasses
import io

import numpy as np
import pytest
from PIL import Image

from pipelines.imaging import colour_profiles, images, metadata
from tests.helpers.images import photo
from tests.helpers.metadata import CAMERA, DATE, EVERYTHING, NOTHING, XMP, archive_exif, archive_file, recorded


def expected_in(fmt: str, holds=None) -> dict:
    holds = metadata.WHERE[fmt] if holds is None else holds
    fields = {"exif": ("orientation", "camera", "copyright", "date"), "xmp": ("xmp",), "iptc": ("iptc",),
              "dpi": ("dpi",)}
    return {key: EVERYTHING[key] if name in holds else NOTHING[key] for name, keys in fields.items() for key in keys}


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "TIFF", "WEBP"])
def test_metadata_survives_decode_and_encode_with_orientation_applied_and_reset(fmt):
    data = archive_file(fmt)
    decoded = images.decode(data)
    assert decoded.pixels.shape[:2] == (16, 12), "orientation 6 was applied to the pixels"
    written = images.encode(decoded.pixels, format=fmt, metadata=decoded.metadata)
    assert recorded(written) == expected_in(fmt)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "TIFF", "WEBP", "BMP", "PPM"])
def test_a_format_change_keeps_what_the_new_format_holds(fmt):
    decoded = images.decode(archive_file("JPEG"))
    icc = colour_profiles.srgb_profile()
    written = images.encode(decoded.pixels, format=fmt, metadata=decoded.metadata, icc_profile=icc)
    assert recorded(written) == expected_in(fmt)
    assert (images.decode(written).icc_profile == icc) == (fmt not in ("BMP", "PPM"))


@pytest.mark.parametrize("fmt, holds", [("PNG", {"exif", "xmp", "dpi"}), ("TIFF", {"xmp", "iptc", "dpi"})])
def test_16bit_colour_keeps_what_its_writers_hold(fmt, holds):
    decoded = images.decode(archive_file("JPEG"))
    deep = decoded.pixels.astype(np.uint16) * 257
    icc = colour_profiles.srgb_profile()
    written = images.encode(deep, format=fmt, metadata=decoded.metadata, icc_profile=icc)
    again = images.decode(written)
    assert again.pixels.dtype == np.uint16 and np.array_equal(again.pixels, deep)
    assert again.icc_profile == icc
    assert recorded(written) == expected_in(fmt, holds)


def test_super_resolution_scales_the_resolution_and_the_exif_sizes():
    exif = archive_exif(orientation=1)
    exif[0x011A], exif[0x011B] = 300.0, 300.0
    exif.get_ifd(0x8769).update({0xA002: 16, 0xA003: 12})
    source = metadata.Metadata(exif=exif.tobytes(), dpi=(300.0, 300.0))
    scaled = metadata.scaled(source, 2, (24, 32))
    assert scaled.dpi == (600.0, 600.0)
    loaded = Image.Exif()
    loaded.load(scaled.exif)
    assert (loaded[0x011A], loaded[0x011B]) == (600.0, 600.0)
    assert (loaded.get_ifd(0x8769)[0xA002], loaded.get_ifd(0x8769)[0xA003]) == (32, 24)
    assert loaded.get_ifd(0x8769)[0x9003] == DATE
    same = metadata.scaled(source, 1, (16, 12))  # orientation 6 applied: width and height swap
    loaded.load(same.exif)
    assert same.dpi == (300.0, 300.0) and loaded[0x011A] == 300.0
    assert (loaded.get_ifd(0x8769)[0xA002], loaded.get_ifd(0x8769)[0xA003]) == (12, 16)


def test_metadata_too_large_for_a_jpeg_segment_is_refused_with_the_reason():
    decoded = images.decode(archive_file("TIFF"))
    large = dataclasses.replace(decoded.metadata, xmp=b"<x:xmpmeta>" + b" " * 70_000 + b"</x:xmpmeta>")
    with pytest.raises(images.ImageError, match=r"^its XMP \(70023 bytes\) is over the 65504 bytes a JPEG segment holds; choose --format TIFF"):
        images.encode(decoded.pixels, format="JPEG", metadata=large)
    assert recorded(images.encode(decoded.pixels, format="TIFF", metadata=large))["camera"] == CAMERA


def test_an_unreadable_exif_is_noted_and_the_image_still_decoded():
    buffer = io.BytesIO()
    Image.fromarray(photo("camera", (8, 8))[..., 0]).save(buffer, format="JPEG", exif=b"Exif\x00\x00" + b"\xff" * 40,
                                                          xmp=XMP)
    decoded = images.decode(buffer.getvalue())
    assert decoded.metadata.exif is None and decoded.metadata.xmp == XMP
    assert decoded.note == "EXIF unreadable (ValueError: no tag could be parsed): not kept"


def test_files_without_metadata_get_none_and_tiff_layout_tags_are_not_copied_as_exif():
    plain = io.BytesIO()
    Image.fromarray(photo("camera", (8, 8))[..., 0]).save(plain, format="PNG")
    assert images.decode(plain.getvalue()).metadata == metadata.Metadata()
    exif = Image.Exif()
    exif.load(images.decode(archive_file("TIFF")).metadata.exif)
    assert exif[0x010F] == CAMERA
    assert not {256, 257, 273, 279} & set(exif), "the input's strip layout is no EXIF of the picture"
