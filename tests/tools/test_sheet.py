import numpy as np
import pytest

from tests.helpers.images import photo
from tools.sheet import enlarge_nearest, sheet


def test_a_sheet_places_every_crop_unchanged_under_its_label():
    crop = photo("astronaut", (24, 32))
    other = 255 - crop
    image = np.asarray(sheet([[("input", crop), ("output", other)], [("input", other), ("output", crop)]]))
    assert image.shape == (2 * (24 + 22 + 4) + 4, 2 * (32 + 4) + 4, 3)
    top, left = 4 + 22, 4
    np.testing.assert_array_equal(image[top:top + 24, left:left + 32], crop)
    np.testing.assert_array_equal(image[top:top + 24, left + 36:left + 68], other)
    assert (image[4:top, left:left + 32] < 128).any()  # the label is drawn


def test_crops_of_different_sizes_are_refused():
    with pytest.raises(ValueError, match="one size"):
        sheet([[("a", photo("astronaut", (8, 8))), ("b", photo("astronaut", (8, 9)))]])


def test_nearest_enlargement_repeats_pixels():
    small = photo("astronaut", (3, 4))
    big = enlarge_nearest(small, 4)
    assert big.shape == (12, 16, 3)
    np.testing.assert_array_equal(big[::4, ::4], small)
