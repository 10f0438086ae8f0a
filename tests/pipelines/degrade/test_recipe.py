import numpy as np
import pytest
import yaml

from pipelines.degrade import pairs, recipe as recipes
from restoreflow.configs import ConfigError
from tests.helpers.images import photo

REQUIRED_BUILTINS = {
    "denoise-gray-s15", "denoise-gray-s25", "denoise-gray-s50", "denoise-gray-blind",
    "denoise-color-s15", "denoise-color-s25", "denoise-color-s50",
    "jpeg-q10-40", "sr-x2", "sr-x3", "sr-x4", "deblur", "inpaint", "blind-mixed",
}


def test_builtin_recipes_load():
    names = set(recipes.builtin_names())
    assert REQUIRED_BUILTINS <= names
    for name in names:
        assert recipes.load(name).name == name


def parse(text):
    return recipes.parse(yaml.safe_load(text))


def test_unknown_keys_are_named():
    with pytest.raises(ConfigError, match=r"recipe\.tsak.*did you mean 'task'"):
        parse("name: x\ntsak: denoise\nsteps: [{op: gaussian_noise, noise_sigma: 5}]")
    with pytest.raises(ConfigError, match=r"noise_sigmaa"):
        parse("name: x\ntask: denoise\nsteps: [{op: gaussian_noise, noise_sigmaa: 5}]")
    with pytest.raises(ConfigError, match=r"unknown operation 'gausian_noise'"):
        parse("name: x\ntask: denoise\nsteps: [{op: gausian_noise, noise_sigma: 5}]")


@pytest.mark.parametrize(
    "step, key",
    [
        ("{op: gaussian_noise, noise_sigma: 300}", "gaussian_noise.noise_sigma"),
        ("{op: gaussian_noise, noise_sigma: [30, 10]}", "noise_sigma"),
        ("{op: jpeg, quality: [0, 50]}", "jpeg.quality"),
        ("{op: gaussian_blur, blur_sigma: 2, probability: 1.5}", "gaussian_blur.probability"),
        ("{op: gaussian_noise, noise_sigma: yes}", "noise_sigma"),
    ],
)
def test_out_of_range_values_name_the_key(step, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        parse(f"name: x\ntask: denoise\nsteps: [{step}]")


def test_task_rules():
    with pytest.raises(ConfigError, match="task sr needs a downscale"):
        parse("name: x\ntask: sr\nsteps: [{op: jpeg, quality: 30}]")
    with pytest.raises(ConfigError, match="inpaint"):
        parse("name: x\ntask: denoise\nsteps: [{op: inpaint_mask}]")


def test_the_clean_recipe_of_generators_has_no_steps_and_its_pairs_are_the_patches_themselves(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="task generate takes no steps"):
        parse("name: x\ntask: generate\nmin_steps: 0\nsteps: [{op: jpeg, quality: 30}]")
    with pytest.raises(ConfigError, match="non-empty list of steps"):
        parse("name: x\ntask: denoise\nmin_steps: 0\nsteps: []")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "clean").mkdir()  # a folder named like the recipe does not hide it
    clean = recipes.load("clean")
    assert clean.task == "generate" and clean.steps == () and clean.color == "rgb"
    settings = pairs.PatchSettings(patch_size=16, stride=16)
    made = list(pairs.make_pairs(photo("astronaut", (32, 32)), recipe=clean, settings=settings, seed=0, image_id="a"))
    assert len(made) == 4 and all(np.array_equal(p.clean, p.degraded) and p.clean.shape == (16, 16, 3) for p in made)


def test_sampling_is_deterministic_per_generator():
    recipe = recipes.load("blind-mixed")
    first = recipe.sample(np.random.default_rng([1, 2, 3]))
    again = recipe.sample(np.random.default_rng([1, 2, 3]))
    other = recipe.sample(np.random.default_rng([1, 2, 4]))
    assert first == again and first != other


def test_shuffled_chain_applies_a_bounded_random_subset_in_random_orders():
    recipe = recipes.load("blind-mixed")
    draws = [recipe.sample(np.random.default_rng(i)) for i in range(200)]
    sizes = {len(d) for d in draws}
    assert sizes <= set(range(recipe.min_steps, recipe.max_steps + 1)) and len(sizes) > 1
    orders = {tuple(step["op"] for step in d) for d in draws}
    assert len(orders) > 20


def test_steps_of_the_original_come_first_and_are_not_counted_as_damage():
    recipe = recipes.load("diagnose")
    draws = [[step["op"] for step in recipe.sample(np.random.default_rng(i))] for i in range(300)]
    original = ("film_grain", "unsharp_mask")
    for ops in draws:
        firsts = [op for op in ops if op in original]
        assert ops[: len(firsts)] == firsts  # grain and sharpening precede every damage
        assert len(ops) - len(firsts) <= recipe.max_steps
    assert any(ops == ["film_grain"] for ops in draws)  # grain alone: an undamaged photograph
    with pytest.raises(ConfigError, match="max_steps"):
        recipes.parse({"name": "x", "task": "blind", "order": "shuffled", "max_steps": 2, "steps": [
            {"op": "film_grain", "grain_sigma": 4, "grain_size": 1, "chroma": 0},
            {"op": "jpeg", "quality": 50}]})


