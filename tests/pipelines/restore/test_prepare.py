"""Preparing an image: skip what is done, the model's channels, the mask channel, the smallest
image. Plain functions and the DoFn's process, no pipeline."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from pipelines.imaging import channels, images
from pipelines.restore import errors, prepare, rerun
from tests.helpers.images import photo
from tests.helpers.restore import TINY_DNCNN, item, make_model, settings_for


@pytest.fixture(scope="module")
def models(tmp_path_factory, gray_model):
    rgb = make_model(tmp_path_factory.mktemp("models") / "rgb", args={**TINY_DNCNN, "channels": 3})
    return {"gray": gray_model, "rgb": rgb}


def pixels_of(image: np.ndarray, mask=None) -> prepare.Pixels:
    return prepare.Pixels(image, image.dtype, mask, None, None, None, None)


def test_the_model_gets_the_image_in_its_own_channels(tmp_path, models):
    gray, rgb = photo("camera", (8, 10)), photo("astronaut", (8, 10))
    on_gray_model = settings_for(tmp_path, models["gray"])
    same = prepare.model_input(pixels_of(gray), on_gray_model)
    assert same.rule == "same" and same.model_input.dtype == np.uint8, "8-bit stays 8-bit until tiles are cut"
    luma = prepare.model_input(pixels_of(rgb), on_gray_model)
    assert luma.rule == "luma" and luma.model_input.shape == (8, 10, 1) and luma.chroma.shape == (8, 10, 2)
    replicate = prepare.model_input(pixels_of(gray), settings_for(tmp_path, models["rgb"]))
    # gray stays gray and 8-bit: each tile is widened to colour as it is cut (a 100 MP photograph)
    assert replicate.rule == "replicate" and replicate.model_input.shape == (8, 10, 1)
    assert replicate.model_input.dtype == np.uint8
    tile = channels.widen(replicate.model_input, replicate.rule)
    assert tile.shape == (8, 10, 3) and np.array_equal(tile[..., 0], tile[..., 2])


def test_images_smaller_than_the_models_border_are_rejected(tmp_path, models):
    settings = settings_for(tmp_path, models["gray"])
    image = photo("camera", (3, 9))
    decoded = images.decode(item("dot.png", image).data)
    with pytest.raises(errors.Rejected, match="image is 9x3, too small to restore"):
        prepare.prepare(item("dot.png", image), decoded, pixels_of(image), None, 0.0,
                        prepare.chosen_for(settings, None), settings)


def test_the_meta_holds_the_before_scores_and_the_crop_and_the_model_input_travels_apart(tmp_path, models):
    image = photo("camera", (20, 24))
    recorded = prepare.Recorded("sha", None)
    settings = settings_for(tmp_path, models["gray"])
    out = prepare.prepare(item("a.png", image), images.decode(item("a.png", image).data), pixels_of(image), recorded,
                          0.0, prepare.chosen_for(settings, None), settings)
    assert out.meta.chosen.model_id == settings.model_id and out.meta.chosen.settings_key == settings.key
    assert out.meta.channel_plan.model_input is None and out.model_input.shape == (20, 24, 1)
    assert out.meta.before["psnr_db_degraded"] is None and out.meta.before["noise_sigma_degraded"] > 0
    assert np.array_equal(out.meta.crop_before, image) and out.meta.crop_box == (0, 0, 20, 24)


def test_a_done_image_is_skipped_only_while_its_output_is_what_was_recorded(tmp_path, models):
    settings = settings_for(tmp_path, models["gray"])
    image = item("a.png", photo("camera", (16, 16)))
    output = tmp_path / "restored" / "a.png"
    output.parent.mkdir()
    output.write_bytes(b"restored bytes")
    done = {"a.png": {"image_id": "a.png", "content_sha256": hashlib.sha256(image.data).hexdigest(),
                      "mask_sha256": None, "settings_key": settings.key, "output_path": str(output),
                      "output_sha256": hashlib.sha256(b"restored bytes").hexdigest(), "crop_path": "c.png"}}
    step = prepare.PrepareImages(settings)
    [skipped] = list(step.process(image, done=done))
    assert skipped.tag == prepare.SKIPPED and skipped.value.status == "skipped"
    assert skipped.value.output_path == str(output) and skipped.value.crop_path == "c.png"
    output.write_bytes(b"changed")
    [redone] = list(step.process(image, done=done))
    assert redone.meta.recorded.redone == rerun.CHANGED
    [other] = list(step.process(item("a.png", photo("moon", (16, 16))), done=done))
    assert other.meta.recorded.redone == rerun.REPLACED, "new content under a done name overwrites its output"
    output.unlink()
    [new] = list(step.process(item("a.png", photo("moon", (16, 16))), done=done))
    assert new.meta.recorded.redone is None, "new content is new work, not a redo"
