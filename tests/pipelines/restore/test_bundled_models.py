"""Every bundled model, through the restore job: it loads, restores a colour and a gray photo,
and gives each back at the model's scale in the mode it came in (a gray image goes through a
colour model as three equal channels and comes back gray)."""

import numpy as np
import pytest
from PIL import Image

from restoreflow import zoo
from tests.helpers.images import photo, stroke_mask, write_image
from tests.helpers.restore import assert_accounted_once, errors_of, rows_of, run_restore

SIZE = (40, 52)  # height, width: not a multiple of any model's downsampling


@pytest.mark.slow
@pytest.mark.parametrize("name", zoo.restorers())
def test_a_bundled_model_restores_colour_and_gray_at_its_scale_in_their_modes(tmp_path, name):
    card = zoo.read_card(name)
    inputs, masks = tmp_path / "in", tmp_path / "masks"
    write_image(inputs / "colour.png", photo("astronaut", SIZE))
    write_image(inputs / "gray.png", photo("camera", SIZE)[..., :1])
    extra = []
    if card.takes_mask:
        for stem in ("colour", "gray"):
            write_image(masks / f"{stem}.png", stroke_mask(SIZE, [((3, 5), (45, 30))]))
        extra = [f"--masks={masks}"]
    summary = run_restore([inputs], tmp_path / "out", name, *extra)

    assert errors_of(tmp_path / "out") == []
    assert_accounted_once(tmp_path / "out", summary, ["colour.png", "gray.png"])
    assert {row["status"] for row in rows_of(tmp_path / "out")} == {"restored"}
    expected_size = (SIZE[1] * card.scale, SIZE[0] * card.scale)
    for stem, mode in (("colour", "RGB"), ("gray", "L")):
        with Image.open(tmp_path / "out" / "restored" / f"{stem}.png") as restored:
            assert (restored.size, restored.mode) == (expected_size, mode), stem
            assert np.ptp(np.asarray(restored)) > 0, f"{stem}: a flat image"


def test_the_zoo_covers_the_default():
    # The test above is parametrized over zoo.restorers(); it must not pass by covering nothing.
    assert zoo.DEFAULT in zoo.restorers()
    assert set(zoo.names()) - set(zoo.restorers()) == {"diagnose", *zoo.styles(), *zoo.generators()}
    assert len(zoo.styles()) >= 2 and zoo.generators() == ["generate-32"]
