"""The restore job's --engine flag, end to end on the local runner."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipelines import restore
from tests.helpers.images import photo, write_image
from tests.helpers.restore import make_model, random_tail, read_pixels, run_restore

ROOT = Path(__file__).resolve().parents[3]
# The job in a process of its own (in-process runner: the launcher and its workers), as
# bench/jobs/memory.py measures it: did anything in it import TensorFlow?
JOB = """
import json, sys
from pipelines import restore
restore.run(sys.argv[1:])
print(json.dumps("tensorflow" in sys.modules))
"""


@pytest.fixture(scope="module")
def color_unet(tmp_path_factory):
    # A U-Net exercises the padding and cropping layers through the converter.
    return make_model(tmp_path_factory.mktemp("models") / "unet", "unet",
                      {"channels": 3, "width": 4, "levels": 2, "blocks": 1})


@pytest.mark.slow
def test_the_job_writes_the_same_images_with_either_engine(tmp_path, color_unet):
    folder = tmp_path / "in"
    write_image(folder / "a.png", photo("astronaut", (70, 90)))
    write_image(folder / "b.png", photo("camera", (30, 41)).astype(np.uint16) * 257)  # 16-bit gray
    outputs = {}
    for engine in ("tf", "openvino"):
        summary = run_restore([folder], tmp_path / engine, color_unet, f"--engine={engine}", "--tile_size=64")
        assert summary["counts"]["restored"] == 2 and not summary["counts"].get("error")
        outputs[engine] = {name: read_pixels(tmp_path / engine / "restored" / name) for name in ("a.png", "b.png")}
    for name, by_tf in outputs["tf"].items():
        by_openvino = outputs["openvino"][name]
        assert by_openvino.dtype == by_tf.dtype and by_openvino.shape == by_tf.shape
        # 1e-4 in [0, 1] is at most one step of the output's rounding (16-bit: 6.6 steps).
        steps = 1 if by_tf.dtype == np.uint8 else 7
        assert np.abs(by_openvino.astype(np.int32) - by_tf.astype(np.int32)).max() <= steps, name


@pytest.mark.slow
def test_no_run_loads_tensorflow_the_first_converts_apart_and_both_write_the_same_images(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))  # empty: the first run converts the model
    model = make_model(tmp_path / "unet", "unet", {"channels": 3, "width": 4, "levels": 2, "blocks": 1},
                       prepare=random_tail)
    write_image(tmp_path / "in" / "a.png", photo("astronaut", (70, 90)))
    loaded_tensorflow, images = [], []
    for run in ("first", "second"):
        result = subprocess.run([sys.executable, "-c", JOB, f"--input={tmp_path / 'in'}", f"--output={tmp_path / run}",
                                 f"--model={model}", "--engine=openvino", "--tile_size=64"],
                                cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr[-2000:]
        loaded_tensorflow.append(json.loads(result.stdout.splitlines()[-1]))
        images.append(read_pixels(tmp_path / run / "restored" / "a.png"))
    assert loaded_tensorflow == [False, False]  # the first run converted in a child process
    assert len(list((tmp_path / "xdg" / "restoreflow" / "openvino").iterdir())) == 1
    assert np.abs(images[0].astype(int) - photo("astronaut", (70, 90)).astype(int)).max() > 2  # restored, not copied
    np.testing.assert_array_equal(images[1], images[0])


def test_an_unknown_engine_is_a_one_line_error(tmp_path, capsys):
    write_image(tmp_path / "in" / "a.png", photo("camera", (16, 16)))
    code = restore.main([f"--input={tmp_path / 'in'}", f"--output={tmp_path / 'out'}", "--engine=onnx"])
    assert code == 2
    err = capsys.readouterr().err
    assert "--engine" in err and "onnx" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()
