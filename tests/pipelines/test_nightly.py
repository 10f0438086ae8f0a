import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml

from pipelines import nightly
from pipelines.imaging import images
from pipelines.report import history
from restoreflow.configs import ConfigError
from tests.helpers.images import photo, write_image
from tests.helpers.restore import make_model

ROOT = Path(__file__).resolve().parents[2]


def write_config(path: Path, **values) -> str:
    path.write_text(yaml.safe_dump(values))
    return str(path)


@pytest.mark.slow
def test_nightly_runs_incrementally_and_history_shows_the_trend(tmp_path, capsys):
    model = make_model(tmp_path / "model")
    bucket = tmp_path / "bucket"
    for i, name in enumerate(("camera", "moon")):
        write_image(bucket / f"{i}.png", photo(name, (24, 24)))
    (bucket / "broken.png").write_bytes(b"not a png")
    config = write_config(tmp_path / "nightly.yaml", input=[str(bucket)], output=str(tmp_path / "out"), model=model,
                          tile_size=32)

    assert nightly.main(["--config", config]) == 0, "rejected inputs are reported, not fatal"
    first = capsys.readouterr().out
    assert "2 restored" in first and "1 rejected" in first and "report.html" in first
    write_image(bucket / "2.png", photo("coins", (24, 24)))
    assert nightly.main(["--config", config]) == 0
    second = capsys.readouterr().out
    assert "1 restored" in second and "2 skipped" in second
    assert (tmp_path / "out" / "report.html").exists()

    assert history.main([str(tmp_path / "out")]) == 0
    table = capsys.readouterr().out.splitlines()
    assert len(table) == 4  # header, rule, two runs
    assert history.main([str(tmp_path / "out"), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["restored"], r["skipped"], r["errors"]) for r in rows] == [(2, 0, 1), (1, 2, 1)]


def test_nightly_config_mistakes_exit_2_naming_the_key(tmp_path, capsys):
    config = write_config(tmp_path / "n.yaml", input=["x"], output="y", tile_sise=64)
    assert nightly.main(["--config", config]) == 2
    assert "tile_sise" in capsys.readouterr().err
    assert history.main([str(tmp_path / "nothing")]) == 2


def test_nightly_keys_are_the_restore_flags_and_no_default_is_copied():
    from pipelines.runtime import options

    config = nightly.from_mapping({"input": "in", "output": "out", "engine": "tf", "force": True, "seed": 3,
                                   "degrade": "denoise-gray-s25", "reference": None, "beam_args": ["--runner=FnApiRunner"]})
    argv = config.restore_argv()
    assert argv == ["--input=in", "--output=out", "--engine=tf", "--force=true", "--seed=3",
                    "--degrade=denoise-gray-s25", "--runner=FnApiRunner"], "unset keys keep the job's defaults"
    parsed = options.parse(argv, options.RestoreOptions).get_all_options()
    assert (parsed["engine"], parsed["force"], parsed["seed"], parsed["tile_size"]) == ("tf", True, 3, 0)
    several = nightly.from_mapping({"input": ["a", "b"], "output": "out"})
    assert several.restore_argv() == ["--input=a", "--input=b", "--output=out"] and several.output == "out"


@pytest.mark.parametrize("values, message", [
    ({"tile_size": "big"}, "tile_size: expected int, got 'big'"),
    ({"engine": "onnx"}, "engine: 'onnx' is not one of auto, tf, openvino"),
    ({"force": "maybe"}, "force: expected true or false, got 'maybe'"),
    ({"tile_size": [1, 2]}, "tile_size: expected one value, got [1, 2]"),
    ({"output": None}, "output: required"),
    ({"beam_args": "--runner=DataflowRunner"}, "beam_args: expected a list of Beam flags"),
])
def test_nightly_values_are_checked_with_the_flags_own_types(values, message):
    with pytest.raises(ConfigError) as error:
        nightly.from_mapping({"input": "in", "output": "out", **values})
    assert message in str(error.value)


@pytest.mark.slow
def test_a_failed_run_exits_1(tmp_path, capsys, monkeypatch):
    from pipelines.restore import inference

    def load_model(self):  # fault injection: the workers cannot load the model
        raise RuntimeError("injected: no model on this worker")

    model = make_model(tmp_path / "model")
    write_image(tmp_path / "in" / "a.png", photo("camera", (24, 24)))
    config = write_config(tmp_path / "n.yaml", input=[str(tmp_path / "in")], output=str(tmp_path / "out"),
                          model=model)
    monkeypatch.setattr(inference.TileModelHandler, "load_model", load_model)
    assert nightly.main(["--config", config]) == 1
    assert "FAILED" in capsys.readouterr().out


def test_a_damaged_model_file_is_a_mistake_found_before_the_run(tmp_path, capsys):
    model = make_model(tmp_path / "model")
    (Path(model) / "model.keras").write_bytes(b"damaged")  # the card reads fine
    write_image(tmp_path / "in" / "a.png", photo("camera", (24, 24)))
    config = write_config(tmp_path / "n.yaml", input=[str(tmp_path / "in")], output=str(tmp_path / "out"),
                          model=model)
    assert nightly.main(["--config", config]) == 2
    assert "model.keras is damaged or not a Keras model file" in capsys.readouterr().err


@pytest.mark.slow
def test_a_run_that_rejects_every_input_exits_1(tmp_path, capsys):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.png").write_bytes(b"")
    config = write_config(tmp_path / "n.yaml", input=[str(tmp_path / "in")], output=str(tmp_path / "out"),
                          model=make_model(tmp_path / "model"))
    assert nightly.main(["--config", config]) == 1
    assert "0 restored, 0 skipped, 1 rejected" in capsys.readouterr().out


