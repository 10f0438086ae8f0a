"""The generator benchmark's measures on tiny arrays: KID tells one distribution from another,
the nearest-neighbour distance finds a copy, the fitted Gaussian keeps the patches' statistics."""

import numpy as np
import pytest

from bench.jobs import generate_data, generate_metrics as metrics


def test_kid_is_near_zero_for_two_draws_of_one_distribution_and_large_for_different_ones():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((400, 16)), rng.standard_normal((400, 16))
    shifted = rng.standard_normal((400, 16)) * 1.5 + 0.5
    same, same_spread = metrics.kid(a, b, subsets=10, subset_size=200)
    different, _ = metrics.kid(shifted, b, subsets=10, subset_size=200)
    assert abs(same) < 3 * same_spread + 1e-3
    assert different > 50 * max(abs(same), same_spread)


def test_the_mmd_estimate_is_unbiased_zero_on_average_over_draws():
    rng = np.random.default_rng(1)
    values = [metrics.mmd2_unbiased(rng.standard_normal((30, 4)), rng.standard_normal((30, 4))) for _ in range(200)]
    assert abs(np.mean(values)) < 3 * np.std(values) / np.sqrt(len(values))


def test_paired_subsets_rank_a_closer_set_below_a_farther_one():
    rng = np.random.default_rng(3)
    reference = rng.standard_normal((400, 16))
    closer, farther = rng.standard_normal((400, 16)) * 1.1, rng.standard_normal((400, 16)) * 1.2
    near = metrics.kid_subsets(closer, reference, subsets=20, subset_size=100)
    far = metrics.kid_subsets(farther, reference, subsets=20, subset_size=100)
    mean, spread, lower = metrics.paired(near, far)
    assert mean == pytest.approx(near.mean() - far.mean()) and mean < 0 and lower > 0.5
    with pytest.raises(ValueError, match="as many subsets"):
        metrics.paired(near, far[:5])


def test_kid_refuses_sets_too_small_to_estimate():
    with pytest.raises(ValueError, match="at least 2"):
        metrics.kid(np.zeros((1, 3)), np.zeros((5, 3)))


def test_nearest_distance_is_zero_for_a_copy_and_the_rms_difference_otherwise():
    rng = np.random.default_rng(2)
    reference = rng.integers(0, 256, (50, 8, 8, 3), dtype=np.uint8)
    assert np.all(metrics.nearest_distances(reference[[3, 17]], reference) == 0)
    moved = reference[[5]].astype(np.int16) + 4  # every value 4 away (none clipped below 252)
    moved = np.where(reference[[5]] > 250, reference[[5]].astype(np.int16) - 4, moved).astype(np.uint8)
    assert metrics.nearest_distances(moved, reference)[0] == pytest.approx(4.0)


def test_pooled_features_are_seeded_and_tell_flat_from_textured_images():
    rng = np.random.default_rng(3)
    textured = rng.integers(0, 256, (4, 16, 16, 3), dtype=np.uint8)
    flat = np.full((4, 16, 16, 3), 128, np.uint8)
    first = metrics.pooled_features(textured, widths=(4, 8))
    assert first.shape == (4, 2 * (4 + 8))
    np.testing.assert_array_equal(first, metrics.pooled_features(textured, widths=(4, 8)))
    other = metrics.pooled_features(rng.integers(0, 256, (4, 16, 16, 3), dtype=np.uint8), widths=(4, 8))
    to_flat = np.linalg.norm(metrics.pooled_features(flat, widths=(4, 8)) - first, axis=1).min()
    assert to_flat > 1.5 * np.linalg.norm(other - first, axis=1).max()


def test_the_fitted_gaussian_keeps_the_patches_mean_and_covariance():
    rng = np.random.default_rng(4)
    base = rng.integers(60, 200, (1, 2, 2, 3)).astype(np.float64)
    patches = np.clip(base + rng.normal(0, 10, (3000, 2, 2, 3)), 0, 255).astype(np.uint8)
    drawn = generate_data.fitted_gaussian(patches, 3000, seed=0)
    assert drawn.dtype == np.uint8 and drawn.shape == patches.shape
    assert np.abs(drawn.mean(axis=0) - patches.mean(axis=0)).max() < 1.5
    assert drawn.reshape(3000, -1).std(axis=0) == pytest.approx(patches.reshape(3000, -1).std(axis=0), rel=0.1)


def test_heldout_patches_are_cut_at_the_stride_from_every_photograph(tmp_path):
    from PIL import Image

    for name in ("a.png", "b.png"):
        Image.fromarray(np.random.default_rng(5).integers(0, 256, (20, 28, 3), dtype=np.uint8)).save(tmp_path / name)
    patches = generate_data.heldout_patches(tmp_path, 8, 6)
    assert patches.shape == (2 * 3 * 4, 8, 8, 3)  # rows at 0, 6, 12; columns at 0, 6, 12, 18


def test_the_standardiser_scales_each_dimension_and_keeps_a_dead_one_from_blowing_up():
    rng = np.random.default_rng(6)
    reference = np.column_stack([rng.normal(5, 2, 500), rng.normal(-1, 8, 500), np.full(500, 0.0)])
    scale = metrics.Standardiser.of(reference)
    scaled = scale(reference)
    np.testing.assert_allclose(scaled.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(scaled[:, :2].std(axis=0), 1, atol=1e-12)
    median = np.median(reference.std(axis=0))
    assert scale(np.array([[5.0, -1.0, 1.0]]))[0, 2] == pytest.approx(1.0 / (0.1 * median))


def test_the_card_entries_carry_every_set_and_the_headline_the_floor():
    import argparse

    from bench.jobs import generate

    args = argparse.Namespace(steps=25, count=10, heldout="cbsd68")
    kids = {"diffusion, 25 steps": (0.004, 0.001), "floor: training patches": (0.0005, 0.0002), "DCGAN": (0.05, 0.01)}
    distances = {"diffusion, 25 steps": np.array([10.0, 12.0]), "held-out real patches": np.array([9.0, 11.0])}
    entries = generate.card_entries(kids, distances, {(25, 10): 0.5, (10, 50): 1.25}, args)
    scores = entries["generation_benchmark"]
    assert scores["kid_x1000"]["DCGAN"] == [50.0, 10.0] and scores["nearest_training_rms"]["held-out real patches"] == 10.0
    assert scores["images_per_s"] == {"10": 1.25, "25": 0.5}
    assert entries["headline"].startswith("KID x1000 4.00 at 25 steps (floor 0.50")
