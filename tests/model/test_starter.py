from pathlib import Path

import numpy as np
import pytest
import yaml

from model.export import read_card
from pipelines import restore
from pipelines.imaging import images
from pipelines.quality import scoring
from restoreflow import zoo
from tests.helpers.images import photo, write_image


def test_the_bundled_starter_has_a_card_with_its_provenance_and_scores():
    folder = Path(zoo.resolve("denoise-gray"))
    card = read_card(folder)
    assert (folder / "model.keras").stat().st_size < 10 * 2**20  # "a few MB" inside the package
    assert card["channels"] == 1 and card["task"] == "denoise" and card["scale"] == 1
    assert card["data"]["manifest_sha256"] and card["data"]["seed"] is not None
    assert any("restoreflow shards" in line for line in card["reproduce"]["commands"])
    assert any("restoreflow train" in line for line in card["reproduce"]["commands"])
    assert card["scores"]["bsd68"]["sigma_25"]["images"] == 68
    # The shipped config.yaml is the one the card says it was trained with.
    shipped = yaml.safe_load((folder / "config.yaml").read_text())
    assert shipped["train"]["seed"] == card["training"]["config"]["train"]["seed"]
    assert shipped["model"] == {"architecture": card["architecture"]["name"], "args": card["architecture"]["args"]}


@pytest.mark.slow
def test_restore_without_model_diagnoses_a_new_output_and_a_gray_image_stays_gray(tmp_path):
    clean = photo("camera", (96, 128))
    write_image(tmp_path / "in" / "camera.png", clean)
    summary = restore.run([f"--input={tmp_path / 'in'}", f"--output={tmp_path / 'out'}",
                           "--degrade=denoise-gray-s25", "--seed=3"])
    assert summary["model"] == "auto" and summary["counts"] == {"restored": 1, "error": 0}
    assert set(summary["by_model"]) == {"restore"}  # gray noise sigma 25: the blind restorer
    restored = images.decode((tmp_path / "out" / "restored" / "camera.png").read_bytes()).pixels
    assert restored.shape == clean.shape and restored.dtype == np.uint8
    assert scoring.psnr_db(clean, restored) > summary["scores"]["psnr_db_degraded"]["mean"] + 4.0


@pytest.mark.slow
def test_an_output_keeps_the_model_of_its_last_run_when_a_rerun_names_none(tmp_path):
    """So a version whose default changed never redoes an archive a schedule keeps restoring."""
    assert zoo.DEFAULT == "restore" and read_card(zoo.resolve(zoo.DEFAULT))["channels"] == 3
    write_image(tmp_path / "in" / "camera.png", photo("camera", (96, 128)))
    flags = [f"--input={tmp_path / 'in'}", f"--output={tmp_path / 'out'}", "--degrade=denoise-gray-s25", "--seed=3"]
    first = restore.run([*flags, "--model=denoise-gray"])
    assert first["model"] == "denoise-gray" and first["counts"]["restored"] == 1
    again = restore.run(flags)
    assert again["model"] == "denoise-gray" and again["counts"].get("restored", 0) == 0
    assert again["model_id"] == read_card(zoo.resolve("denoise-gray"))["model_id"]