def test_blind_sigma_range_is_covered():
    recipe = recipes.load("denoise-gray-blind")
    sigmas = [recipe.sample(np.random.default_rng(i))[0]["noise_sigma"] for i in range(500)]
    assert 0 <= min(sigmas) < 3 and 52 < max(sigmas) <= 55


def test_patch_pairs_are_reproducible_and_independent_of_order():
    clean = photo("camera", (64, 64))
    recipe = recipes.load("deblur")
    settings = pairs.PatchSettings(patch_size=32, stride=16)
    first = list(pairs.make_pairs(clean, recipe=recipe, settings=settings, seed=7, image_id="a.png"))
    again = list(pairs.make_pairs(clean, recipe=recipe, settings=settings, seed=7, image_id="a.png"))
    assert len(first) == 9
    for a, b in zip(first, again):
        assert np.array_equal(a.degraded, b.degraded) and a.degradation == b.degradation
    other_seed = next(pairs.make_pairs(clean, recipe=recipe, settings=settings, seed=8, image_id="a.png"))
    assert not np.array_equal(other_seed.degraded, first[0].degraded)


def test_sr_pairs_have_scaled_shapes_and_whole_images_are_modcropped():
    clean = photo("astronaut", (50, 61))
    recipe = recipes.load("sr-x3")
    settings = pairs.PatchSettings(patch_size=24, stride=12)
    pair = next(pairs.make_pairs(clean, recipe=recipe, settings=settings, seed=0, image_id="x"))
    assert pair.clean.shape == (24, 24, 3) and pair.degraded.shape == (8, 8, 3)
    whole = next(pairs.make_pairs(clean, recipe=recipe, settings=pairs.PatchSettings(patch_size=0), seed=0, image_id="x"))
    assert whole.clean.shape == (48, 60, 3) and whole.degraded.shape == (16, 20, 3)


def test_unclipped_recipes_store_float16_and_others_the_clean_dtype():
    clean = photo("camera", (40, 40))
    whole = pairs.PatchSettings(patch_size=0)
    s25 = next(pairs.make_pairs(clean, recipe=recipes.load("denoise-gray-s25"), settings=whole, seed=0, image_id="x"))
    jpeg = next(pairs.make_pairs(clean, recipe=recipes.load("jpeg-q10-40"), settings=whole, seed=0, image_id="x"))
    assert s25.degraded.dtype == np.float16 and (s25.degraded < 0).any()
    assert jpeg.degraded.dtype == np.uint8


def test_colour_sigma_recipes_add_unclipped_noise_to_every_channel_independently():
    clean = photo("astronaut", (64, 64))
    pair = next(pairs.make_pairs(clean, recipe=recipes.load("denoise-color-s25"),
                                 settings=pairs.PatchSettings(patch_size=0), seed=0, image_id="x"))
    noise = pair.degraded.astype(np.float32) * 255 - clean
    assert pair.degraded.dtype == np.float16 and pair.degraded.shape == (64, 64, 3)
    assert (pair.degraded < 0).any() and (pair.degraded > 1).any()
    assert noise.std() == pytest.approx(25, rel=0.05)
    assert abs(np.corrcoef(noise[..., 0].ravel(), noise[..., 1].ravel())[0, 1]) < 0.05
    gray = pairs.prepare_clean(photo("camera", (8, 8)), recipes.load("denoise-color-s15"))
    assert gray.shape == (8, 8, 3)  # gray inputs become RGB


def test_inpaint_pairs_carry_the_mask():
    clean = photo("camera", (48, 48))
    pair = next(
        pairs.make_pairs(
            clean, recipe=recipes.load("inpaint"), settings=pairs.PatchSettings(patch_size=0), seed=3, image_id="x"
        )
    )
    assert pair.mask.shape == (48, 48, 1)
    assert 0.05 <= pair.degradation["masked_fraction"] <= 0.4 + 1e-3
    assert np.all(pair.degraded[pair.mask[..., 0] == 1] == 0)


def test_patch_grid_cap_and_too_small_images():
    settings = pairs.PatchSettings(patch_size=10, stride=5, max_patches=4)
    origins = pairs.patch_origins(30, 30, settings)
    assert len(origins) == 4 and origins[0] == (0, 0) and origins[-1] == (20, 20)
    with pytest.raises(pairs.TooSmall):
        pairs.patch_origins(8, 30, settings)


def test_split_is_stable():
    ids = [f"img{i}.png" for i in range(2000)]
    val = [i for i in ids if pairs.is_validation(i, 0.1)]
    assert 150 < len(val) < 250
    assert val == [i for i in ids if pairs.is_validation(i, 0.1)]
    assert pairs.stable_hash("abc") == pairs.stable_hash("abc") != pairs.stable_hash("abd")


def test_the_content_recipe_has_no_steps_and_only_the_clean_tasks_may_have_none():
    content = recipes.load("content")
    assert (content.task, content.steps, content.scale) == ("content", (), 1)
    assert content.sample(np.random.default_rng(0)) == []
    with pytest.raises(ConfigError, match="non-empty list of steps"):
        parse("name: x\ntask: denoise\nsteps: []")
    with pytest.raises(ConfigError, match="task content takes no steps"):
        parse("name: x\ntask: content\nmin_steps: 0\nsteps: [{op: gaussian_noise, noise_sigma: 5}]")
