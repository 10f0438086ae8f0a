"""The builders: any size, save/load round trip, and describe() checked against the real models.

Every model here is tiny (a few thousand parameters) so that the whole file runs in seconds
on a CPU.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

import model
from model import architectures, layers
from restoreflow.card import input_channels
from restoreflow.configs import ConfigError

# name -> small arguments; channels > 1 somewhere so that channel handling is exercised.
SMALL = {
    "dncnn": {"depth": 3, "width": 8},
    "unet": {"width": 4, "levels": 2, "blocks": 1},
    "sr_deconv": {"scale": 3, "depth": 2, "width": 8},
    "sr_subpixel": {"channels": 3, "scale": 2, "depth": 2, "width": 8},
    "sr_unet": {"channels": 3, "scale": 2, "width": 4, "levels": 2, "blocks": 1},
    "inpaint_unet": {"width": 4, "levels": 2, "blocks": 1},
    "noise_level_unet": {"width": 4, "levels": 2, "blocks": 1},
    "style_net": {"channels": 3, "width": 4, "blocks": 1},
}
ODD_SIZE = (37, 53)


def degraded_input(description: dict, size, *, seed: int, batch: int = 2) -> np.ndarray:
    """Random images in [0, 1]; for an inpainting model a binary mask as the last channel,
    with the masked pixels of the image set to 0 as the degradation does; for a model told
    its noise level, a constant level as the last channel."""
    rng = np.random.default_rng(seed)
    image = rng.uniform(size=(batch, *size, description["channels"])).astype(np.float32)
    if description.get("takes_noise_level"):
        return np.concatenate([image, np.full((batch, *size, 1), 25 / 255, np.float32)], axis=-1)
    if not description["takes_mask"]:
        return image
    mask = (rng.uniform(size=(batch, *size, 1)) < 0.3).astype(np.float32)
    return np.concatenate([image * (1 - mask), mask], axis=-1)


def run(network, x) -> np.ndarray:
    return np.asarray(network(x, training=False))


def test_builders_and_describers_cover_the_same_names():
    assert list(architectures.BUILDERS) == ["dncnn", "unet", "sr_deconv", "sr_subpixel", "sr_unet", "inpaint_unet",
                                            "noise_level_unet", "diagnosis_cnn", "style_net", "diffusion_unet"]
    extra = {"diagnosis_cnn": {"outputs"}, "diffusion_unet": {"conditioning"}, "noise_level_unet": {"takes_noise_level"}}
    for name in architectures.BUILDERS:
        geometry = {"channels", "scale", "takes_mask", "receptive_field_radius", "size_multiple"}
        # a damage estimator also says that it outputs estimates, not an image; a generator's
        # network that it takes the noise level too, and so does a denoiser told its level
        assert set(architectures.describe(name, {})) == geometry | extra.get(name, set())


@pytest.mark.parametrize("name", list(SMALL))
def test_odd_sizes_and_save_load_round_trip(name, tmp_path):
    network = architectures.build(name, SMALL[name])
    description = architectures.describe(name, SMALL[name])
    scale, channels = description["scale"], description["channels"]
    assert network.input_shape == (None, None, None, input_channels(description))

    x = degraded_input(description, ODD_SIZE, seed=1)
    before = run(network, x)
    assert before.shape == (2, ODD_SIZE[0] * scale, ODD_SIZE[1] * scale, channels)
    assert np.all(np.isfinite(before))

    path = tmp_path / "model.keras"
    network.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(run(loaded, x), before, atol=1e-6)


def test_custom_layers_are_registered_under_the_package_name():
    # What keras.saving.load_model looks up after `import model.layers` (model.export.load_model does it).
    assert model.layers is layers
    for cls in (layers.PadToMultiple, layers.CropToMatch, layers.PixelShuffle, layers.SplitMask, layers.KeepKnownPixels):
        assert keras.saving.get_registered_object(f"restoreflow>{cls.__name__}") is cls


# --- describe() against the built model -------------------------------------------------


def positive_kernels(network, rng) -> None:
    """Sets every kernel to small positive values (biases stay 0, batch norm at its identity-like
    initial state). Then every ReLU passes what it gets, nothing cancels, and a single bright
    input pixel lights up exactly the output pixels that depend on it: the test measures the
    wiring of the network, not the luck of random weights."""
    for layer in network.layers:
        if getattr(layer, "kernel", None) is None:
            continue
        kernel = layer.kernel
        fan_in = int(np.prod(kernel.shape[:-1]))
        values = rng.uniform(0.5, 1.0, size=kernel.shape) / fan_in
        if layer.name == "head" and network.name == "inpaint_unet":
            values[:, :, -1, :] = 0.0  # the mask channel: held constant (all missing) below
        kernel.assign(values.astype(np.float32))


def impulse_geometry(radius: int, multiple: int) -> tuple[int, int]:
    """(image size, first impulse position) that keep every path of length <= radius, from any
    impulse at centre + phase (phase < multiple) to any output within the radius, inside the
    image, so that the zero padding at the borders cuts none of them."""
    centre = 2 * radius + 2
    return centre + multiple + 2 * radius + 2, centre


def impulse_response(network, description, size: int, pixel: tuple[int, int]) -> np.ndarray:
    """|output change| for a single 1 at ``pixel`` in channel 0 of an all-zero image (mask all
    ones): against the all-zero image's output, which is not 0 for every network (the style
    network's sigmoid gives 0.5)."""
    x = np.zeros((1, size, size, input_channels(description)), np.float32)
    if description["takes_mask"]:
        x[..., -1] = 1.0  # every pixel missing: the output is the network's prediction everywhere
    baseline = run(network, x)[0]
    x[0, pixel[0], pixel[1], 0] = 1.0
    return np.abs(run(network, x)[0] - baseline).max(axis=-1)


