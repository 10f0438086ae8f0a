"""The Diagnosis contract: targets made from records, outputs read back, stored and routed."""

import math

import numpy as np
import pytest

from restoreflow import diagnosis, routing
from restoreflow.diagnosis import INDEX, OUTPUTS, Diagnosis

SCALES = np.array([scale for _, _, scale in OUTPUTS])


def record(*steps):
    return {"recipe": "diagnose", "steps": list(steps)}


def test_targets_carry_each_steps_parameters_on_their_scale():
    target = diagnosis.targets(record(
        {"op": "gaussian_noise", "noise_sigma": 25.0, "color": True},
        {"op": "jpeg", "quality": 40},
        {"op": "gaussian_blur", "sigma_x": 1.0, "sigma_y": 4.0, "theta": 0.3},
        {"op": "resize", "scale_factor": 0.75},
    )) * SCALES
    assert target[INDEX["noise_sigma"]] == pytest.approx(25.0)
    assert target[INDEX["noise_color"]] == 1.0
    assert target[INDEX["jpeg"]] == 1.0 and target[INDEX["jpeg_quality"]] == pytest.approx(40)
    assert target[INDEX["blur_sigma"]] == pytest.approx(2.0)  # geometric mean of the axes
    assert target[INDEX["resolution_loss"]] == pytest.approx(0.25)
    assert target[INDEX["undamaged"]] == 0.0


def test_a_record_without_steps_is_undamaged_and_nothing_else():
    target = diagnosis.targets(record())
    assert target[INDEX["undamaged"]] == 1.0
    assert np.count_nonzero(target) == 1


def test_film_grain_and_sharpening_are_part_of_the_photograph_not_damage():
    original = ({"op": "film_grain", "grain_sigma": 6.0, "size_x": 1.0, "size_y": 0.7, "chroma": 0.2},
                {"op": "unsharp_mask", "amount": 1.0, "radius": 1.0})
    assert np.array_equal(diagnosis.targets(record(*original)), diagnosis.targets(record()))
    noisy = diagnosis.targets(record(*original, {"op": "gaussian_noise", "noise_sigma": 10.0, "color": False}))
    assert noisy[INDEX["undamaged"]] == 0.0 and noisy[INDEX["noise_sigma"]] * SCALES[INDEX["noise_sigma"]] == pytest.approx(10.0)


def test_a_step_the_diagnosis_cannot_learn_is_refused_by_name():
    with pytest.raises(ValueError, match="poisson_noise"):
        diagnosis.targets(record({"op": "poisson_noise", "peak": 30.0}))


def logits(**values):
    """A network output row: regressions given on their physical scale, logits as given."""
    row = np.zeros(len(OUTPUTS))
    row[INDEX["undamaged"]] = -5.0
    row[INDEX["jpeg"]] = -5.0
    for name, value in values.items():
        row[INDEX[name]] = value / SCALES[INDEX[name]]
    return row


def test_outputs_read_back_as_units_and_decisions():
    found = Diagnosis.from_outputs(logits(noise_sigma=20.0, noise_color=3.0, jpeg=4.0, jpeg_quality=35.4), "est")
    assert found.noise_sigma == pytest.approx(20.0) and found.noise_kind == "color"
    assert found.jpeg_quality == 35
    assert not found.undamaged and found.estimator == "est"
    assert found.damage() == ("noise", "jpeg") and found.label() == "mixed"


def test_damage_below_the_thresholds_is_undamaged_though_the_network_did_not_say_so():
    found = Diagnosis.from_outputs(logits(noise_sigma=1.0, blur_sigma=0.4), "est")
    assert found.undamaged and not found.found_by_network() and found.undamaged_probability < 0.5
    assert found.noise_kind == "none" and found.damage() == () and found.label() == "undamaged"
    assert routing.choose(found) == routing.Choice(routing.COPY, "no damage above what the models repair")
    said = Diagnosis.from_outputs(logits(undamaged=5.0, noise_sigma=8.0), "est")  # grain the network knows
    assert said.undamaged and said.found_by_network() and said.damage() == ()
    assert routing.choose(said) == routing.Choice(routing.COPY, "no damage found")
    assert not Diagnosis.from_outputs(logits(noise_sigma=3.5), "est").undamaged


