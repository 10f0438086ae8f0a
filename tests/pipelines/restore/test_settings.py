"""The restore job's settings: what decides that an earlier output is still valid."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from pathlib import Path

import pytest

from pipelines.degrade import recipe as recipes
from restoreflow import card as card_rules, routing, zoo
from tests.helpers.restore import settings_for


@pytest.fixture(scope="module")
def settings(tmp_path_factory, gray_model):
    return settings_for(tmp_path_factory.mktemp("out"), gray_model)


def key_with(settings, **changes) -> str:
    return dataclasses.replace(settings, **changes).key


def test_the_key_follows_what_an_output_depends_on(settings):
    other_card = {**settings.card, "model_id": "another-model"}
    assert key_with(settings, card=other_card) != settings.key
    for change in ({"weights_sha256": "0" * 64}, {"tile_size": 256}, {"overlap": 9}, {"output_format": "PNG"}, {"reference": "/refs"},
                   {"write_images": False}, {"degrade": recipes.load("denoise-gray-s15")}):
        assert key_with(settings, **change) != settings.key, change
    paired = dataclasses.replace(settings, degrade=recipes.load("denoise-gray-s15"))
    assert key_with(paired, seed=1) != paired.key, "the seed matters in paired mode"


def test_the_key_ignores_what_does_not_change_an_output(settings):
    for change in ({"run_id": "another-run"}, {"batch_size": 16}, {"tf_threads": 7}, {"engine": "openvino"},
                   {"force": True}, {"seed": 5}, {"max_pixels": 10}):
        assert key_with(settings, **change) == settings.key, change


def test_the_flags_defaults_resolve_against_the_model(settings):
    assert settings.overlap == settings.receptive_field_radius == 3  # --overlap -1
    assert settings.tf_threads >= 1 and settings.output_format == "keep" and settings.write_images
    assert (settings.model_channels, settings.scale, settings.takes_mask, settings.task) == (1, 1, False, "denoise")


def test_the_default_overlap_is_the_one_measured_seam_free_never_above_the_radius(tmp_path, gray_model):
    """--overlap -1: the card's measured seam-free overlap (bench/jobs/seams.py), capped at the
    receptive-field radius (always seam-free); a given --overlap is kept."""
    measured = tmp_path / "measured"
    shutil.copytree(gray_model, measured)

    def overlap_with(overlap_px, *flags):
        card = json.loads((measured / "model.json").read_text())
        (measured / "model.json").write_text(json.dumps({**card, "inference": {"seams": {"overlap_px": overlap_px}}}))
        return settings_for(tmp_path / "out", str(measured), *flags).overlap

    assert overlap_with(2) == 2
    assert overlap_with(9) == 3  # the gray test model's radius
    assert overlap_with(2, "--overlap=1") == 1
    auto = settings_for(tmp_path / "out", "auto")
    measured_auto = [card_rules.seam_overlap_px(zoo.read_card(name).provenance) for name in routing.AUTO_MODELS]
    assert auto.overlap == (max(measured_auto) if None not in measured_auto else auto.receptive_field_radius)


def test_the_weights_hash_is_that_of_the_model_file_bundled_models_included(settings, gray_model, tmp_path):
    assert settings.weights_sha256 == hashlib.sha256((Path(gray_model) / "model.keras").read_bytes()).hexdigest()
    bundled = settings_for(tmp_path, "denoise-gray")
    assert bundled.weights_sha256 == hashlib.sha256((zoo.zoo_dir() / "denoise-gray" / "model.keras").read_bytes()
                                                    ).hexdigest()


def test_the_memory_budget_picks_the_tile_size_deterministically(tmp_path):
    """--tile_size 0 (the default): the largest tile that fits --tile_memory_mb, from the card
    alone (``restore`` is a U-Net 32 filters wide with size multiple 4), the same every time; a
    batch holds that many tile pixels."""
    def tile_size(*flags):
        return settings_for(tmp_path / "out", "restore", *flags).tile_size

    assert tile_size() == tile_size() == 1024  # 640 MB / (32 x 20 bytes per pixel) = 1024^2
    assert tile_size("--tile_memory_mb=160") == 512  # a quarter of the pixels
    assert tile_size("--batch_size=16") == 1024  # a batch takes the tiles that fit, up to --batch_size
    assert settings_for(tmp_path / "out", "restore").batch_pixels == 1024 * 1024
    assert tile_size("--tile_memory_mb=100") % 4 == 0 and tile_size("--tile_memory_mb=100") < 512
    assert tile_size("--tile_memory_mb=16") == 160  # small budgets still leave a core past the overlap
    assert tile_size("--tile_size=300") == 300  # a size given is kept
    gray = settings_for(tmp_path / "out", zoo.resolve("denoise-gray"))
    assert gray.tile_size == 1024 and gray.key != settings_for(tmp_path / "out", "denoise-gray", "--tile_size=512").key


def test_the_smallest_budget_keeps_a_core_past_the_overlap():
    from model import tiling

    side = tiling.size_for_budget(1, width=64, batch=1, overlap=45, multiple=4)
    assert side == 96 and side - 2 * 45 >= 4


def _summary(folder: Path, **fields) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    summary = {"run_id": "20261201T000000Z-abcdef", "counts": {"restored": 3}, "scores": {}, "gains": {}, **fields}
    (folder / "summary.json").write_text(json.dumps(summary))


def test_a_run_without_model_takes_auto_for_a_new_output_and_the_last_runs_model_for_an_old_one(tmp_path, caplog):
    from pipelines.restore.models import default_model

    caplog.set_level("INFO")
    assert default_model(str(tmp_path / "new")) == routing.AUTO
    _summary(tmp_path / "named", model="jpeg")
    assert default_model(str(tmp_path / "named")) == "jpeg"
    assert "jpeg, the model of this output's last run (20261201T000000Z-abcdef)" in caplog.text
    # Summaries from before they named the model: the default of then, or auto where it ran.
    _summary(tmp_path / "old", by_model={})
    assert default_model(str(tmp_path / "old")) == zoo.DEFAULT
    _summary(tmp_path / "old-auto", by_model={"jpeg": 2, "copy": 1})
    assert default_model(str(tmp_path / "old-auto")) == routing.AUTO
    _summary(tmp_path / "damaged" / "runs" / "20261201T000000Z-abcdef", model="sharpen")
    (tmp_path / "damaged" / "summary.json").write_text("{")  # the last run's, killed while writing
    assert default_model(str(tmp_path / "damaged")) == "sharpen"
