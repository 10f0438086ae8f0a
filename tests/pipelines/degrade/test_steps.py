"""Every registered degradation step samples JSON-able parameters and applies exactly them."""

import json

import numpy as np
import pytest

from pipelines.degrade import recipe as recipes
from pipelines.degrade.span import Span
from pipelines.degrade.steps import STEP_TYPES, InpaintMask
from restoreflow.configs import to_plain
from tests.helpers.images import photo

# One configuration of each step, as a recipe would write it.
EXAMPLES = {
    "gaussian_noise": {"noise_sigma": [5, 50], "color_probability": 0.5},
    "poisson_noise": {"peak": [10, 1000]},
    "gaussian_blur": {"blur_sigma": [0.5, 2.0], "anisotropic_probability": 0.5},
    "motion_blur": {"length": [3, 9]},
    "jpeg": {"quality": [20, 60]},
    "resize": {"scale_factor": [0.5, 0.9]},
    "downscale": {"scale": 2, "reupscale": True},
    "inpaint_mask": {},
    "film_grain": {"grain_sigma": [2, 8], "grain_size": [0.5, 1.5], "chroma": [0, 0.4]},
    "unsharp_mask": {"amount": [0.5, 1.5], "radius": [0.5, 1.5]},
    "sinc_filter": {"cutoff": [0.5, 2.0], "size": 11},
    "second_order": {"scale": 1, "clean_probability": 0.0},
}


def test_every_step_has_an_example():
    assert set(EXAMPLES) == set(STEP_TYPES)


@pytest.mark.parametrize("op", sorted(EXAMPLES))
def test_a_step_applies_the_parameters_it_sampled_and_the_recipe_applies_them_alike(op):
    step = recipes.parse({"name": "x", "task": "inpaint" if op == "inpaint_mask" else "denoise",
                          "steps": [{"op": op, **EXAMPLES[op]}]}).steps[0]
    params = {"op": op, **step.sample(np.random.default_rng(0))}
    assert json.loads(json.dumps(params)) == params  # stored in each record as JSON
    image = photo("astronaut", (48, 48)).astype(np.float32) / 255
    degraded, mask = step.apply(image, params, np.random.default_rng(1), 8)
    assert degraded.shape == image.shape and degraded.dtype == np.float32
    assert not np.array_equal(degraded, image)
    assert (mask is not None) == (op == "inpaint_mask")
    again, _ = recipes.apply(image, [params], np.random.default_rng(1), margin=8)
    np.testing.assert_array_equal(again, degraded)


def test_the_mask_is_drawn_inside_the_margin():
    step = InpaintMask(min_fraction=0.3, max_fraction=0.4)
    params = step.sample(np.random.default_rng(0))
    _, mask = step.apply(np.ones((40, 40, 1), np.float32), params, np.random.default_rng(0), 8)
    assert mask.shape == (40, 40, 1) and not mask[:8].any() and not mask[:, -8:].any()
    assert 0.3 <= mask[8:-8, 8:-8].mean() <= 0.4 + 1e-3


def test_an_unknown_sampled_op_is_refused():
    with pytest.raises(ValueError, match="unknown degradation op 'sharpen'"):
        recipes.apply(np.zeros((8, 8, 1), np.float32), [{"op": "sharpen"}], np.random.default_rng(0))


def test_spans_round_trip_through_the_recipe_yaml():
    recipe = recipes.parse({"name": "x", "task": "denoise", "steps": [{"op": "gaussian_noise", "noise_sigma": 25},
                                                                       {"op": "jpeg", "quality": [10, 40]}]})
    assert recipe.steps[0].noise_sigma == Span(25.0, 25.0) and recipe.steps[1].quality == Span(10.0, 40.0)
    assert recipes.parse(to_plain(recipe)) == recipe
