"""The second-order ("real-world") chain: kernels, operators, recipes, seeding and sizes."""

import json
import math

import numpy as np
import pytest
import yaml

from pipelines.degrade import kernels, ops, pairs, recipe as recipes
from pipelines.degrade.realworld import SecondOrder
from restoreflow.configs import ConfigError
from tests.helpers.images import photo


@pytest.mark.parametrize("kind", kernels.KERNEL_KINDS)
def test_kernels_are_normalised_centred_and_point_symmetric(kind):
    kernel = kernels.shaped_kernel(kind=kind, size=15, sigma_x=2.5, sigma_y=1.0, theta=0.4, beta=1.5)
    assert kernel.shape == (15, 15) and kernel.sum() == pytest.approx(1.0, abs=1e-5)
    assert kernel.argmax() == kernel.size // 2
    np.testing.assert_allclose(kernel, kernel[::-1, ::-1], atol=1e-7)


def test_anisotropic_kernels_are_wider_along_their_long_axis_and_iso_ignore_the_second_sigma():
    wide = kernels.shaped_kernel(kind="aniso", size=15, sigma_x=3.0, sigma_y=1.0, theta=0.0, beta=1.0)
    assert wide[7, :].sum() > 2 * wide[:, 7].sum()  # spread along x (columns) at theta 0
    iso = kernels.shaped_kernel(kind="iso", size=15, sigma_x=2.0, sigma_y=0.5, theta=1.0, beta=1.0)
    np.testing.assert_allclose(iso, iso.T, atol=1e-7)


def test_generalised_and_plateau_shapes_follow_beta():
    def centre_share(kind, beta):  # mass within radius 2 of the centre
        k = kernels.shaped_kernel(kind=kind, size=21, sigma_x=2.0, sigma_y=2.0, theta=0.0, beta=beta)
        return k[8:13, 8:13].sum()

    # beta < 1: heavier tails (less mass at the centre) than the Gaussian; beta > 1: a flat top.
    gaussian = centre_share("iso", 1.0)
    assert centre_share("generalized_iso", 0.5) < gaussian < centre_share("generalized_iso", 4.0)
    assert centre_share("plateau_iso", 2.0) > centre_share("plateau_iso", 1.0)


def test_sinc_filter_rings_and_overshoots_at_an_edge():
    edge = np.zeros((32, 32, 1), np.float32)
    edge[:, 16:] = 1.0
    kernel = kernels.sinc_kernel(size=21, cutoff=math.pi / 3)
    assert kernel.sum() == pytest.approx(1.0, abs=1e-5) and kernel.min() < 0
    out = ops.filter2d(edge, kernel)
    assert out.max() > 1.02 and out.min() < -0.02  # overshoot on both sides of the edge
    np.testing.assert_allclose(ops.filter2d(np.full((16, 16, 3), 0.4, np.float32), kernel), 0.4, atol=1e-5)


def test_filter2d_mirrors_borders_like_convolve():
    image = photo("astronaut", (24, 20)).astype(np.float32) / 255
    kernel = ops.gaussian_kernel(sigma_x=1.5, sigma_y=0.7, theta=0.3)
    np.testing.assert_allclose(ops.filter2d(image, kernel), ops.convolve(image, kernel), atol=1e-5)


def test_scaled_poisson_noise_grows_with_scale_and_gray_is_shared():
    image = np.full((64, 64, 3), 0.5, np.float32)
    weak = ops.scaled_poisson_noise(image, scale=0.5, gray=False, rng=np.random.default_rng(0))
    strong = ops.scaled_poisson_noise(image, scale=2.0, gray=False, rng=np.random.default_rng(0))
    assert (strong - image).std() == pytest.approx(4 * (weak - image).std(), rel=1e-5)
    assert (strong - image).std() * 255 == pytest.approx(2.0 * math.sqrt(0.5 * 255), rel=0.1)
    gray = ops.scaled_poisson_noise(image, scale=1.0, gray=True, rng=np.random.default_rng(0))
    assert np.array_equal(gray[..., 0], gray[..., 2]) and gray.std() > 0


def real_world(name, clean, seed, patch=0, stride=16):
    settings = pairs.PatchSettings(patch_size=patch, stride=stride)
    return list(pairs.make_pairs(clean, recipe=recipes.load(name), settings=settings, seed=seed, image_id="a.png"))


