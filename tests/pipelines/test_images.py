import io

import numpy as np
import pytest
from PIL import Image

from pipelines import images
from tests.conftest import photo, png_bytes


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


def test_float_conversion_rounds_and_clips():
    values = np.array([[[-0.2], [0.5], [1.3]]], np.float32)
    assert images.from_float(values, np.uint8).ravel().tolist() == [0, 128, 255]
    assert images.to_float(np.array([[[255]]], np.uint8))[0, 0, 0] == 1.0


def test_gray_conversion_matches_pillow():
    rgb = photo("astronaut", (16, 16))
    ours = images.to_gray(rgb)[..., 0].astype(int)
    pillows = np.asarray(Image.fromarray(rgb).convert("L")).astype(int)
    assert np.abs(ours - pillows).max() <= 1
