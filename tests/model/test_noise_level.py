"""A denoiser told its noise level (FFDNet's map): each record's sigma reaches the model as
one more input channel, and such a model trains and exports with its card saying so."""

import numpy as np
import pytest
import tensorflow as tf

from model import architectures, data, train
from model.config import load_config
from model.export import load_model
from pipelines.shards import job as make_shards
from restoreflow import records
from tests.helpers.images import photo, write_image

TINY = {"channels": 3, "width": 4, "levels": 1, "blocks": 1}


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    """Tiny real colour shards with sigma drawn in [0, 55] per patch (clipped, as files are)."""
    root = tmp_path_factory.mktemp("noise-level")
    for name in ("astronaut", "coffee", "chelsea"):
        write_image(root / "clean" / f"{name}.png", photo(name, (64, 64)))
    make_shards.run([f"--input={root / 'clean'}", f"--output={root / 'shards'}", "--recipe=denoise-color-blind",
                     "--patch_size=24", "--stride=12", "--val_fraction=0.34"])
    return str(root / "shards")


def test_a_noise_level_unet_takes_the_map_as_one_more_channel():
    model = architectures.build("noise_level_unet", TINY)
    tail = model.get_layer("tail")  # zero at the start (the output is the input): made to correct
    tail.set_weights([w + 0.01 for w in tail.get_weights()])
    info = architectures.describe("noise_level_unet", TINY)
    assert info["takes_noise_level"] and not info["takes_mask"] and info["channels"] == 3
    image = np.random.default_rng(0).random((1, 13, 17, 3)).astype(np.float32)
    outputs = [np.asarray(model(np.concatenate([image, np.full((1, 13, 17, 1), level, np.float32)], axis=-1)))
               for level in (0.0, 0.2)]
    assert outputs[0].shape == (1, 13, 17, 3) and not np.allclose(outputs[0], outputs[1])


@pytest.mark.slow
def test_each_records_sigma_reaches_the_model_as_a_constant_channel(shards):
    manifest = data.read_manifest(shards)
    files = data.shard_files(shards, manifest, "train")  # read once, in order, as validation is
    expected = [records.noise_sigma(records.parse_to_numpy(bytes(s.numpy()))["degradation"]) / 255
                for s in tf.data.TFRecordDataset(files, compression_type=manifest.tfrecord_compression)]
    batches = data.validation_dataset(files, shapes=data.example_shapes(manifest), takes_mask=False, batch_size=64,
                                      compression=manifest.tfrecord_compression, max_records=0,
                                      takes_noise_level=True)
    levels = np.concatenate([inputs.numpy()[..., 3] for inputs, _, _ in batches])
    assert levels.shape[1:] == (24, 24) and len(set(np.round(expected, 4))) > 3  # sigma varies by patch
    np.testing.assert_allclose(levels, np.broadcast_to(np.array(expected)[:, None, None], levels.shape), atol=1e-6)


@pytest.mark.slow
def test_a_noise_level_unet_trains_and_exports_a_card_that_says_so(shards, tmp_path):
    config = load_config(None, base={
        "data": {"shards": shards, "batch_size": 4, "shuffle_buffer": 16},
        "model": {"architecture": "noise_level_unet", "args": TINY},
        "optimizer": {"learning_rate": 0.003, "schedule": "constant"},
        "train": {"steps": 2, "log_every": 1, "eval_every": 1000, "checkpoint_every": 1000}})
    model, card = load_model(train.train(config, str(tmp_path / "run")))  # load_model checks 4 in, 3 out
    assert card["takes_noise_level"] is True and card["task"] == "denoise"
    assert model(np.zeros((1, 9, 11, 4), np.float32)).shape == (1, 9, 11, 3)


def test_a_lower_level_told_targets_the_input_with_that_much_noise_power_removed():
    clean, noisy = tf.fill((4, 4, 3), 0.5), tf.fill((4, 4, 3), 0.7)
    example = {"clean": clean, "degraded": noisy, "noise_level": tf.constant(0.2)}
    seen = {}
    for index in range(200):
        told = data.tell_level(example, tf.constant([7, index], tf.int64))
        share = float(told["noise_level"]) / 0.2
        kept = np.sqrt(max(0.0, 1 - share**2))
        np.testing.assert_allclose(told["clean"].numpy(), 0.5 + kept * 0.2, atol=1e-6)
        np.testing.assert_array_equal(told["degraded"].numpy(), noisy.numpy())  # the input is never changed
        seen[round(share, 6) == 1.0] = seen.get(round(share, 6) == 1.0, 0) + 1
    assert 60 < seen[True] < 140 and seen[False] > 60  # about half told their whole sigma, the rest less
    again = data.tell_level(example, tf.constant([7, 3], tf.int64))
    assert float(again["noise_level"]) == float(data.tell_level(example, tf.constant([7, 3], tf.int64))["noise_level"])
