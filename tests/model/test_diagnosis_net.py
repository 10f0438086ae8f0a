"""The damage-diagnosis network trained by job 2 on shards of job 1 (tiny, real)."""

import numpy as np
import pytest

from model import diagnosis_net, train
from model.config import load_config
from pipelines.shards import job as make_shards
from restoreflow.diagnosis import INDEX, OUTPUTS
from tests.helpers.images import photo, write_image


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    """24x24 colour patches of four photographs through the diagnose recipe."""
    root = tmp_path_factory.mktemp("diagnose")
    for name in ("astronaut", "coffee", "chelsea", "rocket"):
        write_image(root / "clean" / f"{name}.png", photo(name, (64, 64)))
    make_shards.run([f"--input={root / 'clean'}", f"--output={root / 'shards'}", "--recipe=diagnose",
                     "--patch_size=24", "--stride=8", "--val_fraction=0.25", "--seed=3"])
    return str(root / "shards")


@pytest.mark.slow
def test_a_tiny_diagnosis_model_trains_exports_and_is_a_damage_estimator(shards, tmp_path, caplog):
    from model.export import load_model

    caplog.set_level("INFO", logger="restoreflow.train")
    config = load_config(None, base={
        "data": {"shards": shards, "batch_size": 16, "shuffle_buffer": 256, "val_batch_size": 32},
        "model": {"architecture": "diagnosis_cnn", "args": {"channels": 3, "width": 8, "stages": 3}},
        "optimizer": {"learning_rate": 0.002, "schedule": "constant"},
        "train": {"steps": 60, "log_every": 5, "eval_every": 30, "checkpoint_every": 1000},
    })
    result = train.train_model(config, str(tmp_path / "run"))
    losses = [loss for _, loss in result.history.losses]
    assert np.mean(losses[-10:]) < np.mean(losses[:10])
    model_dir = train.export(result, str(tmp_path / "run"))
    model, card = load_model(model_dir)
    assert card["task"] == "diagnose" and card["outputs"] == "diagnosis"
    assert set(card["validation"]["final"]) == {"loss", "noise_sigma_median_abs_error", "jpeg_accuracy",
                                                "undamaged_accuracy", "records"}
    during = [e.values["loss"] for e in result.history.evaluations if e.tag == "val"]
    assert card["validation"]["best"]["loss"] == min(during)  # the lowest loss is the best
    assert model(np.zeros((2, 64, 48, 3), np.float32)).shape == (2, len(OUTPUTS))


def test_the_loss_ignores_the_noise_colour_without_noise_and_the_quality_without_jpeg():
    clean = np.zeros((1, len(OUTPUTS)), np.float32)
    clean[0, INDEX["undamaged"]] = 1.0
    wild = clean.copy()
    wild[0, INDEX["noise_color"]] = 30.0  # a confident guess about a noise that is not there
    wild[0, INDEX["jpeg_quality"]] = 5.0
    base = diagnosis_net.diagnosis_loss(clean, clean).numpy()
    assert diagnosis_net.diagnosis_loss(clean, wild).numpy() == pytest.approx(base)
    noisy = clean.copy()
    noisy[0, INDEX["noise_sigma"]] = 0.5  # sigma 25: now the colour guess counts
    assert diagnosis_net.diagnosis_loss(noisy, wild + noisy - clean).numpy() > base + 1.0
