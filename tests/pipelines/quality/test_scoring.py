import math

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from pipelines.quality import planes, scoring, signals
from tests.helpers.images import photo

TOLERANCE = 1e-3  # the brief's bar; the measured deviations are ~1e-15 (same float64 algorithm)


def noisy(image: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    """``image`` plus Gaussian noise (in its own units), clipped and rounded to its dtype."""
    peak = np.iinfo(image.dtype).max
    noise = np.random.default_rng(seed).normal(0.0, sigma, image.shape)
    return np.clip(np.round(image + noise), 0, peak).astype(image.dtype)


def to_uint16(image: np.ndarray) -> np.ndarray:
    """A uint8 photo on the 16-bit scale, with low bits filled so all 16 bits matter."""
    low = np.random.default_rng(1).integers(0, 257, image.shape)
    return (image.astype(np.uint16) * 257 + low).clip(0, 65535).astype(np.uint16)


def skimage_ssim(a, b, data_range):
    return structural_similarity(
        a,
        b,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=data_range,
        channel_axis=-1,
    )


CASES = [
    pytest.param("camera", np.uint8, id="gray-8bit"),
    pytest.param("astronaut", np.uint8, id="rgb-8bit"),
    pytest.param("camera", np.uint16, id="gray-16bit"),
    pytest.param("astronaut", np.uint16, id="rgb-16bit"),
]


@pytest.mark.parametrize("name, dtype", CASES)
def test_psnr_and_ssim_match_skimage(name, dtype):
    reference = photo(name, (64, 80))
    data_range = 255.0
    if dtype == np.uint16:
        reference, data_range = to_uint16(reference), 65535.0
    restored = noisy(reference, 0.06 * data_range)
    psnr = scoring.psnr_db(reference, restored, data_range=data_range)
    expected_psnr = peak_signal_noise_ratio(reference, restored, data_range=data_range)
    assert psnr == pytest.approx(expected_psnr, abs=TOLERANCE)
    value = scoring.ssim(reference, restored, data_range=data_range)
    assert value == pytest.approx(skimage_ssim(reference, restored, data_range), abs=TOLERANCE)
    assert 0.2 < value < 0.95  # a real, not a degenerate, comparison


def test_odd_sizes_and_float_inputs_match_skimage():
    reference = photo("astronaut", (61, 77))
    restored = noisy(reference, 12)
    expected = skimage_ssim(reference, restored, 255)
    assert scoring.ssim(reference, restored) == pytest.approx(expected, abs=TOLERANCE)
    as_float = scoring.ssim(reference.astype(np.float32), restored.astype(np.float64))
    assert as_float == pytest.approx(expected, abs=TOLERANCE)


def test_strips_do_not_change_the_result(monkeypatch):
    reference = photo("astronaut", (200, 180))
    restored = noisy(reference, 10)
    whole = scoring.full_reference(reference, restored) | signals.no_reference(restored)
    monkeypatch.setattr(planes, "STRIP_PIXELS", 7 * 180)  # many strips, odd row counts
    strips = scoring.full_reference(reference, restored) | signals.no_reference(restored)
    assert strips.keys() == whole.keys()
    for key, value in whole.items():
        assert strips[key] == pytest.approx(value, rel=1e-9), key


def test_identical_images_score_perfectly():
    image = photo("astronaut", (48, 64))
    assert scoring.psnr_db(image, image) == math.inf
    assert scoring.ssim(image, image) == pytest.approx(1.0)


def test_y_channel_scores_the_luma_computed_by_hand():
    reference = photo("astronaut", (64, 80))
    restored = noisy(reference, 10)

    def luma(rgb):  # Y = 16 + 65.481 R + 128.553 G + 24.966 B, R, G, B in [0, 1]
        r, g, b = np.moveaxis(rgb.astype(np.float64) / 255.0, -1, 0)
        return 16.0 + 65.481 * r + 128.553 * g + 24.966 * b

    y_ref, y_res = luma(reference), luma(restored)
    psnr = scoring.psnr_db(reference, restored, y_channel=True)
    assert psnr == pytest.approx(peak_signal_noise_ratio(y_ref, y_res, data_range=255), abs=1e-9)
    value = scoring.ssim(reference, restored, y_channel=True)
    expected = skimage_ssim(y_ref[..., None], y_res[..., None], 255)
    assert value == pytest.approx(expected, abs=TOLERANCE)
    assert psnr != pytest.approx(scoring.psnr_db(reference, restored), abs=0.05)
    gray = reference[..., :1]  # gray images are scored as they are
    gray_restored = restored[..., :1]
    assert scoring.psnr_db(gray, gray_restored, y_channel=True) == scoring.psnr_db(
        gray, gray_restored
    )
    with pytest.raises(ValueError, match="alpha"):
        rgba = np.concatenate([reference, reference[..., :1]], axis=-1)
        scoring.psnr_db(rgba, rgba, y_channel=True)


def test_crop_border_equals_cropping_by_hand():
    reference = photo("astronaut", (64, 80))
    restored = noisy(reference, 10)
    restored[:3] = 0  # a damaged border that the crop must hide
    inner = (slice(3, -3), slice(3, -3))
    for score in (scoring.psnr_db, scoring.ssim):
        cropped = score(reference, restored, crop_border=3)
        assert cropped == score(reference[inner], restored[inner])
        assert cropped > score(reference, restored) + 0.01
    with pytest.raises(ValueError, match="crop_border"):
        scoring.psnr_db(reference, restored, crop_border=32)


def test_mismatched_shapes_are_rejected():
    with pytest.raises(ValueError, match="shapes differ"):
        scoring.psnr_db(photo("camera", (20, 20)), photo("camera", (20, 21)))


@pytest.mark.parametrize("size", [(176, 192), (181, 203)], ids=["even", "odd"])
def test_ms_ssim_matches_tensorflow(size):
    tf = pytest.importorskip("tensorflow")
    reference = photo("astronaut", size)
    restored = noisy(reference, 12)
    expected = tf.image.ssim_multiscale(
        tf.constant(reference[None], tf.float32), tf.constant(restored[None], tf.float32), 255.0
    ).numpy()[0]
    # Same definition (odd sizes padded alike); TensorFlow computes in float32, whose rounding
    # over these sums is ~1e-7 (measured 2e-7), so 1e-5 leaves margin without hiding a
    # convention change (dropping the cs clamp or one scale moves it by > 1e-3).
    assert scoring.ms_ssim(reference, restored) == pytest.approx(float(expected), abs=1e-5)


def test_ms_ssim_needs_176_pixels_after_cropping():
    reference = photo("astronaut", (176, 200))
    restored = noisy(reference, 12)
    assert scoring.ms_ssim_min_side() == 176
    assert scoring.ms_ssim(reference, restored) is not None
    assert scoring.ms_ssim(reference[:175], restored[:175]) is None
    assert scoring.ms_ssim(reference, restored, crop_border=1) is None
    assert scoring.ms_ssim(reference, reference) == pytest.approx(1.0)


def test_full_reference_shares_the_ssim_pass():
    reference = photo("astronaut", (180, 184))
    restored = noisy(reference, 12)
    scores = scoring.full_reference(reference, restored, crop_border=2, y_channel=True)
    assert set(scores) == {"psnr_db", "ssim", "ms_ssim"}
    conventions = {"crop_border": 2, "y_channel": True}
    assert scores["psnr_db"] == scoring.psnr_db(reference, restored, **conventions)
    assert scores["ssim"] == pytest.approx(scoring.ssim(reference, restored, **conventions))
    assert scores["ms_ssim"] == pytest.approx(scoring.ms_ssim(reference, restored, **conventions))
    small = scoring.full_reference(reference[:100], restored[:100])
    assert small["ms_ssim"] is None and 0 < small["ssim"] < 1
