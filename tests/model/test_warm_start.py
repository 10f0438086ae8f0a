import numpy as np
import pytest

from model import architectures
from model.export import export_model
from model.warm_start import warm_start, widen
from restoreflow.configs import ConfigError

TINY_UNET = {"width": 4, "levels": 1, "blocks": 1}


def test_widened_input_axis_gives_a_gray_image_the_same_features():
    rng = np.random.default_rng(0)
    kernel = rng.standard_normal((3, 3, 1, 5)).astype(np.float32)
    patch = rng.random((3, 3, 1)).astype(np.float32)
    wide = widen(kernel, (3, 3, 3, 5), name="head/kernel")
    gray_as_rgb = np.repeat(patch, 3, axis=-1)
    np.testing.assert_allclose(np.einsum("hwc,hwco->o", gray_as_rgb, wide), np.einsum("hwc,hwco->o", patch, kernel),
                               rtol=1e-5)


def test_widened_output_axis_repeats_the_gray_correction():
    bias = np.array([0.25], np.float32)
    np.testing.assert_array_equal(widen(bias, (3,), name="tail/bias"), [0.25, 0.25, 0.25])


def test_a_shape_that_cannot_be_widened_names_the_weight():
    with pytest.raises(ConfigError, match="down0/kernel"):
        widen(np.zeros((3, 3, 4, 4)), (3, 3, 8, 4), name="down0/kernel")


def _export(model_args, folder):
    import keras

    keras.utils.set_random_seed(1)
    model = architectures.build("unet", model_args)
    # A non-zero tail, so that the check below sees the gray model's correction.
    tail = model.get_layer("tail")
    tail.set_weights([w + 0.01 for w in tail.get_weights()])
    card = {**architectures.describe("unet", model_args), "task": "denoise",
            "architecture": {"name": "unet", "args": model_args}}
    export_model(model, folder, card=card)
    return model


def test_a_colour_unet_started_from_a_gray_one_restores_gray_images_as_it_did(tmp_path):
    gray = _export({"channels": 1, **TINY_UNET}, tmp_path / "gray")
    colour = architectures.build("unet", {"channels": 3, **TINY_UNET})
    assert warm_start(colour, str(tmp_path / "gray")) == len([layer for layer in gray.layers if layer.weights])
    image = np.random.default_rng(2).random((1, 16, 16, 1)).astype(np.float32)
    expected = np.asarray(gray(image))
    restored = np.asarray(colour(np.repeat(image, 3, axis=-1)))
    for channel in range(3):
        np.testing.assert_allclose(restored[..., channel : channel + 1], expected, atol=1e-5)


def test_a_source_of_another_architecture_is_an_error_naming_the_layer(tmp_path):
    _export({"channels": 1, "width": 4, "levels": 2, "blocks": 1}, tmp_path / "deeper")
    with pytest.raises(ConfigError, match="model.init_from"):
        warm_start(architectures.build("unet", {"channels": 1, **TINY_UNET}), str(tmp_path / "deeper"))


def test_a_missing_source_is_an_error_naming_the_key(tmp_path):
    with pytest.raises(ConfigError, match="model.init_from.*not a model directory"):
        warm_start(architectures.build("unet", {"channels": 1, **TINY_UNET}), str(tmp_path / "none"))


def test_a_super_resolution_unet_starts_from_a_restorer_with_a_fresh_tail(tmp_path):
    _export({"channels": 3, **TINY_UNET}, tmp_path / "colour")
    sr = architectures.build("sr_unet", {"channels": 3, "scale": 2, **TINY_UNET})
    head_before = sr.get_layer("head").get_weights()[0].copy()
    copied = warm_start(sr, str(tmp_path / "colour"))
    assert not np.array_equal(sr.get_layer("head").get_weights()[0], head_before)
    assert not np.any(sr.get_layer("tail").get_weights()[0])  # fresh: zeros, so it starts as bicubic
    assert copied == len([layer for layer in sr.layers if layer.weights]) - 1


def test_an_inpainting_unet_starts_from_a_restorer_ignoring_the_mask(tmp_path):
    restorer = _export({"channels": 3, **TINY_UNET}, tmp_path / "colour")
    inpaint = architectures.build("inpaint_unet", {"channels": 3, **TINY_UNET})
    warm_start(inpaint, str(tmp_path / "colour"))
    rng = np.random.default_rng(3)
    image = rng.random((1, 16, 16, 3)).astype(np.float32)
    mask = (rng.random((1, 16, 16, 1)) < 0.2).astype(np.float32)
    expected = np.asarray(restorer(image))
    restored = np.asarray(inpaint(np.concatenate([image, mask], axis=-1)))
    known = mask[..., 0] == 0
    np.testing.assert_array_equal(restored[known], image[known])  # known pixels pass through
    np.testing.assert_allclose(restored[~known], expected[~known], atol=1e-5)  # the rest as the restorer


def test_a_noise_level_unet_starts_from_a_blind_denoiser_ignoring_the_level(tmp_path):
    blind = _export({"channels": 3, **TINY_UNET}, tmp_path / "colour")
    told = architectures.build("noise_level_unet", {"channels": 3, **TINY_UNET})
    warm_start(told, str(tmp_path / "colour"))
    image = np.random.default_rng(4).random((1, 16, 16, 3)).astype(np.float32)
    expected = np.asarray(blind(image))
    for level in (0.0, 25 / 255, 1.0):  # the new channel's weights start at zero
        restored = np.asarray(told(np.concatenate([image, np.full((1, 16, 16, 1), level, np.float32)], axis=-1)))
        np.testing.assert_allclose(restored, expected, atol=1e-5)
