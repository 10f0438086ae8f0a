"""--precision bf16: refused unless the engine, the CPU and the model's measured cost allow it."""

from __future__ import annotations

import numpy as np
import pytest

from model import engines
from tests.helpers.images import photo


def card_with(cost_db=None) -> dict:
    card = {"model_id": "unet-test"}
    if cost_db is not None:
        card["inference"] = {"bf16": {"psnr_cost_db": cost_db}}
    return card


def test_bf16_is_refused_on_tensorflow():
    assert "openvino engine only" in engines.bf16_refusal(card_with(0.01), "tf")


def test_bf16_needs_a_measured_cost_within_the_limit():
    if not engines.native_bf16():
        assert "no native bf16" in engines.bf16_refusal(card_with(0.01), "openvino")
        return
    assert "no measured bf16 cost" in engines.bf16_refusal(card_with(), "openvino")
    assert "0.080 dB, over the 0.05 dB" in engines.bf16_refusal(card_with(0.08), "openvino")
    assert engines.bf16_refusal(card_with(0.01), "openvino") is None


def test_bf16_outputs_stay_close_to_f32_and_tf_refuses_it():
    from model import architectures

    model = architectures.build("dncnn", {"channels": 1, "depth": 4, "width": 16, "batch_norm": False})
    batch = (photo("camera", (40, 48)).astype(np.float32) / 255)[None]
    f32 = engines.load(model, 1, engine="openvino", threads=1)(batch)
    bf16 = engines.load(model, 1, engine="openvino", threads=1, precision="bf16")(batch)
    assert np.abs(bf16 - f32).max() < 0.05
    if engines.native_bf16():  # the hint took effect: bf16 rounding moved the outputs
        assert not np.array_equal(bf16, f32)
    with pytest.raises(ValueError, match="openvino engine only"):
        engines.load(model, 1, engine="tf", precision="bf16")
    with pytest.raises(ValueError, match="unknown precision"):
        engines.load(model, 1, engine="openvino", precision="int4")
