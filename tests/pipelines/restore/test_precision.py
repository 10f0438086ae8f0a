"""--precision bf16 through the restore job: refused with one reason unless the model's card
allows it; where it runs, its outputs are keyed apart from f32's."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from model import engines
from pipelines.quality import scoring
from restoreflow.configs import ConfigError
from tests.helpers.images import photo, write_image
from tests.helpers.restore import read_pixels, run_restore, settings_for


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
