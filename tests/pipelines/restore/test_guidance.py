import pytest

from pipelines.restore import guidance

DENOISER = {"task": "denoise", "data": {"recipe": {"steps": [{"op": "gaussian_noise", "noise_sigma": [0.0, 55.0]}]}}}
JPEG_MODEL = {"task": "jpeg", "data": {"recipe": {"steps": [{"op": "jpeg", "quality": [10, 90]}]}}}


def summary(noise_sigma=None, blockiness=None) -> dict:
    scores = {}
    if noise_sigma is not None:
        scores["noise_sigma_degraded"] = {"p50": noise_sigma}
    if blockiness is not None:
        scores["blockiness_degraded"] = {"p50": blockiness}
    return {"scores": scores}


def test_a_denoiser_given_clean_inputs_is_told_once():
    notes = guidance.advise(summary(noise_sigma=1.2, blockiness=1.0), DENOISER, model="denoise-gray", paired=False)
    assert len(notes) == 1
    assert "little noise" in notes[0] and "1.2" in notes[0] and "denoise-gray" in notes[0]
    assert "`restoreflow models`" in notes[0]


@pytest.mark.parametrize("sigma", [6.5, 25.0, 60.0])
def test_a_denoiser_given_noisy_inputs_says_nothing(sigma):
    assert guidance.advise(summary(noise_sigma=sigma), DENOISER, model="m", paired=False) == []


def test_inputs_noisier_than_the_training_range_are_named():
    notes = guidance.advise(summary(noise_sigma=80.0), DENOISER, model="m", paired=False)
    assert len(notes) == 1 and "noisier" in notes[0] and "55" in notes[0]


def test_a_jpeg_model_given_unblocked_inputs_is_told():
    notes = guidance.advise(summary(noise_sigma=1.0, blockiness=1.01), JPEG_MODEL, model="jpeg", paired=False)
    assert len(notes) == 1 and "no JPEG blocking" in notes[0]
    assert guidance.advise(summary(blockiness=1.4), JPEG_MODEL, model="jpeg", paired=False) == []


def test_paired_runs_and_runs_without_scores_get_no_advice():
    assert guidance.advise(summary(noise_sigma=1.0), DENOISER, model="m", paired=True) == []
    assert guidance.advise({"scores": {}}, DENOISER, model="m", paired=False) == []
    assert guidance.advise(summary(noise_sigma=1.0), {"task": "sr"}, model="m", paired=False) == []
