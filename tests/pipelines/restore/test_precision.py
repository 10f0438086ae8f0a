"""--precision bf16 through the restore job: refused with one reason unless the model's card
allows it; where it runs, its outputs are keyed apart from f32's."""

from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pytest

from model import engines
from pipelines.quality import scoring
from restoreflow.configs import ConfigError
from tests.helpers.images import photo, write_image
from tests.helpers.restore import read_pixels, rows_of, run_restore, settings_for


def with_bf16_cost(model_dir: str, target, cost_db: float) -> str:
    shutil.copytree(model_dir, target)
    card = json.loads((target / "model.json").read_text())
    card["inference"] = {"bf16": {"psnr_cost_db": cost_db}}
    (target / "model.json").write_text(json.dumps(card))
    return str(target)


def test_bf16_is_refused_for_a_model_without_a_measured_cost(tmp_path, gray_model):
    with pytest.raises(ConfigError, match="--precision bf16: model .* has no measured bf16 cost"):
        settings_for(tmp_path / "out", gray_model, "--precision=bf16")


def test_bf16_is_refused_over_the_allowed_cost_and_on_tensorflow(tmp_path, gray_model):
    costly = with_bf16_cost(gray_model, tmp_path / "costly", 0.2)
    with pytest.raises(ConfigError, match="0.200 dB, over the 0.05 dB allowed"):
        settings_for(tmp_path / "out", costly, "--precision=bf16")
    cheap = with_bf16_cost(gray_model, tmp_path / "cheap", 0.01)
    with pytest.raises(ConfigError, match="openvino engine only"):
        settings_for(tmp_path / "out", cheap, "--precision=bf16", "--engine=tf")


@pytest.mark.slow
@pytest.mark.skipif(not engines.native_bf16(), reason="this CPU has no native bf16 (AVX512_BF16 or AMX)")
def test_bf16_runs_where_allowed_close_to_f32_and_under_its_own_key(tmp_path, gray_model):
    cheap = with_bf16_cost(gray_model, tmp_path / "cheap", 0.01)
    write_image(tmp_path / "in" / "camera.png", photo("camera", (64, 80)))
    f32 = run_restore([tmp_path / "in"], tmp_path / "out", cheap)
    bf16 = run_restore([tmp_path / "in"], tmp_path / "out", cheap, "--precision=bf16")
    assert bf16["counts"] == {"restored": 1, "error": 0}, "a bf16 run redoes what f32 restored"
    assert settings_for(tmp_path / "o", cheap, "--precision=bf16").key != settings_for(tmp_path / "o", cheap).key
    assert f32["counts"] == {"restored": 1, "error": 0}
    restored = read_pixels(tmp_path / "out" / "restored" / "camera.png").astype(int)
    assert restored.shape == (64, 80, 1)
    reference = run_restore([tmp_path / "in"], tmp_path / "f32-again", cheap)
    assert reference["counts"]["restored"] == 1
    by_f32 = read_pixels(tmp_path / "f32-again" / "restored" / "camera.png")
    # A random tiny net amplifies rounding more than a trained one; still within a few levels.
    assert scoring.psnr_db(by_f32, restored.astype(np.uint8)) > 40 and not np.array_equal(by_f32, restored)


def test_auto_picks_f32_on_a_cpu_without_bf16_and_records_what_ran(tmp_path, gray_model, monkeypatch):
    cheap = with_bf16_cost(gray_model, tmp_path / "cheap", 0.01)
    monkeypatch.setenv(engines.NO_BF16_ENV, "1")  # a worker CPU without AVX512_BF16 or AMX
    auto = settings_for(tmp_path / "o", cheap, "--precision=auto")
    assert auto.precision == "f32" and auto.key == settings_for(tmp_path / "o", cheap).key
    write_image(tmp_path / "in" / "camera.png", photo("camera", (40, 48)))
    summary = run_restore([tmp_path / "in"], tmp_path / "out", cheap, "--precision=auto")
    assert summary["counts"] == {"restored": 1, "error": 0}
    assert [row["precision"] for row in rows_of(tmp_path / "out")] == ["f32"]


def test_auto_takes_bf16_only_where_the_card_and_the_cpu_allow_it(tmp_path, gray_model, monkeypatch):
    monkeypatch.delenv(engines.NO_BF16_ENV, raising=False)
    costly = with_bf16_cost(gray_model, tmp_path / "costly", 0.2)
    cheap = with_bf16_cost(gray_model, tmp_path / "cheap", 0.01)
    for model, flags in ((gray_model, ()), (costly, ()), (cheap, ("--engine=tf",))):  # never an error: f32
        assert settings_for(tmp_path / "o", model, "--precision=auto", *flags).precision == "f32", model
    here = settings_for(tmp_path / "o", cheap, "--precision=auto")
    assert here.precision == ("bf16" if engines.native_bf16() else "f32")
    # a remote run's workers choose for themselves: its key is auto's own
    remote = dataclasses.replace(here, precision="auto")
    assert len({remote.key, settings_for(tmp_path / "o", cheap).key,
                dataclasses.replace(here, precision="bf16").key}) == 3