def test_the_chain_is_seeded_and_recorded():
    clean = photo("astronaut", (64, 64))
    first, again = real_world("real-world-x2", clean, 3, 32), real_world("real-world-x2", clean, 3, 32)
    for a, b in zip(first, again):
        assert a.degradation == b.degradation and np.array_equal(a.degraded, b.degraded)
    assert json.loads(json.dumps(first[0].degradation)) == first[0].degradation
    other = real_world("real-world-x2", clean, 4, 32)
    assert [p.degradation for p in other] != [p.degradation for p in first]
    assert not all(np.array_equal(a.degraded, b.degraded) for a, b in zip(first, other))
    # The record is enough: applying the recorded steps again gives the same image.
    image = clean.astype(np.float32) / 255
    steps = first[0].degradation["steps"]
    one, _ = recipes.apply(image, steps, np.random.default_rng(9))
    two, _ = recipes.apply(image, steps, np.random.default_rng(9))
    np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize("name,scale", [("real-world-x1", 1), ("real-world-x2", 2), ("real-world-x4", 4),
                                        ("real-world-mild-x2", 2), ("real-world-mild-x4", 4)])
def test_every_draw_ends_at_exactly_the_clean_size_over_the_scale(name, scale):
    recipe = recipes.load(name)
    assert recipe.scale == scale and recipe.sr_factor == scale and recipe.task == ("blind" if scale == 1 else "sr")
    clean = photo("astronaut", (70, 53))
    for seed in range(12):
        whole = real_world(name, clean, seed)[0]
        height, width = whole.clean.shape[:2]
        assert height % scale == 0 and width % scale == 0
        assert whole.degraded.shape == (height // scale, width // scale, 3) and whole.degraded.dtype == np.uint8
    for pair in real_world(name, clean, 0, patch=32):
        assert pair.degraded.shape == (32 // scale, 32 // scale, 3)


def test_a_clean_fraction_comes_back_unharmed():
    step = SecondOrder(scale=1, clean_probability=0.25)
    draws = [step.sample(np.random.default_rng(seed)) for seed in range(400)]
    share = np.mean([d["clean"] for d in draws])
    assert 0.18 < share < 0.32
    image = photo("astronaut", (32, 32)).astype(np.float32) / 255
    clean_draw = next(d for d in draws if d["clean"])
    same, _ = step.apply(image, clean_draw, np.random.default_rng(0), 0)
    np.testing.assert_array_equal(same, image)
    x4 = SecondOrder(scale=4).apply(image, {**clean_draw, "scale": 4}, np.random.default_rng(0), 0)[0]
    np.testing.assert_allclose(x4, ops.downscale(image, scale=4, reupscale=False), atol=1e-6)
    damaged = next(d for d in draws if not d["clean"])
    assert not np.allclose(step.apply(image, damaged, np.random.default_rng(0), 0)[0], image, atol=2 / 255)


def parse(steps):
    return recipes.parse(yaml.safe_load(f"name: x\ntask: sr\nsteps: [{steps}]"))


@pytest.mark.parametrize("step, key", [
    ("{op: second_order, scale: 4, second: {noise_sigma: [1, 300]}}", "second_order.second.noise_sigma"),
    ("{op: second_order, scale: 4, first: {resize_down: [0.0, 1.0]}}", "second_order.first.resize_down"),
    ("{op: second_order, scale: 4, first: {jpeg_quality: [30, 99]}}", "second_order.first.jpeg_quality"),
    ("{op: second_order, scale: 4, clean_probability: 1.5}", "second_order.clean_probability"),
    ("{op: second_order, scale: 5}", "second_order.scale"),
    ("{op: second_order, scale: 4, first: {kernels: {iso: -1}}}", "second_order.first.kernels"),
    ("{op: second_order, scale: 4, first: {nois_sigma: 3}}", "first.nois_sigma"),
    ("{op: sinc_filter, cutoff: [0.1, 1]}", "sinc_filter.cutoff"),
])
def test_an_impossible_range_is_one_line_naming_the_key(step, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")) as error:
        parse(step)
    assert "\n" not in str(error.value)


def test_a_size_keeping_task_refuses_a_shrinking_chain_and_sr_needs_one():
    with pytest.raises(ConfigError, match="keeps the size"):
        recipes.parse({"name": "x", "task": "blind", "steps": [{"op": "second_order", "scale": 4}]})
    with pytest.raises(ConfigError, match="task sr needs"):
        recipes.parse({"name": "x", "task": "sr", "steps": [{"op": "second_order", "scale": 1}]})