def test_malformed_yaml_is_one_line(tmp_path, capsys):
    (tmp_path / "n.yaml").write_text("input: [a\noutput: b\n")
    assert nightly.main(["--config", str(tmp_path / "n.yaml")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "is not valid YAML" in err and "line" in err


@pytest.mark.slow
def test_a_killed_run_leaves_nothing_marked_done_and_the_next_run_completes(tmp_path):
    model = make_model(tmp_path / "model")
    bucket = tmp_path / "bucket"
    names = ("camera", "moon", "coins", "text", "astronaut", "coffee")
    for i in range(24):
        write_image(bucket / f"{i:02d}.png", photo(names[i % len(names)], (72 + i, 80)))
    output = tmp_path / "out"
    # Small tiles and batches of one make the run long enough to kill in the middle.
    args = [f"--input={bucket}", f"--output={output}", f"--model={model}", "--tile_size=12", "--batch_size=1"]
    process = subprocess.Popen([sys.executable, "-m", "pipelines.restore", *args], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 300
        while time.time() < deadline and len(list((output / "restored").glob("*.png"))) < 3:
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    written = sorted((output / "restored").glob("*.png"))
    assert 3 <= len(written) < 24, "killed in the middle of the run"
    for path in written:  # nothing partial under a final name
        assert images.decode(path.read_bytes()).pixels.shape[:2] == (72 + int(path.stem), 80)
    assert not list(output.glob("scores/*/*.parquet")), "a killed run records nothing as done"

    rerun = subprocess.run([sys.executable, "-m", "pipelines.restore", *args], cwd=ROOT, capture_output=True,
                           text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    rows = [r for f in output.glob("scores/*/*.parquet") for r in pq.read_table(f).to_pylist()]
    restored = sorted(r["image_id"] for r in rows if r["status"] == "restored")
    assert restored == [f"{i:02d}.png" for i in range(24)], "every image restored exactly once"
    assert not list(output.rglob("*.partial-*")), "no temporary files left visible"
    for i in range(24):
        assert images.decode((output / "restored" / f"{i:02d}.png").read_bytes()).pixels.shape[:2] == (72 + i, 80)
    assert np.all([r["tiles"] > 1 for r in rows])


def test_an_empty_night_exits_0_with_a_note(tmp_path, capsys):
    (tmp_path / "incoming").mkdir()
    config = write_config(tmp_path / "n.yaml", input=[str(tmp_path / "incoming")], output=str(tmp_path / "out"))
    assert nightly.main(["--config", config]) == 0
    out = capsys.readouterr().out
    assert "nothing to restore" in out and "holds no files (an empty night is normal)" in out
    missing = write_config(tmp_path / "m.yaml", input=[str(tmp_path / "typo")], output=str(tmp_path / "out"))
    assert nightly.main(["--config", missing]) == 2, "an input that does not exist is still a mistake"
    assert "no files found" in capsys.readouterr().err


def test_one_empty_input_of_several_is_noted_and_the_others_restored(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    write_image(tmp_path / "full" / "a.png", photo("camera", (16, 16)))
    config = write_config(tmp_path / "n.yaml", input=[str(tmp_path / "empty"), str(tmp_path / "full")],
                          output=str(tmp_path / "out"), model=make_model(tmp_path / "model"))
    assert nightly.main(["--config", config]) == 0
    out = capsys.readouterr().out
    assert f"--input {tmp_path / 'empty'} holds no files tonight" in out and "1 restored" in out


def test_relative_paths_are_the_config_files_not_the_current_folders(tmp_path, capsys, monkeypatch):
    folder = tmp_path / "etc"
    make_model(folder / "models" / "gray")
    write_image(folder / "incoming" / "a.png", photo("camera", (16, 16)))
    config = write_config(folder / "nightly.yaml", input=["incoming"], output="restored", model="models/gray")
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert nightly.main(["--config", config]) == 0
    assert "1 restored" in capsys.readouterr().out
    assert (folder / "restored" / "restored" / "a.png").exists() and list(elsewhere.iterdir()) == []
    loaded = nightly.load(write_config(folder / "names.yaml", input="in", output="/abs/out", model="denoise-gray",
                                       degrade="denoise-gray-s25", reference="gs://b/refs"))
    assert dict(loaded.flags) == {"input": str(folder / "in"), "output": "/abs/out", "model": "denoise-gray",
                                  "degrade": "denoise-gray-s25", "reference": "gs://b/refs"}


def test_a_new_image_under_a_name_restored_before_is_said_to_overwrite_it(tmp_path, capsys):
    incoming = tmp_path / "incoming"
    write_image(incoming / "scan.png", photo("camera", (16, 16)))
    write_image(incoming / "other.png", photo("moon", (16, 16)))
    config = write_config(tmp_path / "n.yaml", input=[str(incoming)], output=str(tmp_path / "out"),
                          model=make_model(tmp_path / "model"))
    assert nightly.main(["--config", config]) == 0
    first = (tmp_path / "out" / "restored" / "scan.png").read_bytes()
    capsys.readouterr()
    write_image(incoming / "scan.png", photo("coins", (16, 16)))  # the next night's scan, same name
    assert nightly.main(["--config", config]) == 0
    line = capsys.readouterr().out
    assert "1 restored, 1 skipped" in line and "1 earlier outputs overwritten: new images under names restored" in line
    assert (tmp_path / "out" / "restored" / "scan.png").read_bytes() != first
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["redone"] == {"replaced output": 1}
