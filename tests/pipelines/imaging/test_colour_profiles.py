"""CMYK inputs: converted through their ICC profile to sRGB, or refused with the reason."""

import io

import numpy as np
import pytest
from PIL import Image

from pipelines.imaging import colour_profiles, images
from tests.helpers.icc import cmyk_profile

# White paper, full cyan, full black, half black (C, M, Y, K).
INKS = np.array([[[0, 0, 0, 0], [255, 0, 0, 0], [0, 0, 0, 255], [0, 0, 0, 128]]], np.uint8)
GRAY_INKS = cmyk_profile(lambda c, m, y, k: 100 * (1 - k))  # only black ink darkens


def cmyk_file(fmt="JPEG", icc_profile=None) -> bytes:
    buffer = io.BytesIO()
    options = {"quality": 100} if fmt == "JPEG" else {}
    if icc_profile is not None:
        options["icc_profile"] = icc_profile
    Image.fromarray(INKS, mode="CMYK").save(buffer, format=fmt, **options)
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "TIFF"])
def test_cmyk_with_its_profile_is_converted_through_it_to_srgb(fmt):
    decoded = images.decode(cmyk_file(fmt, GRAY_INKS))
    assert decoded.source_mode == "CMYK" and decoded.note is None
    assert colour_profiles.colour_space(decoded.icc_profile) == "RGB", "never RGB pixels with a CMYK profile"
    assert decoded.icc_profile == colour_profiles.srgb_profile()
    paper, cyan, black, half = decoded.pixels[0].astype(int)
    assert paper.min() >= 250 and black.max() <= 5
    assert np.ptp(cyan) <= 2 and cyan.min() >= 250, "the profile says cyan ink is white here; Pillow's formula not"
    assert np.ptp(half) <= 2 and 110 <= half[0] <= 125, "L* 50 is sRGB 119, the formula gives 127"
    written = images.encode(decoded.pixels, format="PNG", icc_profile=decoded.icc_profile)
    assert Image.open(io.BytesIO(written)).info["icc_profile"] == colour_profiles.srgb_profile()


def test_cmyk_without_a_profile_is_converted_by_the_formula_and_says_so():
    decoded = images.decode(cmyk_file())
    assert decoded.icc_profile is None
    assert decoded.note == colour_profiles.NO_PROFILE_NOTE
    assert decoded.pixels[0, 1].tolist()[0] <= 5 and decoded.pixels[0, 1].tolist()[1] >= 250  # cyan


@pytest.mark.parametrize("profile, reason", [
    (b"not a profile at all", "ICC profile that cannot be read"),
    (colour_profiles.srgb_profile(), "ICC profile is for RGB, not CMYK"),
])
def test_cmyk_with_an_unusable_profile_is_refused_with_the_reason(profile, reason):
    with pytest.raises(images.ImageError, match=reason):
        images.decode(cmyk_file("TIFF", profile))
