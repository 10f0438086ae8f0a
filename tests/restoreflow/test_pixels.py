import numpy as np
import pytest
from PIL import Image

from restoreflow import pixels
from tests.helpers.images import photo


def test_float_conversion_rounds_and_clips():
    values = np.array([[[-0.2], [0.5], [1.3]]], np.float32)
    assert pixels.from_float(values, np.uint8).ravel().tolist() == [0, 128, 255]
    assert pixels.from_float(values, np.uint16).ravel().tolist() == [0, 32768, 65535]
    assert pixels.to_float(np.array([[[255]]], np.uint8))[0, 0, 0] == 1.0
    assert pixels.to_float(np.array([[[65535]]], np.uint16))[0, 0, 0] == 1.0
    stored = np.array([[[0.25]]], np.float16)
    assert pixels.as_float(stored).dtype == np.float32 and pixels.as_float(stored)[0, 0, 0] == 0.25


def test_16_bit_to_8_bit_maps_the_ends_exactly():
    assert pixels.to_8bit(np.array([0, 257, 65535], np.uint16)).tolist() == [0, 1, 255]


def test_gray_conversion_matches_pillow():
    rgb = photo("astronaut", (16, 16))
    ours = pixels.to_gray(rgb)[..., 0].astype(int)
    pillows = np.asarray(Image.fromarray(rgb).convert("L")).astype(int)
    assert np.abs(ours - pillows).max() <= 1


def test_full_range_ycbcr_round_trips_and_keeps_a_gray_picture_gray():
    rgb = pixels.to_float(photo("astronaut", (16, 16)))
    ycbcr = pixels.rgb_to_ycbcr(rgb)
    np.testing.assert_allclose(pixels.ycbcr_to_rgb(ycbcr), rgb, atol=1e-5)
    np.testing.assert_allclose(ycbcr[..., 0], pixels.luma(rgb), atol=1e-6)
    gray = np.repeat(rgb[..., :1], 3, axis=-1)
    np.testing.assert_allclose(pixels.rgb_to_ycbcr(gray)[..., 0], gray[..., 0], atol=1e-6)
    np.testing.assert_allclose(pixels.rgb_to_ycbcr(gray)[..., 1:], 0.5, atol=1e-6)


def test_rgb_to_y_is_matlab_rgb2ycbcr_luma():
    rgb = np.array([[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 255, 0], [0, 0, 255]])
    # MATLAB rgb2ycbcr on uint8: black 16, white 235, red 81, green 145, blue 41 (rounded).
    assert np.round(pixels.rgb_to_y(rgb)).tolist() == [16, 235, 81, 145, 41]
    assert pixels.rgb_to_y(rgb * 257, 65535.0) == pytest.approx(pixels.rgb_to_y(rgb) * 257)