def test_aggregate_is_the_median_of_the_crops():
    rows = np.zeros((5, len(OUTPUTS)))
    rows[:, 0] = [0.1, 0.2, 0.3, 5.0, 0.25]  # one crop far off (texture) does not move it
    assert diagnosis.aggregate(rows)[0] == pytest.approx(0.25)
    with pytest.raises(ValueError):
        diagnosis.aggregate(np.zeros((0, len(OUTPUTS))))


def test_columns_round_trip_and_other_versions_are_not_reused():
    found = Diagnosis.from_outputs(logits(noise_sigma=12.0), "est")
    columns = found.to_columns()
    assert columns["diagnosis_label"] == "noise"
    assert Diagnosis.from_columns(columns) == found
    assert Diagnosis.from_columns({**columns, "diagnosis_version": 99}) is None
    assert Diagnosis.from_columns({}) is None


COLOR, LUMA = 5.0, -5.0  # noise_color logits


@pytest.mark.parametrize(("values", "model"), [
    ({"undamaged": 5.0}, routing.COPY),
    ({"noise_sigma": 1.0}, routing.COPY),
    ({"noise_sigma": 20.0, "noise_color": COLOR}, "denoise-color"),
    ({"noise_sigma": 20.0, "noise_color": COLOR, "resolution_loss": 0.2}, "denoise-color"),
    ({"noise_sigma": 20.0, "noise_color": LUMA}, "restore"),
    ({"noise_sigma": 45.0, "noise_color": COLOR}, "restore"),  # clipped: denoise-color learnt unclipped noise
    ({"jpeg": 5.0, "jpeg_quality": 30.0}, "jpeg"),
    ({"jpeg": 5.0, "jpeg_quality": 45.0, "noise_sigma": 2.0}, "restore"),  # noise under the JPEG: a chain
    ({"jpeg": 5.0, "jpeg_quality": 20.0, "noise_sigma": 2.0}, "jpeg"),  # heavy JPEG's own faint reading
    ({"blur_sigma": 1.5}, "sharpen"),
    ({"blur_sigma": 1.5, "noise_sigma": 4.0, "resolution_loss": 0.2}, "sharpen"),
    ({"blur_sigma": 1.5, "noise_sigma": 12.0, "noise_color": LUMA}, "restore"),
    ({"resolution_loss": 0.4}, "sharpen"),
    ({"resolution_loss": 0.4, "jpeg": 5.0, "jpeg_quality": 50.0}, "jpeg"),  # JPEG's smoothing
    ({"resolution_loss": 0.4, "jpeg": 5.0, "jpeg_quality": 50.0, "noise_sigma": 2.0}, "restore"),
    ({"blur_sigma": 1.5, "noise_sigma": 7.0, "noise_color": LUMA}, "sharpen"),  # blur lifts the reading
    ({"noise_sigma": 20.0, "jpeg": 5.0, "jpeg_quality": 30.0}, "restore"),
    ({"noise_sigma": 5.0, "jpeg": 5.0, "jpeg_quality": 15.0, "resolution_loss": 0.15}, "jpeg"),  # heavy JPEG
    ({"jpeg": 5.0, "jpeg_quality": 15.0, "blur_sigma": 0.9}, "restore"),  # blurred before it: a chain
])
def test_routing_sends_each_damage_to_its_model(values, model):
    choice = routing.choose(Diagnosis.from_outputs(logits(**values), "est"))
    assert choice.model == model and choice.reason
    assert model in (*routing.AUTO_MODELS, routing.COPY)


def test_high_jpeg_quality_is_not_worth_a_model():
    found = Diagnosis.from_outputs(logits(jpeg=5.0, jpeg_quality=97.0), "est")
    assert found.jpeg_quality == 97 and routing.choose(found).model == routing.COPY
    assert not math.isnan(found.resolution)
