"""The real-world benchmark's own damage chain and its choice of models."""

import io

import numpy as np
import pytest
from PIL import Image

from bench.jobs import realworld
from tests.helpers.images import photo


@pytest.mark.parametrize("scale", [2, 4])
def test_the_chain_is_seeded_and_ends_as_a_jpeg_of_exactly_one_scale_th(scale):
    clean = photo("astronaut", (64, 96))
    first = realworld.realistic(clean, scale, np.random.default_rng([1, 2]))
    assert first == realworld.realistic(clean, scale, np.random.default_rng([1, 2]))
    assert first != realworld.realistic(clean, scale, np.random.default_rng([1, 3]))
    with Image.open(io.BytesIO(first)) as image:
        assert image.format == "JPEG" and image.size == (96 // scale, 64 // scale)


def test_models_of_the_scale_run_alone_x1_models_before_sr_and_unknown_names_are_skipped(capsys):
    assert realworld.chains(4, ["sr-x2", "denoise-color", "restore", "no-such-model"]) == [
        ("sr-x4",), ("restore", "sr-x4"), ("denoise-color", "sr-x4")]
    assert "skipped --models no-such-model: not a bundled model" in capsys.readouterr().out
