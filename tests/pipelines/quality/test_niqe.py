"""NIQE: worse with more damage, the shipped model, bounded work on large images (its column
in a restore run's table: tests/pipelines/restore/test_job.py)."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
import tomllib
from PIL import Image, ImageFilter

from pipelines.quality import niqe
from tests.helpers.images import photo

ROOT = Path(__file__).resolve().parents[3]


def scene():
    return photo("astronaut", (192, 288))  # six whole 96x96 patches


def noisy(image, sigma):
    rng = np.random.default_rng(0)
    return np.clip(np.round(image + rng.normal(0, sigma, image.shape)), 0, 255).astype(np.uint8)


def blurred(image, radius):
    return np.asarray(Image.fromarray(image).filter(ImageFilter.GaussianBlur(radius)))


def test_more_noise_scores_worse():
    scores = [niqe.niqe(noisy(scene(), sigma)) for sigma in (0, 10, 25, 50)]
    assert scores == sorted(scores) and scores[-1] > scores[0] + 1, scores


def test_more_blur_scores_worse():
    scores = [niqe.niqe(scene())] + [niqe.niqe(blurred(scene(), radius)) for radius in (1, 2, 4)]
    assert scores == sorted(scores) and scores[-1] > scores[0] + 1, scores


def test_the_shipped_model_loads_and_says_how_it_was_fitted():
    mean, covariance = niqe.load_model()
    assert mean.shape == (36,) and covariance.shape == (36, 36)
    np.testing.assert_allclose(covariance, covariance.T)
    assert np.linalg.eigvalsh(covariance).min() > -1e-9
    fitted = json.loads((ROOT / "pipelines" / "quality" / niqe.MODEL_FILE).read_text())["fitted"]
    assert fitted["photographs"].startswith("cbsd432") and fitted["command"] == "python -m bench.jobs.niqe_fit"
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert niqe.MODEL_FILE in package_data["pipelines.quality"], "a pip-installed package must ship the model"


def test_gray_and_16bit_images_score_like_8bit_rgb():
    gray = scene().mean(axis=-1, keepdims=True).round().astype(np.uint8)
    assert niqe.niqe(gray) == pytest.approx(niqe.niqe(np.repeat(gray, 3, axis=-1)), rel=1e-6)
    assert niqe.niqe(gray.astype(np.uint16) * 257, data_range=65535) == pytest.approx(niqe.niqe(gray), rel=1e-6)


def test_small_images_have_no_score_and_large_ones_are_scored_on_their_centre():
    assert math.isnan(niqe.niqe(photo("camera", (96, 150))))  # one whole patch
    large = np.tile(scene(), (6, 4, 1))  # 1152 x 1152
    assert niqe.niqe(large) == niqe.niqe(large[64:-64, 64:-64])
