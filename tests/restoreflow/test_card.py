import json

import pytest

from restoreflow import zoo
from restoreflow.card import CARD_FILE, CARD_VERSION, ModelCard, ModelDirError

CARD = {
    "format": 1, "model_id": "dncnn-0123456789abcdef", "task": "denoise", "channels": 1, "scale": 1,
    "takes_mask": False, "receptive_field_radius": 17, "size_multiple": 1,
    "architecture": {"name": "dncnn", "args": {"depth": 17}}, "params": 558017,
    "created_utc": "2026-11-30T00:00:00+00:00", "code_version": "0.1.0+gabc",
    "purpose": "gray noise", "headline": ["bsd68 σ25 29.2 dB"], "throughput": {"mp_per_s": 0.4},
    "scores": {"bsd68": {"sigma_25": {"psnr_db": 29.2}}}, "training": {"steps": 10}, "source": {"file": "x.mat"},
}


def test_every_bundled_card_is_version_1_and_round_trips_with_all_its_keys():
    assert zoo.names()
    for name in zoo.names():
        text = (zoo.zoo_dir() / name / CARD_FILE).read_text()
        card = ModelCard.from_json(text)
        assert json.loads(card.to_json()) == json.loads(text), name
        assert card.architecture.name in card.model_id


def test_typed_fields_and_provenance():
    card = ModelCard.from_dict(CARD)
    assert (card.channels, card.scale, card.takes_mask, card.receptive_field_radius) == (1, 1, False, 17)
    assert card.architecture.args == {"depth": 17}
    assert card.purpose == "gray noise" and card.headline == ["bsd68 σ25 29.2 dB"] and card.mp_per_s == 0.4
    assert set(card.provenance) == {"purpose", "headline", "throughput", "scores", "training", "source"}
    assert ModelCard.from_json(card.to_json()) == card
    changed = card.with_provenance(purpose="other")
    assert changed.purpose == "other" and card.purpose == "gray noise"


@pytest.mark.parametrize("version", [2, None, "1"])
def test_a_card_of_another_version_is_one_line_naming_the_file(version):
    data = {**CARD, "format": version} if version is not None else {k: v for k, v in CARD.items() if k != "format"}
    with pytest.raises(ModelDirError) as error:
        ModelCard.from_dict(data, source="models/x/model.json")
    message = str(error.value)
    assert message.startswith("models/x/model.json is a model card of format") and "\n" not in message
    assert f"reads format {CARD_VERSION}" in message


def test_missing_and_mistyped_fields_are_named():
    with pytest.raises(ModelDirError, match=r"model.json lacks receptive_field_radius, scale$"):
        ModelCard.from_dict({k: v for k, v in CARD.items() if k not in ("scale", "receptive_field_radius")})
    with pytest.raises(ModelDirError, match=r"model.json: channels: expected an integer, got '1'"):
        ModelCard.from_dict({**CARD, "channels": "1"})
    with pytest.raises(ModelDirError, match=r"is not valid JSON"):
        ModelCard.from_json("{")
