import numpy as np
import pytest

from model import diffusion
from model.config import load_config
from restoreflow.configs import ConfigError
from tests.helpers.generator import clean_shards, config_dict

EDM = diffusion.EDM()


def test_the_sampler_lands_on_the_one_image_a_point_distribution_holds():
    # Data that is one image y0: the ideal denoiser is D(x; sigma) = y0, and the probability-flow
    # ODE carries any starting noise exactly onto y0, whatever the step count.
    y0 = np.random.default_rng(1).uniform(-1, 1, (1, 4, 4, 3))
    for steps in (1, 2, 7):
        x = diffusion.heun_sample(lambda x, sigma: y0, diffusion.starting_noise(0, 3, y0.shape),
                                  diffusion.sampling_sigmas(steps, EDM))
        np.testing.assert_allclose(x, y0, atol=1e-9)


def test_the_sampler_follows_the_ode_of_gaussian_data_at_second_order():
    # Data ~ N(0, s^2): D(x; sigma) = x s^2 / (s^2 + sigma^2), and the ODE scales the start
    # x_T by s / sqrt(s^2 + sigma_max^2) at sigma 0. Heun's method is 2nd order: twice the steps,
    # a quarter of the error (Euler's would halve it).
    s = EDM.sigma_data
    noise = diffusion.starting_noise(5, 0, (2, 3, 3, 1)).astype(np.float64)
    exact = noise * EDM.sigma_max * s / np.sqrt(s**2 + EDM.sigma_max**2)

    def error(steps):
        x = diffusion.heun_sample(lambda x, sigma: x * s**2 / (s**2 + sigma**2), noise,
                                  diffusion.sampling_sigmas(steps, EDM))
        return np.abs(x / exact - 1).max()

    assert error(80) < 5e-3
    assert error(40) / error(80) > 3.5 and error(80) / error(160) > 3.5


def test_noise_levels_run_from_sigma_max_down_to_zero():
    sigmas = diffusion.sampling_sigmas(5, EDM)
    assert len(sigmas) == 6 and sigmas[0] == pytest.approx(EDM.sigma_max) and sigmas[-2] == pytest.approx(EDM.sigma_min)
    assert sigmas[-1] == 0 and np.all(np.diff(sigmas) < 0)
    with pytest.raises(ValueError):
        diffusion.sampling_sigmas(0, EDM)


def test_starting_noise_is_a_function_of_seed_and_index_alone():
    a = diffusion.starting_noise(7, 2, (4, 4, 3))
    np.random.seed(123)  # global state must not matter
    assert np.array_equal(a, diffusion.starting_noise(7, 2, (4, 4, 3)))
    assert not np.array_equal(a, diffusion.starting_noise(7, 3, (4, 4, 3)))
    assert not np.array_equal(a, diffusion.starting_noise(8, 2, (4, 4, 3)))


def test_preconditioning_keeps_clean_images_at_no_noise_and_unit_scales():
    c_skip, c_out, c_in = diffusion.coefficients(np.array([1e-9, 0.5, 80.0]), 0.5)
    assert c_skip[0] == pytest.approx(1) and c_out[0] == pytest.approx(0, abs=1e-8)
    # a noisy input of variance sigma_data^2 + sigma^2 enters the network at unit variance
    np.testing.assert_allclose(c_in**2 * (0.25 + np.array([1e-18, 0.25, 6400.0])), 1)


@pytest.mark.slow
def test_the_objective_must_match_the_architecture(tmp_path):
    shards = clean_shards(tmp_path)
    from model import train

    wrong = [
        {**config_dict(shards, 1), "diffusion": {"objective": "none"}},
        {**config_dict(shards, 1), "model": {"architecture": "unet", "args": {"channels": 3, "width": 8, "levels": 1}}},
    ]
    messages = []
    for data in wrong:
        with pytest.raises(ConfigError) as e:
            train.train(load_config(None, base=data), str(tmp_path / "run"))
        messages.append(str(e.value))
    assert "set diffusion.objective: edm" in messages[0]
    assert "edm trains a noise-conditional architecture" in messages[1]
    with pytest.raises(ConfigError, match="sigma"):
        load_config(None, base={**config_dict(shards, 1), "diffusion": {"objective": "edm", "sigmas": 3}})
    with pytest.raises(ConfigError, match="diffusion.sigma_min"):
        load_config(None, base={**config_dict(shards, 1), "diffusion": {"sigma_min": 100.0}})


def test_the_noise_conditional_unet_takes_images_and_levels():
    from model import architectures

    net = architectures.build("diffusion_unet", {"width": 8, "levels": 2, "blocks": 1})
    out = net([np.zeros((2, 8, 12, 3), np.float32), np.array([[0.1], [-1.0]], np.float32)])
    assert out.shape == (2, 8, 12, 3)
    assert 1_000_000 <= architectures.build("diffusion_unet").count_params() <= 2_000_000  # the full-width default
    with pytest.raises(ConfigError, match="model.args.width"):
        architectures.describe("diffusion_unet", {"width": 12})


@pytest.mark.slow
def test_a_tiny_generator_trains_its_loss_falls_and_its_card_says_generate(tmp_path):
    from model import train
    from model.export import load_model

    config = load_config(None, base=config_dict(clean_shards(tmp_path), 80))
    result = train.train_model(config, str(tmp_path / "run"))
    losses = [loss for _, loss in result.history.losses]
    assert np.mean(losses[-20:]) < 0.85 * np.mean(losses[:10]), losses
    model_dir = train.export(result, str(tmp_path / "run"))
    network, card = load_model(model_dir)
    assert card["task"] == "generate" and card["channels"] == 3
    assert card["generation"]["image_size"] == [16, 16] and card["generation"]["sigma_max"] == EDM.sigma_max
    assert card["data"]["recipe"]["name"] == "clean" and card["training"]["config"]["optimizer"]["ema_decay"] == 0.9
    image = diffusion.Sampler(network, diffusion.EDM.from_card(card)).sample(seed=0, index=0, steps=3, shape=(16, 16, 3))
    assert image.dtype == np.uint8 and image.shape == (16, 16, 3) and image.std() > 0


def test_the_network_saves_and_loads_with_its_custom_layers(tmp_path):
    import keras

    from model import architectures

    net = architectures.build("diffusion_unet", {"width": 8, "levels": 1, "blocks": 1})
    net.get_layer("tail").set_weights([np.full(w.shape, 0.01, w.dtype) for w in net.get_layer("tail").get_weights()])
    inputs = [diffusion.starting_noise(0, 0, (1, 8, 8, 3)), np.array([[0.3]], np.float32)]
    before = np.asarray(net(inputs))
    assert np.abs(before).max() > 0
    net.save(tmp_path / "model.keras")
    np.testing.assert_allclose(np.asarray(keras.saving.load_model(tmp_path / "model.keras")(inputs)), before, atol=1e-6)
