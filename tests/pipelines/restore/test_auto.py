"""--model auto (each image to the bundled model its diagnosis picks) and --strength."""

import dataclasses
import io

import apache_beam as beam
import numpy as np
import pytest
from apache_beam.testing.util import assert_that
from PIL import Image

from pipelines.restore import RestoreImages
from restoreflow import routing
from restoreflow.configs import ConfigError
from restoreflow.diagnosis import Diagnosis
from tests.helpers.beam import local_pipeline
from tests.helpers.images import photo, write_image
from tests.helpers.restore import by_image_id, item, read_pixels, rows_of, run_restore, settings_for, sha256


def noisy(pixels, sigma=20.0):
    noise = np.random.default_rng(0).normal(0, sigma, pixels.shape)
    return np.clip(np.round(pixels + noise), 0, 255).astype(np.uint8)


def jpeg(pixels, quality=15) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


@pytest.mark.slow
def test_a_noisy_and_a_jpeg_image_go_to_different_models(tmp_path):
    settings = settings_for(tmp_path / "out", "auto")
    inputs = [item("noisy.png", noisy(photo("astronaut", (192, 192)))),
              item("blocky.jpg", data=jpeg(photo("coffee", (192, 192))))]

    def check(rows):
        assert rows["noisy.png"].chosen_model == "denoise-color"
        # JPEG found; the model is the rule's for that diagnosis (`jpeg` for JPEG alone, `restore`
        # when the diagnosis also reads JPEG's lost detail as softness, as it may on a tiny image)
        blocky = Diagnosis.from_columns(dataclasses.asdict(rows["blocky.jpg"]))
        assert blocky.jpeg_quality is not None and rows["blocky.jpg"].chosen_model == routing.choose(blocky).model
        assert rows["blocky.jpg"].chosen_model in ("jpeg", "restore")
        for row in rows.values():
            model_id, weights_sha256, _ = settings.auto_models[row.chosen_model]
            assert row.status == "restored" and row.model_id == model_id
            assert row.diagnosis_estimator and row.settings_key == settings.key_for(model_id, weights_sha256)
        assert rows["noisy.png"].diagnosis_noise_sigma > 15
        assert rows["blocky.jpg"].diagnosis_jpeg_quality is not None

    with local_pipeline() as p:
        rows, errors = p | beam.Create(inputs) | RestoreImages(settings)
        assert_that(rows, by_image_id(check), label="rows")
        assert_that(errors, lambda found: not found or pytest.fail(f"errors: {found}"), label="no errors")


@pytest.mark.slow
def test_strength_zero_writes_every_input_bit_exact(tmp_path):
    write_image(tmp_path / "in" / "a.png", noisy(photo("astronaut", (64, 80))))
    (tmp_path / "in" / "b.jpg").write_bytes(jpeg(photo("coffee", (64, 80))))
    summary = run_restore([tmp_path / "in"], tmp_path / "out", "restore", "--strength=0")
    assert summary["counts"]["restored"] == 2
    for name in ("a.png", "b.jpg"):
        assert sha256(tmp_path / "out" / "restored" / name) == sha256(tmp_path / "in" / name)
    assert {r["chosen_model"] for r in rows_of(tmp_path / "out")} == {"copy"}


@pytest.mark.slow
def test_a_rerun_after_a_strength_change_redoes_only_the_images_it_changes(tmp_path):
    clean = photo("chelsea", (96, 96))
    write_image(tmp_path / "in" / "clean.png", clean)
    write_image(tmp_path / "in" / "noisy.png", noisy(photo("astronaut", (96, 96))))
    first = run_restore([tmp_path / "in"], tmp_path / "out", "auto")
    rows = {r["image_id"]: r for r in rows_of(tmp_path / "out", first["run_id"])}
    copied = {i for i, r in rows.items() if r["chosen_model"] == "copy"}
    restored = {i for i, r in rows.items() if r["chosen_model"] != "copy"}
    assert "noisy.png" in restored
    half = run_restore([tmp_path / "in"], tmp_path / "out", "auto", "--strength=0.5")
    by_status = {r["image_id"]: r["status"] for r in rows_of(tmp_path / "out", half["run_id"])}
    assert {i for i, s in by_status.items() if s == "restored"} == restored
    assert {i for i, s in by_status.items() if s == "skipped"} == copied
    full = read_pixels(tmp_path / "out" / "restored" / "noisy.png")
    given = read_pixels(tmp_path / "in" / "noisy.png").astype(np.float64)
    assert np.abs(full - given).mean() > 0  # half way is neither the input nor nothing


def test_precision_auto_with_model_auto_is_left_to_each_model_and_bf16_needs_all_of_them(tmp_path):
    # each of auto's models resolves --precision auto on its own card (one without a measured
    # bf16 cost runs f32), so the key says auto; --precision bf16 needs every one of them to allow it
    assert settings_for(tmp_path / "out", "auto", "--precision=auto").precision == "auto"
    with pytest.raises(ConfigError, match=r"--precision bf16: .*--precision auto runs each of auto's models"):
        settings_for(tmp_path / "out", "auto", "--precision=bf16")


@pytest.mark.slow
def test_with_precision_auto_each_row_says_what_its_model_ran_in(tmp_path):
    from model import engines
    from pipelines.restore import models

    write_image(tmp_path / "in" / "noisy.png", noisy(photo("astronaut", (96, 96))))
    soft = Image.fromarray(photo("coffee", (200, 200))).resize((120, 120), Image.BICUBIC).resize((200, 200))
    write_image(tmp_path / "in" / "soft.png", np.asarray(soft))  # sharpen's, which has no bf16 cost
    run_restore([tmp_path / "in"], tmp_path / "out", "auto", "--precision=auto")
    rows = rows_of(tmp_path / "out")
    assert [r["status"] for r in rows] == ["restored", "restored"]
    for row in rows:  # bf16 only where the chosen model's card and this CPU allow it
        assert row["precision"] == engines.resolve_precision("auto", models.read_card(row["chosen_model"]), "auto")


@pytest.mark.parametrize(("flags", "message"), [
    (("--model=auto", "--strength=1.5"), "--strength 1.5: must lie within 0..1"),
    (("--model=diagnose",), "damage-diagnosis model"),
    (("--model=sr-x2", "--strength=0.5"), "--strength 0.5 blends"),
])
def test_mistakes_are_one_line(tmp_path, flags, message):
    from pipelines.restore import resolve_settings
    from pipelines.runtime import options as job_options

    options = job_options.parse([f"--output={tmp_path}", *flags], job_options.RestoreOptions, required=())
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        resolve_settings(options)

