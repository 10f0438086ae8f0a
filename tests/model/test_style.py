"""Style synthesis in job 2: the seeded feature network and its losses, a tiny style network
trained on content shards, and the mistakes a style config can hold (one line, exit 2)."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from model import style_features, train
from model.config import load_config
from pipelines.shards import job as make_shards
from restoreflow.configs import ConfigError
from tests.helpers.images import photo, write_image

TINY_STYLE = {"architecture": "style_net", "args": {"channels": 3, "width": 4, "blocks": 1}}
SMALL_FEATURES = {"size": 48, "feature_widths": [8, 16, 32], "content_level": 1}


@pytest.fixture(scope="module")
def content(tmp_path_factory):
    """Content shards (clean 24x24 colour patches of three photographs) and a style image."""
    root = tmp_path_factory.mktemp("style")
    for name in ("astronaut", "coffee", "chelsea"):
        write_image(root / "clean" / f"{name}.png", photo(name, (48, 48)))
    write_image(root / "style.png", photo("rocket", (64, 64)))
    make_shards.run([f"--input={root / 'clean'}", f"--output={root / 'shards'}", "--recipe=content",
                     "--patch_size=24", "--stride=12", "--val_fraction=0"])
    return root


def style_config(root, **style):
    return {
        "data": {"shards": str(root / "shards"), "batch_size": 4, "shuffle_buffer": 32},
        "model": TINY_STYLE,
        "optimizer": {"learning_rate": 0.01, "schedule": "constant"},
        "train": {"steps": 40, "log_every": 10, "checkpoint_every": 1000},
        "style": {"image": str(root / "style.png"), **SMALL_FEATURES, **style},
    }


def images(*names, size=(32, 40)) -> np.ndarray:
    return np.stack([photo(name, size) for name in names]).astype(np.float32) / 255.0


def test_content_shards_hold_each_clean_patch_unchanged_as_its_input(content):
    import tensorflow as tf

    from model import data

    shards = str(content / "shards")
    manifest = data.read_manifest(shards)
    shapes = {k: v for k, v in data.example_shapes(manifest).items() if k != "mask"}
    records = tf.data.TFRecordDataset(data.shard_files(shards, manifest, "train"),
                                      compression_type=manifest.tfrecord_compression)
    examples = list(records.map(lambda record: data.decode(record, shapes)))
    assert len(examples) == manifest.counts.records.train > 0
    assert all(np.array_equal(e["clean"], e["degraded"]) for e in examples)
    assert manifest.task == "content" and list(manifest.channels) == [3]


def test_the_feature_network_is_a_function_of_its_seed():
    first, again = (style_features.feature_kernels(3, (8, 16), seed=4) for _ in range(2))
    other = style_features.feature_kernels(3, (8, 16), seed=5)
    assert [k.shape for k in first] == [(3, 3, 3, 8), (3, 3, 8, 16)]
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not any(np.array_equal(a, b) for a, b in zip(first, other))


def test_each_term_is_zero_for_its_own_target_and_not_for_another_image():
    style = images("rocket", size=(48, 48))[0]
    loss = style_features.style_loss(style, style_features.random_features(3, (8, 16, 32), seed=0), content_level=1,
                                     content_weight=1.0, style_weight=1.0, tv_weight=1.0)
    content = images("astronaut", "coffee")
    itself = loss.terms(content, content)
    assert np.allclose(itself["content"], 0) and np.all(itself["style"] > 0)
    styled = style[None].repeat(2, 0)
    assert np.allclose(loss.terms(styled, styled)["style"], 0, atol=1e-6)
    flat = np.full_like(content, 0.4)
    assert np.allclose(style_features.total_variation(flat), 0) and np.all(style_features.total_variation(content) > 0)
    assert loss(content, content).shape == (2,)


def test_a_flat_image_of_the_styles_mean_colour_matches_the_style_worse_than_the_style_itself():
    """The collapse found in the first real run (issue 24): with features of uncentred pixels a
    flat image of the style's mean colour scored a better style term than another crop of the
    style, and training converged to it."""
    y, x = np.mgrid[:96, :96].astype(np.float32)
    texture = np.stack([0.6 + 0.3 * np.sin(x / 2 + c) * np.sin(y / 3 - c) for c in range(3)], axis=-1)  # stationary
    loss = style_features.style_loss(texture[:48, :48], style_features.random_features(3, (16, 32, 64), seed=0),
                                     content_level=1, content_weight=1.0, style_weight=1.0, tv_weight=1.0)
    other_crop = texture[None, 41:89, 37:85]
    flat = np.broadcast_to(texture[:48, :48].mean(axis=(0, 1)), other_crop.shape).astype(np.float32)
    assert float(loss.terms(other_crop, other_crop)["style"][0]) < 0.2 * float(loss.terms(flat, flat)["style"][0])


def test_the_encoder_features_are_the_bundled_restorers_first_levels_and_reject_another_model():
    from model.style_encoder import ENCODER_LAYERS, encoder_features

    extract = encoder_features("restore", channels=3)
    found = extract(images("astronaut", size=(32, 40)))
    assert [tuple(f.shape) for f in found] == [(1, 32, 40, 32), (1, 16, 20, 64), (1, 8, 10, 128)]
    assert len(found) == len(ENCODER_LAYERS) and all(float(np.min(f)) >= 0 for f in found)  # ReLU responses
    assert len(extract(images("astronaut", size=(32, 40)), 2)) == 2
    with pytest.raises(ConfigError, match=r"style\.encoder_model denoise-gray: not a U-Net restorer of 3 channel"):
        encoder_features("denoise-gray", channels=3)
    with pytest.raises(ConfigError, match=r"style\.content_level: must lie within \[0, 2\] \(a level of the encoder"):
        load_config(None, base={"data": {"shards": "s"},
                                "style": {"image": "a.png", "feature_network": "encoder", "content_level": 3}})


def test_a_config_with_encoder_features_builds_its_loss_on_the_bundled_restorer(content):
    from model import style_training

    config = load_config(None, base=style_config(content, feature_network="encoder", content_level=1))
    loss = style_training.build_style_loss(config, channels=3)
    patches = images("astronaut", "coffee", size=(24, 24))
    assert len(loss.style_statistics) == 3 and np.allclose(loss.terms(patches, patches)["content"], 0)
    assert np.all(loss(patches, np.full_like(patches, 0.5)) > loss(patches, patches))


@pytest.mark.slow
def test_a_tiny_style_network_trains_on_content_shards_lowers_its_loss_and_says_it_is_a_style(content, tmp_path):
    import keras

    from model import architectures, style_training
    from model.export import load_model

    config = load_config(None, base=style_config(content))
    patches = images("astronaut", "coffee", "chelsea", size=(24, 24))
    loss = style_training.build_style_loss(config, channels=3)
    keras.utils.set_random_seed(config.train.seed)  # the weights training starts from
    untrained = architectures.build("style_net", TINY_STYLE["args"])
    before = float(np.mean(loss(patches, untrained(patches))))

    model, card = load_model(train.train(config, str(tmp_path / "run")))
    after = float(np.mean(loss(patches, model(patches))))
    assert after < 0.8 * before, (before, after)
    assert card["task"] == "style" and card["style"]["image"] == config.style.image
    assert len(card["style"]["image_sha256"]) == 64 and card["style"]["feature_seed"] == 0
    assert card["data"]["recipe"]["name"] == "content" and card["validation"]["final"] is None


def test_a_style_section_needs_its_image():
    for style in ({}, {"image": " "}):
        with pytest.raises(ConfigError, match=r"style\.image"):
            load_config(None, base={"data": {"shards": "s"}, "style": style})
    with pytest.raises(ConfigError, match=r"unknown key 'style\.imgae'"):
        load_config(None, base={"data": {"shards": "s"}, "style": {"imgae": "a.png"}})


@pytest.mark.parametrize("change, message", [
    ({"style": None}, "restoreflow train: error: model.architecture style_net learns a style: add a style: section"),
    ({"style": {"image": "missing.png"}}, "restoreflow train: error: style.image missing.png: cannot read it as an image"),
    ({"style": {"image": "not-an-image.png"}}, "restoreflow train: error: style.image not-an-image.png: cannot read it"),
])
def test_style_mistakes_are_one_line_and_exit_2(content, tmp_path, capsys, monkeypatch, change, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "not-an-image.png").write_text("a text file")
    config = {**style_config(content), **change}
    (tmp_path / "style.yaml").write_text(yaml.safe_dump(config))
    assert train.main(["--config", "style.yaml", "--workdir", "run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1, err
    assert not (tmp_path / "run" / "model").exists()


def test_a_style_refuses_shards_with_damage(tmp_path):
    clean = tmp_path / "clean"
    write_image(clean / "a.png", photo("coffee", (32, 32)))
    make_shards.run([f"--input={clean}", f"--output={tmp_path / 'shards'}", "--recipe=denoise-color-s25",
                     "--patch_size=24", "--stride=8", "--val_fraction=0"])
    config = load_config(None, base=style_config(tmp_path))
    with pytest.raises(ConfigError, match=r"a style trains on content shards .* holds denoise shards"):
        train.train(config, str(tmp_path / "run"))
