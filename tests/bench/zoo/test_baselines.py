"""The benchmark's baselines: same inputs as the restore job, and the Richardson-Lucy choice."""

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from bench import common
from bench.zoo import baselines
from bench.zoo.baselines import Item, Score
from pipelines.degrade import ops, recipe as recipes
from pipelines.quality import scoring
from tests.helpers.images import photo, write_image

BLUR = recipes.parse({
    "name": "blur", "task": "deblur", "color": "rgb",
    "steps": [{"op": "gaussian_blur", "blur_sigma": 1.6}, {"op": "gaussian_noise", "noise_sigma": 2, "color_probability": 1.0}],
})


def score(psnr_db: float) -> Score:
    return Score(psnr_db=psnr_db, ssim=0.5, psnr_db_degraded=20.0, images=1, seconds=0.0, per_image={"a": (20.0, psnr_db)})


def test_best_iterations_takes_the_highest_mean_psnr_and_the_fewest_on_a_tie():
    assert baselines.best_iterations({5: score(27.0), 10: score(28.5), 20: score(28.1)}) == 10
    assert baselines.best_iterations({30: score(28.5), 10: score(28.5), 5: score(27.0)}) == 10


def test_the_iteration_search_stops_once_the_psnr_falls():
    curve = {10: 25.0, 20: 26.0, 30: 26.5, 50: 26.4, 80: 27.0}
    tried = baselines.search_iterations((80, 10, 30, 20, 50), lambda n: score(curve[n]))
    assert list(tried) == [10, 20, 30, 50] and baselines.best_iterations(tried) == 30
    assert list(baselines.search_iterations((10, 20), lambda n: score(curve[n]))) == [10, 20]


@pytest.mark.slow
def test_degraded_set_gives_the_restore_jobs_inputs(tmp_path):
    """The baselines' degraded images are the job's: per-image input PSNRs agree exactly."""
    from pipelines import restore
    from tests.helpers.restore import make_model

    folder = tmp_path / "clean"
    for name in ("astronaut", "chelsea"):
        write_image(folder / f"{name}.png", photo(name, (40, 48)))
    recipe_file = tmp_path / "blur.yaml"
    recipe_file.write_text("name: blur\ntask: deblur\ncolor: rgb\nsteps:\n  - {op: gaussian_blur, blur_sigma: 1.6}\n"
                           "  - {op: gaussian_noise, noise_sigma: 2, color_probability: 1.0}\n")
    model = make_model(tmp_path / "m", args={"channels": 3, "depth": 2, "width": 4, "batch_norm": False})
    summary = restore.run([f"--input={folder}", f"--model={model}", f"--output={tmp_path / 'out'}",
                           f"--degrade={recipe_file}", "--seed=0", "--write_images=none"])
    rows = pq.read_table(tmp_path / "out" / "scores" / summary["run_id"]).to_pylist()
    items = list(baselines.degraded_set(folder, recipes.load(str(recipe_file))))
    ours = baselines.score_outputs(items, [item.degraded for item in items], BLUR, seconds=0.0)
    assert {r["image_id"]: r["psnr_db_degraded"] for r in rows} == {k: v[0] for k, v in ours.per_image.items()}
    assert ours.psnr_db == pytest.approx(ours.psnr_db_degraded)  # the identity "baseline" scores as the input


def blurred_item(image_id="a", size=(64, 64)) -> Item:
    clean = photo("astronaut", size)
    rng = np.random.default_rng(0)
    steps = BLUR.sample(rng)
    degraded, _ = recipes.apply(clean.astype(np.float32) / 255, steps, rng)
    quantized = np.clip(np.rint(degraded * 255), 0, 255) / np.float32(255)
    return Item(image_id, clean, quantized.astype(np.float32), None, steps)


def test_true_blur_kernel_is_the_one_the_recipe_applied():
    item = blurred_item()
    expected = ops.gaussian_kernel(sigma_x=1.6, sigma_y=1.6, theta=0.0)
    np.testing.assert_array_equal(baselines.true_blur_kernel(item.steps), expected)
    with pytest.raises(ValueError, match="exactly one gaussian_blur"):
        baselines.true_blur_kernel([{"op": "gaussian_noise", "noise_sigma": 2, "color": True}])


def test_richardson_lucy_sharpens_and_the_best_count_is_the_grids_maximum():
    items = [blurred_item("a"), blurred_item("b", (48, 72))]
    best, chosen, grid = baselines.richardson_lucy_best(items, BLUR, grid=(1, 10, 30))
    assert chosen is grid[best] and chosen.psnr_db == max(s.psnr_db for s in grid.values())
    assert chosen.psnr_db > chosen.psnr_db_degraded + 0.5  # deconvolution with the true kernel helps
    restored = baselines.richardson_lucy(items[0], 10)
    assert restored.shape == items[0].clean.shape and restored.dtype == np.float32


def test_biharmonic_fills_the_holes_and_keeps_known_pixels():
    clean = photo("chelsea", (48, 48))
    mask = np.zeros((48, 48, 1), np.uint8)
    mask[10:20, 5:40] = 1
    degraded = ops.apply_mask(clean.astype(np.float32) / 255, mask)
    restored = baselines.biharmonic(Item("a", clean, degraded, mask, []))
    known = mask[..., 0] == 0
    np.testing.assert_allclose(restored[known], degraded[known], atol=1e-6)
    restored_8bit = np.clip(np.rint(restored * 255), 0, 255).astype(np.uint8)
    degraded_8bit = np.rint(degraded * 255).astype(np.uint8)
    assert scoring.psnr_db(clean, restored_8bit) > scoring.psnr_db(clean, degraded_8bit) + 10


def test_bicubic_returns_the_clean_size():
    clean = photo("astronaut", (32, 40))
    small = ops.downscale(clean.astype(np.float32) / 255, scale=2, reupscale=False)
    assert baselines.bicubic(Item("a", clean, small, None, [])).shape == clean.shape


def test_image_files_lists_nested_files_in_order(tmp_path):
    for name in ("b.png", "a.png", "sub/c.png"):
        write_image(tmp_path / name, photo("camera", (16, 16)))
    assert [p.relative_to(tmp_path).as_posix() for p in common.image_files(Path(tmp_path))] == [
        "a.png", "b.png", "sub/c.png"]


def test_unsharp_masking_sharpens_a_soft_colour_photograph():
    clean = photo("astronaut", (64, 64)).astype(np.float32) / 255
    soft = ops.resize(ops.resize(clean, height=38, width=38), height=64, width=64)
    item = Item("a", (clean * 255).round().astype(np.uint8), soft, None, [])
    sharpened = baselines.unsharp(1.0, 1.0)(item)
    assert sharpened.shape == clean.shape and 0.0 <= sharpened.min() and sharpened.max() <= 1.0
    assert np.abs(sharpened - clean).mean() < np.abs(soft - clean).mean()
