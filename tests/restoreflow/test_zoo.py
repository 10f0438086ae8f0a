import json
from pathlib import Path

import pytest

from pipelines import restore
from restoreflow import routing, zoo
from restoreflow.configs import ConfigError
from tests.helpers.images import photo, write_image


def test_every_bundled_model_resolves_to_a_folder_with_its_card_and_weights():
    assert zoo.DEFAULT in zoo.names()
    for name in zoo.names():
        folder = Path(zoo.resolve(name))
        assert {"model.keras", "model.json", "config.yaml"} <= {f.name for f in folder.iterdir()}, name
        card = zoo.read_card(name)
        assert card.purpose and card.headline, f"{name}: the card needs a purpose and headline scores"
    assert zoo.resolve(None) == zoo.resolve(zoo.DEFAULT)


def test_a_model_directory_passes_through(tmp_path):
    assert zoo.resolve(str(tmp_path)) == str(tmp_path)
    assert zoo.resolve("gs://bucket/models/x") == "gs://bucket/models/x"


def test_a_misspelt_name_is_an_error_listing_the_bundled_models():
    with pytest.raises(ConfigError) as error:
        zoo.resolve("denoise-grey")
    message = str(error.value)
    assert "did you mean 'denoise-gray'" in message
    assert all(name in message for name in zoo.names())


def test_models_lists_each_bundled_model_with_what_it_is_for(capsys):
    assert zoo.main([]) == 0
    out = capsys.readouterr().out
    for name in zoo.names():
        assert name in out and zoo.read_card(name).purpose in out
    assert zoo.main(["--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [row["name"] for row in rows] == zoo.names()
    assert {row["name"] for row in rows if row["auto"]} == set(routing.AUTO_MODELS)


def test_models_rejects_unknown_arguments(capsys):
    assert zoo.main(["--jsn"]) == 2
    assert "--jsn" in capsys.readouterr().err


def test_restore_with_a_misspelt_model_name_is_one_line_naming_the_flag(tmp_path, capsys):
    write_image(tmp_path / "in" / "a.png", photo("camera", (32, 32)))
    code = restore.main([f"--input={tmp_path / 'in'}", f"--output={tmp_path / 'out'}", "--model=denoise-grey"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "--model" in err[0] and "denoise-gray" in err[0]


def test_the_bf16_column_says_whether_precision_bf16_may_run_the_model():
    assert zoo._bf16_cell(None) == "-"
    assert zoo._bf16_cell(0.013) == "yes (-0.01 dB)"
    assert zoo._bf16_cell(0.2) == "no (-0.20 dB)"
