"""OpenVINO's cached conversions (model.ov_cache), through model.engines.load_dir as the restore
job's workers use it: a worker that finds one loads no TensorFlow and restores as the
conversion it was made from; a damaged or unwritable cache costs a conversion, never the run."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from model import engines, ov_cache
from model.export import MODEL_FILE, load_model
from tests.helpers.images import photo
from tests.helpers.restore import make_model, random_tail

ROOT = Path(__file__).resolve().parents[2]
UNET = {"channels": 3, "width": 4, "levels": 2, "blocks": 1}  # padding and cropping layers: a real conversion
CHANNELS = (3, 3)

# A worker process as Beam starts one: it loads the model folder and restores one batch.
WORKER = """
import json, sys
import numpy as np
from model import engines
predictor = engines.load_dir(sys.argv[1], (3, 3), lambda: sys.exit("the worker asked for Keras"), engine="openvino")
np.save(sys.argv[2], predictor(np.load(sys.argv[3])))
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules} & {"tensorflow", "keras"})))
"""


@pytest.fixture(scope="module")
def unet(tmp_path_factory) -> str:
    return make_model(tmp_path_factory.mktemp("models") / "unet", "unet", UNET, prepare=random_tail)


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """An empty cache of this test's own (the first load_dir converts)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "restoreflow" / "openvino"


def batch() -> np.ndarray:
    return photo("astronaut", (37, 53)).astype(np.float32)[None] / 255


def keras_of(model_dir: str):
    return lambda: load_model(model_dir)[0]


@pytest.mark.slow
def test_a_worker_with_a_cached_conversion_loads_no_tensorflow_and_restores_the_same(unet, cache, tmp_path):
    tiles = batch()
    keras_model = load_model(unet)[0]
    by_tf = engines.load(keras_model, 3, engine="tf")(tiles)
    converted_in_memory = engines.load(keras_model, 3, engine="openvino")(tiles)  # the conversion as before
    assert not engines.cached(unet, CHANNELS, "openvino")
    engines.load_dir(unet, CHANNELS, keras_of(unet), engine="openvino")  # the first worker converts
    assert engines.cached(unet, CHANNELS, "openvino") and len(list(cache.iterdir())) == 1

    np.save(tmp_path / "tiles.npy", tiles)
    result = subprocess.run([sys.executable, "-c", WORKER, unet, str(tmp_path / "out.npy"), str(tmp_path / "tiles.npy")],
                            cwd=ROOT, env=os.environ, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.splitlines()[-1]) == []  # neither tensorflow nor keras imported
    by_cache = np.load(tmp_path / "out.npy")
    assert by_cache.shape == tiles.shape and np.abs(by_cache - tiles).max() > 0.01  # a model that changes pixels
    np.testing.assert_allclose(by_cache, converted_in_memory, rtol=0, atol=1e-6)
    np.testing.assert_allclose(by_cache, by_tf, rtol=0, atol=1e-4)  # as model.engines promises


@pytest.mark.slow
def test_a_machines_first_worker_converts_in_a_child_process_and_loads_no_tensorflow(unet, cache, tmp_path):
    tiles = batch()
    np.save(tmp_path / "tiles.npy", tiles)
    result = subprocess.run([sys.executable, "-c", WORKER, unet, str(tmp_path / "out.npy"), str(tmp_path / "tiles.npy")],
                            cwd=ROOT, env=os.environ, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]  # its Keras loader exits: never called
    assert json.loads(result.stdout.splitlines()[-1]) == []
    assert engines.cached(unet, CHANNELS, "openvino") and len(list(cache.iterdir())) == 1
    converted_in_memory = engines.load(load_model(unet)[0], 3, engine="openvino")(tiles)
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), converted_in_memory, rtol=0, atol=1e-6)


@pytest.mark.slow
def test_the_child_never_imports_a_model_package_of_the_users_working_folder(unet, cache, tmp_path, monkeypatch):
    (tmp_path / "work" / "model").mkdir(parents=True)
    (tmp_path / "work" / "model" / "__init__.py").write_text("raise ImportError('the user's own model package')\n")
    monkeypatch.chdir(tmp_path / "work")
    assert engines.convert_apart(unet, CHANNELS) is None and engines.cached(unet, CHANNELS, "openvino")


