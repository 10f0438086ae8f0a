import numpy as np
import pytest

from pipelines.degrade import calibration, recipe as recipes
from tests.helpers.images import photo, write_image

NOISE = recipes.parse({"name": "noise", "task": "denoise", "color": "rgb",
                       "steps": [{"op": "gaussian_noise", "noise_sigma": 25}]})


@pytest.fixture
def photos(tmp_path):
    names = ("astronaut", "chelsea", "coffee", "rocket")
    return [write_image(tmp_path / f"{name}.png", photo(name, (64, 96))) for name in names]


def test_pairs_are_seeded_crops_with_the_recipes_damage(photos):
    found = calibration.calibration_pairs(photos, NOISE, count=6, size=32, seed=3)
    assert len(found) == 6
    for degraded, clean in found:
        assert degraded.shape == clean.shape == (32, 32, 3)
        assert degraded.dtype == np.float32 and 0 <= degraded.min() and degraded.max() <= 1
        noise = degraded * 255 - clean.astype(np.float32)
        assert 12 < noise.std() < 30  # sigma 25 on the 0-255 scale, less where clipping at 0 or 255 cuts it
    again = calibration.calibration_pairs(photos, NOISE, count=6, size=32, seed=3)
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(found, again))
    other = calibration.calibration_pairs(photos, NOISE, count=6, size=32, seed=4)
    assert not all(np.array_equal(a[0], b[0]) for a, b in zip(found, other))


def test_crops_spread_over_the_images_and_stop_at_what_they_hold(photos):
    # each 64x96 image holds 2x3 = 6 crops of 32: 8 asked of 4 images is 2 from each
    found = calibration.calibration_pairs(photos, NOISE, count=8, size=32, seed=0)
    cleans = {name: np.asarray(photo(name, (64, 96))) for name in ("astronaut", "chelsea", "coffee", "rocket")}
    sources = [next(name for name, pixels in cleans.items() if _crop_of(clean, pixels)) for _, clean in found]
    assert sorted(sources) == sorted(2 * list(cleans))
    assert len(calibration.calibration_pairs(photos, NOISE, count=100, size=32, seed=0)) == 4 * 6


def test_images_smaller_than_a_tile_give_none(photos, tmp_path):
    tiny = write_image(tmp_path / "tiny.png", photo("camera", (16, 16)))
    tiles = calibration.calibration_tiles([tiny, *photos], NOISE, count=5, size=32, seed=0)
    assert len(tiles) == 4 and all(tile.shape == (32, 32, 3) for tile in tiles)  # one from each of the others
    assert calibration.calibration_tiles([tiny], NOISE, count=5, size=32, seed=0) == []
    with pytest.raises(ValueError, match="count and size"):
        calibration.calibration_tiles(photos, NOISE, count=0, size=32, seed=0)


def _crop_of(crop: np.ndarray, image: np.ndarray) -> bool:
    return any(np.array_equal(crop, image[y:y + 32, x:x + 32]) for y in range(0, 64, 32) for x in range(0, 96, 32))
