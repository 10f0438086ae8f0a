import io

import numpy as np
import pytest
from PIL import Image

from pipelines.imaging import images
from tests.helpers.images import photo, png_bytes


def save(image: Image.Image, fmt="PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def test_gray_and_rgb_keep_their_pixels():
    gray = photo("camera", (20, 30))
    rgb = photo("astronaut", (20, 30))
    assert np.array_equal(images.decode(png_bytes(gray)).pixels, gray)
    decoded = images.decode(png_bytes(rgb))
    assert decoded.pixels.shape == (20, 30, 3) and decoded.alpha is None
    assert np.array_equal(decoded.pixels, rgb)


def test_alpha_is_split_off_untouched():
    rgb = photo("astronaut", (10, 12))
    alpha = np.arange(120, dtype=np.uint8).reshape(10, 12, 1)
    decoded = images.decode(png_bytes(np.concatenate([rgb, alpha], -1)))
    assert np.array_equal(decoded.pixels, rgb)
    assert np.array_equal(decoded.alpha, alpha)
    la = images.decode(save(Image.fromarray(np.dstack([rgb[..., 0], alpha[..., 0]]), "LA")))
    assert la.pixels.shape == (10, 12, 1) and np.array_equal(la.alpha, alpha)


def test_palette_with_transparency_becomes_rgba():
    image = Image.fromarray(photo("astronaut", (16, 16))).quantize(8)
    image.info["transparency"] = 0
    decoded = images.decode(save(image, transparency=0))
    assert decoded.pixels.shape == (16, 16, 3) and decoded.alpha is not None
    assert decoded.source_mode == "P"
    plain = images.decode(save(Image.fromarray(photo("astronaut", (16, 16))).quantize(8)))
    assert plain.pixels.shape == (16, 16, 3) and plain.alpha is None


def test_cmyk_converts_to_rgb():
    cmyk = Image.fromarray(photo("astronaut", (8, 8))).convert("CMYK")
    decoded = images.decode(save(cmyk, "JPEG", quality=95))
    assert decoded.pixels.shape == (8, 8, 3) and decoded.source_mode == "CMYK"


def test_16bit_gray_stays_16bit_and_round_trips():
    values = (np.arange(35 * 17).reshape(35, 17) * 97 % 65536).astype(np.uint16)
    decoded = images.decode(save(Image.fromarray(values)))
    assert decoded.pixels.dtype == np.uint16 and np.array_equal(decoded.pixels[..., 0], values)
    again = images.decode(images.encode(decoded.pixels, format="PNG"))
    assert np.array_equal(again.pixels, decoded.pixels)
    assert images.to_8bit(np.array([[[65535]]], np.uint16))[0, 0, 0] == 255


def test_exif_orientation_is_applied():
    pixels = photo("camera", (10, 30))  # landscape
    image = Image.fromarray(pixels[..., 0])
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise for display
    decoded = images.decode(save(image, "JPEG", exif=exif.tobytes(), quality=95))
    assert decoded.pixels.shape[:2] == (30, 10)


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "empty file"),
        (b"this is a text file, not a picture\n" * 3, "not a recognised image"),
    ],
)
def test_unusable_bytes_give_a_reason(data, reason):
    with pytest.raises(images.ImageError, match=reason):
        images.decode(data)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_files_are_rejected(fmt):
    data = save(Image.fromarray(photo("camera", (64, 64))[..., 0]), fmt)
    with pytest.raises(images.ImageError, match="truncated|unreadable"):
        images.decode(data[: len(data) // 2])


def test_pixel_limit_is_checked_from_the_header():
    data = save(Image.new("L", (300, 200)))
    with pytest.raises(images.ImageError, match="over the limit"):
        images.decode(data, max_pixels=300 * 200 - 1)
    assert images.decode(data, max_pixels=300 * 200).pixels.shape == (200, 300, 1)


def test_encode_refuses_what_a_format_cannot_hold():
    rgb = photo("astronaut", (4, 4))
    alpha = np.zeros((4, 4, 1), np.uint8)
    with pytest.raises(images.ImageError, match="alpha"):
        images.encode(rgb, format="JPEG", alpha=alpha)
    with pytest.raises(images.ImageError, match="16-bit"):
        images.encode(np.zeros((4, 4, 1), np.uint16), format="JPEG")


@pytest.mark.parametrize("channels", [1, 3])
def test_alpha_in_bmp_is_refused_before_pillow_writes_what_readers_show_opaque(channels):
    pixels = photo("astronaut", (4, 4))[..., :channels]
    alpha = np.full((4, 4, 1), 128, np.uint8)
    with pytest.raises(images.ImageError, match=r"^BMP would lose the alpha channel .*choose --format PNG or TIFF$"):
        images.check_writable("BMP", dtype=np.uint8, has_alpha=True)
    with pytest.raises(images.ImageError, match="BMP would lose the alpha channel"):
        images.encode(pixels, format="BMP", alpha=alpha)
    images.check_writable("PNG", dtype=np.uint8, has_alpha=True)


@pytest.mark.parametrize("fmt", ["PNG", "TIFF", "BMP"])
def test_a_bilevel_scan_stays_one_bit(fmt):
    scan = Image.fromarray(photo("text", (16, 24))[..., 0]).convert("1", dither=Image.Dither.NONE)
    decoded = images.decode(save(scan, fmt))
    assert decoded.source_mode == "1" and set(np.unique(decoded.pixels)) <= {0, 255}
    restored = np.clip(decoded.pixels.astype(int) + np.arange(-60, 60, 5)[None, :24, None], 0, 255).astype(np.uint8)
    thresholded = images.threshold(restored)
    assert set(np.unique(thresholded)) == {0, 255}
    written = Image.open(io.BytesIO(images.encode(thresholded, format=fmt, bilevel=True)))
    assert written.mode == "1"
    assert np.array_equal(np.asarray(written.convert("L"))[..., None], thresholded)


@pytest.mark.parametrize("shape, photometric", [((6, 5, 3), "rgb"), ((6, 5), "minisblack")])
def test_floating_point_tiffs_are_refused_with_the_reason(shape, photometric):
    import tifffile

    buffer = io.BytesIO()
    tifffile.imwrite(buffer, np.random.default_rng(0).random(shape, np.float32) * 4, photometric=photometric)
    with pytest.raises(images.ImageError, match=r"^32-bit floating-point image: not restored.*16-bit TIFF or PNG"):
        images.decode(buffer.getvalue())


def test_limit_messages_name_the_flag_and_small_sizes_in_pixels():
    data = save(Image.new("L", (30, 20)))
    with pytest.raises(images.ImageError, match=r"= 600 pixels, over the limit of 599 pixels \(raise --max_pixels"):
        images.decode(data, max_pixels=599)
    # Past twice Pillow's own limit its bomb check fires first: the message still names ours.
    with pytest.raises(images.ImageError, match=r"decompression bomb: over twice the limit of 100.0 MP \(--max_pixels\)"):
        images.decode(png_claiming(30_000, 20_000), max_pixels=100_000_000)


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels."""
    import struct
    import zlib

    data = bytearray(save(Image.new("L", (1, 1))))
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def deep_colour(shape=(9, 13, 3), seed=0) -> np.ndarray:
    """16-bit colour whose low bytes differ from their high bytes (8-bit would lose them)."""
    base = photo("astronaut", shape[:2]).astype(np.uint16) * 257
    return (base + np.random.default_rng(seed).integers(0, 200, shape)).astype(np.uint16)


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
@pytest.mark.parametrize("with_alpha", [False, True])
def test_16bit_colour_png_and_tiff_round_trip_at_16_bits(fmt, with_alpha):
    from PIL import ImageCms

    pixels = deep_colour()
    alpha = (np.arange(9 * 13, dtype=np.uint16) * 500).reshape(9, 13, 1) if with_alpha else None
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = images.encode(pixels, format=fmt, alpha=alpha, icc_profile=profile)
    decoded = images.decode(data)
    assert decoded.pixels.dtype == np.uint16 and np.array_equal(decoded.pixels, pixels)
    assert decoded.format == fmt and decoded.source_mode == ("RGBA;16" if with_alpha else "RGB;16")
    assert decoded.icc_profile == profile
    if with_alpha:
        assert np.array_equal(decoded.alpha, alpha)
    else:
        assert decoded.alpha is None


def test_16bit_tiff_from_other_writers_planar_and_oriented():
    import tifffile

    pixels = deep_colour()
    planar = io.BytesIO()
    tifffile.imwrite(planar, np.moveaxis(pixels, -1, 0), photometric="rgb", planarconfig="separate")
    assert np.array_equal(images.decode(planar.getvalue()).pixels, pixels)
    rotated = io.BytesIO()  # EXIF orientation 6: shown turned 90 degrees clockwise
    tifffile.imwrite(rotated, pixels, photometric="rgb", extratags=[(274, "H", 1, 6, True)])
    assert np.array_equal(images.decode(rotated.getvalue()).pixels, np.rot90(pixels, -1))


def test_files_holding_several_images_are_refused_with_a_reason():
    import tifffile

    pages = io.BytesIO()
    tifffile.imwrite(pages, np.stack([deep_colour(), deep_colour(seed=1), deep_colour(seed=2)]), photometric="rgb")
    with pytest.raises(images.ImageError, match=r"multi-page TIFF \(3 pages\).*split the pages"):
        images.decode(pages.getvalue())
    eight_bit_pages = io.BytesIO()
    frames = [Image.fromarray(photo(name, (8, 8))[..., 0]) for name in ("camera", "moon")]
    frames[0].save(eight_bit_pages, format="TIFF", save_all=True, append_images=frames[1:])
    with pytest.raises(images.ImageError, match=r"multi-page TIFF \(2 pages\)"):
        images.decode(eight_bit_pages.getvalue())
    animated = save(frames[0], "GIF", save_all=True, append_images=frames[1:])
    with pytest.raises(images.ImageError, match=r"animated GIF \(2 frames\)"):
        images.decode(animated)
    # A page that is a reduced-resolution preview of the first is not a page of its own.
    with_preview = io.BytesIO()
    with tifffile.TiffWriter(with_preview) as tiff:
        tiff.write(deep_colour(), photometric="rgb")
        tiff.write(deep_colour((4, 6, 3)), photometric="rgb", subfiletype=1)
    assert images.decode(with_preview.getvalue()).pixels.shape == (9, 13, 3)