@pytest.mark.slow
def test_a_conversion_the_child_cannot_make_says_why(tmp_path, cache):
    (tmp_path / "not-a-model").mkdir()
    why = engines.convert_apart(str(tmp_path / "not-a-model"), CHANNELS)
    assert why and "model.json" in why and not cache.exists()


@pytest.mark.slow
def test_a_damaged_conversion_is_converted_again_with_a_warning(unet, cache, caplog):
    first = engines.load_dir(unet, CHANNELS, keras_of(unet), engine="openvino")(batch())
    entry = next(cache.iterdir())
    (entry / "model.bin").write_bytes((entry / "model.bin").read_bytes()[:1000])  # a copy cut short
    with caplog.at_level(logging.WARNING, logger="restoreflow.engines"):
        again = engines.load_dir(unet, CHANNELS, keras_of(unet), engine="openvino")(batch())
    assert f"the cached OpenVINO model {entry} is unusable" in caplog.text
    np.testing.assert_array_equal(again, first)
    assert engines.cached(unet, CHANNELS, "openvino")  # whole again
    assert [p.name for p in cache.iterdir()] == [entry.name]  # no temporary or stale folder left


@pytest.mark.slow
def test_a_cache_that_cannot_be_written_costs_a_conversion_not_the_run(unet, tmp_path, monkeypatch, caplog):
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "a-file"))  # no folder can be made under it
    with caplog.at_level(logging.WARNING, logger="restoreflow.engines"):
        predictor = engines.load_dir(unet, CHANNELS, keras_of(unet), engine="openvino")
    assert "could not cache the OpenVINO model" in caplog.text and "XDG_CACHE_HOME" in caplog.text
    converted_in_memory = engines.load(load_model(unet)[0], 3, engine="openvino")
    np.testing.assert_array_equal(predictor(batch()), converted_in_memory(batch()))


def test_a_cache_turned_off_writes_nothing_and_converts_in_memory(unet, cache, monkeypatch):
    monkeypatch.setenv("RESTOREFLOW_OPENVINO_CACHE", "off")
    predictor = engines.load_dir(unet, CHANNELS, keras_of(unet), engine="openvino")
    assert not any(cache.rglob("*")) and not engines.cached(unet, CHANNELS, "openvino")
    converted_in_memory = engines.load(load_model(unet)[0], 3, engine="openvino")
    np.testing.assert_array_equal(predictor(batch()), converted_in_memory(batch()))


@pytest.mark.slow
def test_an_entry_another_worker_wrote_first_is_kept(unet, cache):
    import openvino as ov

    engines.load_dir(unet, CHANNELS, keras_of(unet), engine="openvino")
    entry = next(cache.iterdir())
    written = (entry / "model.bin").stat().st_ino
    # A second worker whose read found nothing before the first renamed its entry into place.
    assert ov_cache.store(ov_cache.read(ov.Core(), entry, CHANNELS), entry)
    assert (entry / "model.bin").stat().st_ino == written
    assert [p.name for p in cache.iterdir()] == [entry.name]


@pytest.mark.slow
def test_new_weights_in_the_same_folder_are_converted_not_served_the_old_conversion(unet, cache, tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(unet, folder)
    old = engines.load_dir(str(folder), CHANNELS, keras_of(str(folder)), engine="openvino")(batch())
    retrained = make_model(tmp_path / "retrained", "unet", UNET, seed=1, prepare=random_tail)
    shutil.copy(Path(retrained) / MODEL_FILE, folder / MODEL_FILE)
    new = engines.load_dir(str(folder), CHANNELS, keras_of(str(folder)), engine="openvino")(batch())
    assert np.abs(new - old).max() > 1e-3
    np.testing.assert_allclose(new, engines.load(load_model(retrained)[0], 3, engine="openvino")(batch()), atol=1e-6)
    assert len(list(cache.iterdir())) == 2


def test_the_cache_is_under_xdg_cache_home_or_the_home_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert ov_cache.root() == tmp_path / "restoreflow" / "openvino"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert ov_cache.root() == tmp_path / "home" / ".cache" / "restoreflow" / "openvino"
