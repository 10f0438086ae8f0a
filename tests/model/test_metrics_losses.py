import numpy as np
import pytest
import tensorflow as tf
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from model import losses, metrics
from pipelines.quality import scoring
from restoreflow.configs import ConfigError
from tests.helpers.images import photo


def batch(name: str, size=(48, 56), sigma: float = 0.08, seed: int = 0):
    """(clean, restored) float32 batches of 2 on [0, 1]: a photo and its flipped copy, where
    ``restored`` is clean plus noise, unclipped and unrounded like a model's output."""
    image = photo(name, size)
    clean = np.stack([image, image[::-1, ::-1]]).astype(np.float32) / 255.0
    noise = np.random.default_rng(seed).normal(0.0, sigma, clean.shape).astype(np.float32)
    return clean, clean + noise


def as_saved(restored: np.ndarray) -> np.ndarray:
    """What the restore job writes: clipped and rounded to uint8."""
    return np.clip(np.round(restored * 255.0), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("name", ["camera", "astronaut"])
def test_quantized_metrics_match_numpy_scoring_and_skimage(name):
    clean, restored = batch(name)
    psnr = metrics.psnr_db(clean, restored, quantize=True).numpy()
    ssim = metrics.ssim(clean, restored, quantize=True).numpy()
    assert psnr.shape == ssim.shape == (2,)
    for i in range(2):
        reference, saved = as_saved(clean[i]), as_saved(restored[i])
        assert psnr[i] == pytest.approx(scoring.psnr_db(reference, saved), abs=1e-3)
        assert ssim[i] == pytest.approx(scoring.ssim(reference, saved), abs=1e-3)
        assert psnr[i] == pytest.approx(
            peak_signal_noise_ratio(reference, saved, data_range=255), abs=1e-3
        )
        expected = structural_similarity(
            reference,
            saved,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
            data_range=255,
            channel_axis=-1,
        )
        assert ssim[i] == pytest.approx(expected, abs=1e-3)


def test_unquantized_metrics_clip_restored_and_match_float_scoring():
    clean, restored = batch("astronaut")
    clipped = np.clip(restored, 0.0, 1.0)
    assert (restored > 1.0).any() and (restored < 0.0).any()  # the clip matters here
    psnr = metrics.psnr_db(clean, restored).numpy()
    ssim = metrics.ssim(clean, restored).numpy()
    for i in range(2):
        assert psnr[i] == pytest.approx(
            scoring.psnr_db(clean[i], clipped[i], data_range=1.0), abs=1e-3
        )
        expected = scoring.ssim(clean[i], clipped[i], data_range=1.0)
        assert ssim[i] == pytest.approx(expected, abs=1e-3)
    assert np.all(metrics.psnr_db(clean, clean).numpy() == np.inf)


def test_metrics_run_in_a_graph_with_unknown_shapes():
    spec = tf.TensorSpec([None, None, None, 3], tf.float32)

    @tf.function(input_signature=[spec, spec])
    def both(clean, restored):
        return metrics.psnr_db(clean, restored, quantize=True), metrics.ssim(clean, restored)

    clean, restored = batch("astronaut")
    psnr, ssim = both(clean, restored)
    assert psnr.shape == ssim.shape == (2,)
    assert np.allclose(psnr, metrics.psnr_db(clean, restored, quantize=True))


def test_ssim_map_mean_is_tf_image_ssim():
    clean, restored = batch("astronaut")
    similarity = metrics.ssim_map(clean, restored)
    assert similarity.shape == (2, 48 - 10, 56 - 10, 3)
    expected = tf.image.ssim(clean, restored, max_val=1.0)
    assert np.allclose(tf.reduce_mean(similarity, axis=[1, 2, 3]), expected, atol=1e-5)


# --- losses


@pytest.mark.parametrize("name", sorted(losses.LOSSES))
def test_losses_are_per_example_and_zero_for_identical_images(name):
    clean, restored = batch("astronaut")
    loss = losses.LOSSES[name]
    assert np.allclose(loss(clean, clean).numpy(), 0.0, atol=1e-6)
    values = loss(clean, restored).numpy()
    assert values.shape == (2,) and np.all(values > 0.0)
    average = tf.nn.compute_average_loss(loss(clean, restored), global_batch_size=4)
    assert average.numpy() == pytest.approx(values.sum() / 4, rel=1e-6)


def test_pixel_losses_match_numpy():
    clean, restored = batch("camera")
    difference = restored - clean
    assert np.allclose(losses.mse(clean, restored), np.mean(difference**2, axis=(1, 2, 3)))
    assert np.allclose(losses.l1(clean, restored), np.mean(np.abs(difference), axis=(1, 2, 3)))
    expected = np.mean(np.sqrt(difference**2 + 1e-6) - 1e-3, axis=(1, 2, 3))
    assert np.allclose(losses.charbonnier(clean, restored), expected, rtol=1e-5)
    ssim = metrics.ssim_map(clean, restored)
    assert np.allclose(losses.ssim_loss(clean, restored), 1.0 - np.mean(ssim, axis=(1, 2, 3)))


def half_mask(shape) -> np.ndarray:
    """(N, H, W, 1): 1 on the left half of every image."""
    mask = np.zeros(shape[:3] + (1,), np.float32)
    mask[:, :, : shape[2] // 2] = 1.0
    return mask


@pytest.mark.parametrize("name", sorted(losses.LOSSES))
def test_weight_map_normalises_by_its_sum(name):
    clean, restored = batch("astronaut")
    loss = losses.LOSSES[name]
    unweighted = loss(clean, restored).numpy()
    constant = np.full(clean.shape[:3] + (1,), 3.0, np.float32)
    assert np.allclose(loss(clean, restored, constant), unweighted, rtol=1e-5)
    # Damage only the left half: weighting that half up raises the loss, down lowers it.
    mask = half_mask(clean.shape)
    damaged = np.where(mask > 0, restored, clean)
    base = loss(clean, damaged).numpy()
    assert np.all(loss(clean, damaged, 1.0 + 4.0 * mask).numpy() > base)
    assert np.all(loss(clean, damaged, 1.0 - 0.9 * mask).numpy() < base)


def test_weighted_mse_by_hand():
    clean = np.zeros((1, 16, 16, 3), np.float32)
    restored = clean + 0.1 * half_mask(clean.shape)  # error 0.1 on the masked half only
    mask = half_mask(clean.shape)
    weight = 1.0 + 4.0 * mask  # masked pixels count 5 times
    expected = 5 * 0.5 * 0.01 / (5 * 0.5 + 0.5)  # weighted mean of squared errors
    assert losses.mse(clean, restored, weight).numpy() == pytest.approx([expected], rel=1e-5)
    assert losses.mse(clean, restored, np.zeros_like(mask)).numpy() == pytest.approx([0.0])


def test_build_loss_sums_weighted_terms_and_applies_the_mask():
    clean, restored = batch("astronaut")
    combined = losses.build_loss({"l1": 1.0, "ssim": 0.25}, masked_weight=5.0)
    expected = losses.l1(clean, restored) + 0.25 * losses.ssim_loss(clean, restored)
    assert np.allclose(combined(clean, restored), expected, rtol=1e-6)
    mask = half_mask(clean.shape)
    weight = 1.0 + 4.0 * mask
    expected = losses.l1(clean, restored, weight) + 0.25 * losses.ssim_loss(clean, restored, weight)
    assert np.allclose(combined(clean, restored, mask), expected, rtol=1e-6)
    plain = losses.build_loss({"mse": 1.0})  # masked_weight 1: the mask changes nothing
    assert np.allclose(plain(clean, restored, mask), plain(clean, restored), rtol=1e-6)


def test_build_loss_rejects_unknown_names_and_bad_factors():
    with pytest.raises(ConfigError) as error:
        losses.build_loss({"msee": 1.0})
    assert str(error.value) == "train.loss.msee: unknown loss (known: charbonnier, l1, mse, ssim)"
    with pytest.raises(ConfigError, match=r"train\.loss\.l1: the factor must be >= 0"):
        losses.build_loss({"l1": -1.0})
    with pytest.raises(ConfigError, match="train.loss: name at least one loss"):
        losses.build_loss({})
    with pytest.raises(ConfigError, match=r"train\.masked_weight: must be >= 0"):
        losses.build_loss({"l1": 1.0}, masked_weight=-2.0)


@pytest.mark.parametrize("names", [["mse"], ["l1"], ["charbonnier"], ["ssim"], ["l1", "ssim"]])
def test_gradients_flow_to_the_restored_image(names):
    clean, restored = batch("astronaut", size=(24, 24))
    variable = tf.Variable(restored)
    loss = losses.build_loss(dict.fromkeys(names, 1.0), masked_weight=3.0)
    mask = half_mask(clean.shape)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            value = tf.nn.compute_average_loss(loss(clean, variable, mask), global_batch_size=2)
        return value, tape.gradient(value, variable)

    value, gradient = step()
    assert np.isfinite(value.numpy())
    assert gradient is not None and np.all(np.isfinite(gradient.numpy()))
    assert np.abs(gradient.numpy()).sum() > 0.0
    # Pixels outside [0, 1] still get gradients: nothing in the loss clips.
    outside = (restored > 1.0) | (restored < 0.0)
    assert np.count_nonzero(gradient.numpy()[outside]) > 0.5 * np.count_nonzero(outside)
