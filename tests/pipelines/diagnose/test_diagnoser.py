"""The crops a diagnosis reads, and the bundled diagnosis model on tiny synthetic cases."""

import io

import numpy as np
import pytest
from PIL import Image

from pipelines.diagnose import diagnoser
from pipelines.imaging import images
from tests.helpers.images import photo


@pytest.mark.parametrize("size", [(481, 321), (64, 64), (100, 700), (2000, 3000)])
def test_crops_sit_on_the_jpeg_grid_inside_the_image_and_are_bounded(size):
    boxes = diagnoser.crop_boxes(*size)
    assert 1 <= len(boxes) <= diagnoser.MAX_CROPS
    for top, left, height, width in boxes:
        assert top % 8 == 0 and left % 8 == 0
        assert (height, width) == (diagnoser.CROP, diagnoser.CROP)
        assert top + height <= size[0] and left + width <= size[1]
    assert len(set(boxes)) == len(boxes)


def test_an_image_smaller_than_a_crop_is_read_whole_on_the_grid():
    assert diagnoser.crop_boxes(40, 21) == [(0, 0, 40, 16)]
    assert diagnoser.crop_boxes(5, 70) == [(0, 0, 5, 64)]


def test_model_crops_are_float_rgb_for_gray_and_16_bit_images():
    gray16 = (photo("camera", (80, 96)).astype(np.uint16) * 257)
    crops = diagnoser.model_crops(gray16)
    assert crops.dtype == np.float32 and crops.shape[1:] == (64, 64, 3)
    assert 0.0 <= crops.min() and crops.max() <= 1.0
    np.testing.assert_array_equal(crops[..., 0], crops[..., 2])


@pytest.fixture(scope="module")
def diagnose():
    return diagnoser.Diagnoser().diagnose


def noisy(image, sigma, seed=0):
    noise = np.random.default_rng(seed).normal(0, sigma, image.shape)
    return np.clip(np.round(image + noise), 0, 255).astype(np.uint8)


def test_more_noise_gives_a_larger_estimate(diagnose):
    clean = photo("astronaut", (192, 192))
    estimates = [diagnose(noisy(clean, sigma)).noise_sigma for sigma in (5, 15, 30, 50)]
    assert estimates == sorted(estimates) and estimates[-1] > estimates[0] + 20


def test_a_jpeg_compressed_copy_is_found_and_the_original_is_not(diagnose):
    clean = photo("coffee", (192, 256))
    buffer = io.BytesIO()
    Image.fromarray(clean).save(buffer, format="JPEG", quality=20)
    compressed = images.decode(buffer.getvalue()).pixels
    assert diagnose(compressed).jpeg_quality is not None and diagnose(compressed).jpeg_quality <= 60
    assert diagnose(clean).jpeg_quality is None or diagnose(clean).jpeg_quality > 60


# A worker as Beam starts one, on a machine whose OpenVINO cache is empty: the first Diagnoser
# converts in a child process, so neither worker process ever loads TensorFlow.
WORKER = """
import json, sys
import numpy as np
from pipelines.diagnose.diagnoser import Diagnoser
pixels = np.load(sys.argv[1])
found = [Diagnoser(engine="openvino").diagnose(pixels).to_dict() for _ in range(2)]
print(json.dumps([found, sorted({m.split(".")[0] for m in sys.modules} & {"tensorflow", "keras"})]))
"""


@pytest.mark.slow
def test_a_worker_diagnoses_from_the_cached_conversion_without_tensorflow(diagnose, tmp_path):
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    pixels = noisy(photo("astronaut", (128, 160)), 20)
    np.save(tmp_path / "pixels.npy", pixels)
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    result = subprocess.run([sys.executable, "-c", WORKER, str(tmp_path / "pixels.npy")], env=env,
                            cwd=Path(__file__).resolve().parents[3], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    (first, second), imported = json.loads(result.stdout.splitlines()[-1])
    assert imported == [] and first == second
    assert first == pytest.approx(diagnose(pixels).to_dict(), abs=1e-4)  # as this process's engine found
    assert (tmp_path / "xdg" / "restoreflow" / "openvino").is_dir()
