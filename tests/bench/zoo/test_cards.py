"""--write-cards: what was measured goes into model.json; nothing else changes."""

import json
import math

import pytest

from bench.zoo.baselines import Score
from bench.zoo.cards import updated_card, write_cards
from bench.zoo.runs import Measured, Throughput
from restoreflow.card import ModelCard

CARD = {
    "format": 1, "model_id": "unet-abc", "task": "denoise", "channels": 3, "scale": 1, "takes_mask": False,
    "receptive_field_radius": 9, "size_multiple": 4, "architecture": {"name": "unet", "args": {"channels": 3}},
    "params": 1000, "created_utc": "2026-11-30T00:00:00+00:00", "code_version": "0.1.0", "purpose": "colour noise",
    "scores": {"bsd68": {"sigma_25": {"psnr_db": 28.9}}, "protocol": "older scores"},
    "training": {"steps": 100},
}


def updated(card: dict, *args) -> dict:
    return updated_card(ModelCard.from_dict(card), *args).to_dict()


def measured(setting="sigma_25", psnr_db=31.02, model_id="unet-abc", before=20.6) -> Measured:
    score = Score(psnr_db=psnr_db, ssim=0.88123, psnr_db_degraded=before, images=68, seconds=30.0,
                  per_image={"a.png": (before, psnr_db)})
    return Measured(model="denoise-color", model_id=model_id, benchmark="cbsd68", setting=setting,
                    score=score, command="restoreflow restore --degrade denoise-color-s25 --seed 0", recipe=None,
                    baselines={"CBM3D": 30.7})


def throughput(model_id="unet-abc") -> Throughput:
    return Throughput(model="denoise-color", model_id=model_id, mp_per_s=0.31, images=68,
                      command="restoreflow restore --input ../shared/data/cbsd68 --model denoise-color --output OUT")


def test_scores_headline_and_throughput_are_merged_and_the_rest_kept():
    card = updated(CARD, [measured(), measured("sigma_50", 27.7)], ["a", "b", "c", "d"], throughput(), "M")
    assert card["scores"]["cbsd68"]["sigma_25"] == {
        "psnr_db": 31.02, "ssim": 0.8812, "psnr_db_degraded": 20.6, "images": 68, "machine": "M",
        "command": "restoreflow restore --degrade denoise-color-s25 --seed 0", "baselines_psnr_db": {"CBM3D": 30.7},
    }
    assert card["scores"]["cbsd68"]["sigma_50"]["psnr_db"] == 27.7
    assert card["scores"]["bsd68"] == CARD["scores"]["bsd68"] and card["scores"]["protocol"] == "older scores"
    assert card["headline"] == ["a", "b", "c"]
    assert card["throughput"] == {"mp_per_s": 0.31, "images": 68, "machine": "M", "command": throughput().command}
    assert {k: v for k, v in card.items() if k not in ("scores", "headline", "throughput")} == {
        k: v for k, v in CARD.items() if k != "scores"}
    assert "cbsd68" not in CARD["scores"]  # the argument is not changed


def test_without_headlines_the_old_ones_stay_and_an_infinite_input_score_is_null():
    card = updated({**CARD, "headline": ["old"]}, [measured("clean", 45.1, before=math.inf)], [], None, "M")
    assert card["headline"] == ["old"] and "throughput" not in card
    assert card["scores"]["cbsd68"]["clean"]["psnr_db_degraded"] is None


def test_a_card_of_another_model_is_refused():
    with pytest.raises(ValueError, match="the model changed"):
        updated(CARD, [measured(model_id="unet-other")], [], None, "M")
    with pytest.raises(ValueError, match="the model changed"):
        updated(CARD, [], [], throughput("unet-other"), "M")


def test_write_cards_touches_only_measured_models(tmp_path):
    for name in ("denoise-color", "jpeg"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "model.json").write_text(json.dumps({**CARD, "task": name}))
    models = {name: str(tmp_path / name) for name in ("denoise-color", "jpeg")}
    written = write_cards(models, [measured()], {"denoise-color": ["cbsd68 σ25 31.02 dB"]}, [], "M")
    assert written == [tmp_path / "denoise-color" / "model.json"]
    card = json.loads(written[0].read_text())
    assert card["headline"] == ["cbsd68 σ25 31.02 dB"] and card["scores"]["cbsd68"]["sigma_25"]["images"] == 68
    assert json.loads((tmp_path / "jpeg" / "model.json").read_text()) == {**CARD, "task": "jpeg"}