def reach_in_input_pixels(response: np.ndarray, pixel: tuple[int, int], scale: int) -> int:
    """The largest distance (per axis) from ``pixel`` to an input pixel whose output changed;
    an output pixel (y, x) lies in input pixel (y // scale, x // scale)."""
    ys, xs = np.nonzero(response)
    return int(max(np.abs(ys // scale - pixel[0]).max(), np.abs(xs // scale - pixel[1]).max()))


@pytest.mark.parametrize("name", list(SMALL))
def test_receptive_field_radius_is_exact(name):
    network = architectures.build(name, SMALL[name])
    description = architectures.describe(name, SMALL[name])
    radius, multiple = description["receptive_field_radius"], description["size_multiple"]
    positive_kernels(network, np.random.default_rng(0))
    size, centre = impulse_geometry(radius, multiple)
    reaches = []
    # Every phase of the strided grid (diagonal suffices: the axes are independent).
    for phase in range(multiple):
        pixel = (centre + phase, centre + phase)
        reaches.append(reach_in_input_pixels(impulse_response(network, description, size, pixel), pixel, description["scale"]))
    assert max(reaches) == radius, reaches


@pytest.mark.parametrize("name", list(SMALL))
def test_size_multiple_is_the_translation_period(name):
    """Moving the input by ``size_multiple`` pixels moves the output with it; for U-Nets, moving
    it by one pixel changes the result (their strided grid has 2**levels phases)."""
    network = architectures.build(name, SMALL[name])
    description = architectures.describe(name, SMALL[name])
    radius, multiple, scale = (description[k] for k in ("receptive_field_radius", "size_multiple", "scale"))
    positive_kernels(network, np.random.default_rng(0))
    size, centre = impulse_geometry(radius, multiple)

    def response_around(offset: int) -> np.ndarray:
        pixel = (centre + offset, centre + offset)
        response = impulse_response(network, description, size, pixel)
        start = (pixel[0] - radius) * scale
        window = (2 * radius + 1) * scale
        return response[start : start + window, start : start + window]

    reference = response_around(0)
    np.testing.assert_allclose(response_around(multiple), reference, rtol=1e-5, atol=1e-7 * reference.max())
    if multiple > 1:
        assert not np.allclose(response_around(1), reference, rtol=1e-3)


# --- Behaviour of particular models -------------------------------------------------------


def test_inpainting_passes_known_pixels_through_exactly():
    network = architectures.build("inpaint_unet", SMALL["inpaint_unet"])
    description = architectures.describe("inpaint_unet", SMALL["inpaint_unet"])
    x = degraded_input(description, ODD_SIZE, seed=3)
    image, mask = x[..., :-1], x[..., -1:]
    # An untrained network starts as the identity (zero tail); give the tail weights, as
    # training would, to see where its output goes.
    tail = network.get_layer("tail")
    rng = np.random.default_rng(0)
    tail.set_weights([rng.normal(0, 0.1, w.shape).astype(np.float32) for w in tail.get_weights()])
    restored = run(network, x)
    known = np.broadcast_to(mask == 0, restored.shape)
    assert np.array_equal(restored[known], image[known])
    # The missing pixels come from the network (0 in the input, something else out).
    assert np.mean(restored[~known] != 0) > 0.9


@pytest.mark.parametrize("name", ["unet", "inpaint_unet"])
def test_untrained_unets_start_as_the_identity(name):
    network = architectures.build(name, SMALL[name])
    x = degraded_input(architectures.describe(name, SMALL[name]), ODD_SIZE, seed=4)
    channels = architectures.describe(name, SMALL[name])["channels"]
    np.testing.assert_allclose(run(network, x), x[..., :channels], atol=1e-6)


def test_dncnn_residual_and_biases():
    """Without batch norm every conv has a bias (the released weights' shape); the residual
    model returns input - prediction."""
    plain = architectures.dncnn(depth=4, width=8, batch_norm=False)
    convs = [layer for layer in plain.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [c.name for c in convs] == ["conv1", "conv2", "conv3", "conv4"]
    assert all(c.use_bias for c in convs)
    with_bn = architectures.dncnn(depth=4, width=8, batch_norm=True)
    assert [with_bn.get_layer(f"conv{i}").use_bias for i in range(1, 5)] == [True, False, False, True]

    prediction_only = architectures.dncnn(depth=4, width=8, batch_norm=False, residual=False)
    prediction_only.set_weights(plain.get_weights())
    x = np.random.default_rng(4).uniform(size=(1, 11, 13, 1)).astype(np.float32)
    np.testing.assert_allclose(run(plain, x), x - run(prediction_only, x), atol=1e-6)


def test_default_dncnn_has_the_papers_size():
    # 17 layers of 64: 555,137 weights and biases without batch norm (what the authors'
    # files hold), plus 15 batch norms of 4 x 64 (half of them moving statistics) minus the
    # 15 x 64 biases they replace.
    assert architectures.dncnn(batch_norm=False).count_params() == 555_137
    assert architectures.dncnn().count_params() == 555_137 + 15 * 4 * 64 - 15 * 64


def test_pixel_shuffle_matches_depth_to_space():
    import tensorflow as tf

    features = np.random.default_rng(5).normal(size=(2, 5, 7, 3 * 4)).astype(np.float32)
    expected = tf.nn.depth_to_space(features, 2).numpy()
    np.testing.assert_array_equal(np.asarray(layers.PixelShuffle(2)(features)), expected)


def test_pad_to_multiple_replicates_the_edge_and_crop_undoes_it():
    images = np.arange(1 * 3 * 1 * 2, dtype=np.float32).reshape(1, 3, 1, 2)
    padded = np.asarray(layers.PadToMultiple(4)(images))
    assert padded.shape == (1, 4, 4, 2)
    np.testing.assert_array_equal(padded[:, :3, 0], images[:, :, 0])
    np.testing.assert_array_equal(padded[:, 3], padded[:, 2])  # last row repeated
    np.testing.assert_array_equal(padded[:, :, 3], padded[:, :, 0])  # the single column repeated
    np.testing.assert_array_equal(np.asarray(layers.CropToMatch()([padded, images])), images)


def test_unet_accepts_a_single_pixel():
    network = architectures.build("unet", SMALL["unet"])
    assert run(network, np.full((1, 1, 1, 1), 0.5, np.float32)).shape == (1, 1, 1, 1)


# --- build() and describe() argument checks ----------------------------------------------


def test_build_names_an_unknown_argument_and_suggests():
    with pytest.raises(ConfigError, match=r"^model\.args\.depht: unknown argument of dncnn \(did you mean 'depth'\?\)"):
        architectures.build("dncnn", {"depht": 5})


def test_build_rejects_an_unknown_architecture():
    with pytest.raises(ConfigError, match=r"model\.architecture: unknown architecture 'unte' \(did you mean 'unet'\?\)"):
        architectures.build("unte", {})


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        ("dncnn", {"depth": "17"}, r"model\.args\.depth: expected an integer, got '17'"),
        ("dncnn", {"width": True}, r"model\.args\.width: expected an integer, got True"),
        ("dncnn", {"batch_norm": 1}, r"model\.args\.batch_norm: expected true or false, got 1"),
        ("sr_subpixel", {"scale": 5}, r"model\.args\.scale: must be one of 2, 3, 4, got 5"),
        ("unet", {"levels": 0}, r"model\.args\.levels: must be at least 1"),
    ],
)
def test_bad_argument_values_name_the_key(name, args, message):
    with pytest.raises(ConfigError, match=message):
        architectures.describe(name, args)
    with pytest.raises(ConfigError, match=message):
        architectures.build(name, args)


def test_describe_fills_in_defaults():
    assert architectures.describe("dncnn", {"depth": 20}) == {
        "channels": 1,
        "scale": 1,
        "takes_mask": False,
        "receptive_field_radius": 20,
        "size_multiple": 1,
    }
    assert architectures.describe("sr_deconv", {"scale": 4})["scale"] == 4
    assert architectures.describe("inpaint_unet", {"levels": 2})["size_multiple"] == 4


def test_untrained_sr_unet_starts_as_bicubic_upsampling():
    from model.layers import UpscaleBy

    network = architectures.build("sr_unet", SMALL["sr_unet"])
    x = degraded_input(architectures.describe("sr_unet", SMALL["sr_unet"]), ODD_SIZE, seed=5)
    np.testing.assert_allclose(run(network, x), np.asarray(UpscaleBy(2)(x)), atol=1e-6)
