"""The restore job end to end on the local runner: what a run leaves, what a rerun redoes, and
the one-line mistakes that stop it before it runs."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
import zipfile

import pyarrow.parquet as pq
import pytest

from pipelines import restore
from restoreflow import scores
from tests.helpers.images import photo, png_bytes, write_image
from tests.helpers.restore import (
    assert_accounted_once,
    errors_of,
    make_model,
    read_pixels,
    rows_of,
    run_restore,
)

EXPECTED_COLUMNS = [
    "image_id", "source", "status", "run_id", "settings_key", "model_id", "task", "content_sha256",
    "width_in", "height_in", "width_out", "height_out", "channels", "bit_depth", "has_alpha", "source_mode",
    "format_in", "format_out", "output_path", "crop_path", "reference", "tiles", "seconds",
    "psnr_db_degraded", "psnr_db_restored", "ssim_degraded", "ssim_restored", "ms_ssim_degraded",
    "ms_ssim_restored", "noise_sigma_degraded", "noise_sigma_restored", "sharpness_degraded",
    "sharpness_restored", "blockiness_degraded", "blockiness_restored", "niqe_degraded", "niqe_restored",
    "output_sha256", "mask_sha256",
    "redone", "note", "chosen_model", "choice_reason", "strength", "diagnosis_label", "diagnosis_noise_sigma",
    "diagnosis_noise_kind", "diagnosis_jpeg_quality", "diagnosis_blur_sigma", "diagnosis_resolution",
    "diagnosis_undamaged", "diagnosis_undamaged_probability", "diagnosis_estimator", "diagnosis_version",
    "precision",
]


def _archives(tmp_path):
    with zipfile.ZipFile(tmp_path / "box.zip", "w") as archive:
        archive.writestr("scans/a.png", png_bytes(photo("camera", (20, 20))))
    with tarfile.open(tmp_path / "old.tar.gz", "w:gz") as archive:
        data = png_bytes(photo("moon", (18, 22)))
        info = tarfile.TarInfo("b.png")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))


@pytest.mark.slow
def test_a_run_restores_folders_and_archives_and_accounts_for_every_input(tmp_path, gray_model, capsys):
    folder = tmp_path / "in"
    write_image(folder / "good.png", photo("camera", (16, 16)))
    write_image(folder / "sub" / "c.png", photo("coins", (20, 24)))
    write_image(folder / "huge.png", photo("moon", (80, 80)))
    (folder / "empty.png").write_bytes(b"")
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    _archives(tmp_path)
    write_image(tmp_path / "elsewhere" / "other.png", photo("camera", (16, 16)))
    out = tmp_path / "out"
    argv = [f"--input={folder}", f"--input={tmp_path / 'box.zip'}", f"--input={tmp_path / 'old.tar.gz'}",
            f"--output={out}", f"--model={gray_model}", "--max_pixels=1000", f"--reference={tmp_path / 'elsewhere'}"]
    assert restore.main(argv) == 0
    console = capsys.readouterr()
    # References given but none matching: said so, on one line.
    assert "warning: no input matched a reference in" in console.err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["counts"] == {"error": 3, "restored": 4}
    assert console.out.startswith(f"restore run {summary['run_id']}: 4 restored, 0 skipped, 3 rejected in ")
    assert_accounted_once(out, summary, ["good.png", "sub/c.png", "huge.png", "empty.png", "corrupt.png",
                                         "box.zip/scans/a.png", "old.tar.gz/b.png"])
    assert all(e["reason"] for e in errors_of(out))
    restored = out / "restored"
    assert sorted(str(p.relative_to(restored)) for p in restored.rglob("*.png")) == [
        "box.zip/scans/a.png", "good.png", "old.tar.gz/b.png", "sub/c.png"]
    assert read_pixels(restored / "box.zip" / "scans" / "a.png").shape == (20, 20, 1)
    written = pq.read_schema(scores.files(str(out))[0])
    assert written.names == EXPECTED_COLUMNS == scores.SCHEMA.names
    assert written.equals(scores.SCHEMA, check_metadata=True), "typed and versioned as restoreflow.scores says"
    assert (out / "report.html").exists() and (out / "runs" / summary["run_id"] / "summary.json").exists()


@pytest.mark.slow
def test_two_worker_processes_give_the_same_scores(tmp_path, gray_model, gray_folder):
    one = run_restore([gray_folder], tmp_path / "one", gray_model, "--degrade=denoise-gray-s15", "--tile_size=24")
    two = run_restore([gray_folder], tmp_path / "two", gray_model, "--degrade=denoise-gray-s15", "--tile_size=24",
                      "--direct_running_mode=multi_processing", "--direct_num_workers=2")
    assert one["counts"] == two["counts"] == {"error": 0, "restored": 4}

    def scores_of(output):
        return {r["image_id"]: {k: r[k] for k in scores.SCORE_COLUMNS} for r in rows_of(output)}

    assert scores_of(tmp_path / "one") == scores_of(tmp_path / "two")


@pytest.mark.slow
def test_reruns_only_do_new_or_changed_work(tmp_path, gray_model):
    # What makes an output stale is checked without runs in test_settings (the settings key)
    # and test_rerun (decide); here the job acts on it.
    folder = tmp_path / "in"
    for i, name in enumerate(("camera", "moon", "coins")):
        write_image(folder / f"{i}.png", photo(name, (20, 24)))
    first = run_restore([folder], tmp_path / "out", gray_model)
    assert first["counters"]["images_restored"] == 3

    again = run_restore([folder], tmp_path / "out", gray_model)
    assert again["counters"].get("images_restored", 0) == 0 and again["counters"]["images_skipped"] == 3
    assert again["counters"].get("num_inferences", 0) == 0, "an unchanged bucket runs no inference"
    assert again["counts"] == {"error": 0, "skipped": 3}

    write_image(folder / "3.png", photo("text", (20, 24)))
    write_image(folder / "0.png", photo("camera", (20, 26)))  # changed content
    more = run_restore([folder], tmp_path / "out", gray_model)
    assert more["counters"]["images_restored"] == 2 and more["counters"]["images_skipped"] == 2

    other_model = make_model(tmp_path / "other", seed=1)
    assert run_restore([folder], tmp_path / "out", other_model)["counters"]["images_restored"] == 4
    forced = run_restore([folder], tmp_path / "out", other_model, "--force")
    assert forced["counters"]["images_restored"] == 4
    # Back to the first model: restored/ holds the other model's output, so all is done again.
    assert run_restore([folder], tmp_path / "out", gray_model)["counters"]["images_restored"] == 4


@pytest.mark.slow
def test_an_in_process_run_builds_its_keras_model_once(tmp_path, gray_model, monkeypatch):
    """The launcher's check and the in-process worker share one load (bench/RESULTS.md, issue 22),
    where the model is converted in this process: with OpenVINO's cache turned off (with it on, a
    child process converts it and this one loads none: test_engine.py)."""
    from pipelines.restore import inference

    monkeypatch.setenv("RESTOREFLOW_OPENVINO_CACHE", "off")
    loads = []
    real_load = inference.load_model
    monkeypatch.setattr(inference, "load_model", lambda folder: loads.append(folder) or real_load(folder))
    write_image(tmp_path / "in" / "a.png", photo("camera", (16, 16)))
    assert run_restore([tmp_path / "in"], tmp_path / "out", gray_model)["counts"] == {"error": 0, "restored": 1}
    assert loads == [gray_model]


@pytest.mark.slow
def test_a_run_with_a_cached_openvino_conversion_builds_no_keras_model(tmp_path, gray_model, monkeypatch):
    """Neither the launcher's check nor the worker loads Keras (bench/RESULTS.md, issue 23)."""
    from pipelines.restore import inference

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    write_image(tmp_path / "in" / "a.png", photo("camera", (16, 16)))
    first = run_restore([tmp_path / "in"], tmp_path / "first", gray_model, "--engine=openvino")
    loads = []
    real_load = inference.load_model
    monkeypatch.setattr(inference, "load_model", lambda folder: loads.append(folder) or real_load(folder))
    second = run_restore([tmp_path / "in"], tmp_path / "second", gray_model, "--engine=openvino")
    assert first["counts"] == second["counts"] == {"error": 0, "restored": 1}
    assert loads == []
    assert read_pixels(tmp_path / "second" / "restored" / "a.png").tobytes() == \
        read_pixels(tmp_path / "first" / "restored" / "a.png").tobytes()


@pytest.mark.slow
def test_a_run_that_rejects_every_input_exits_1(tmp_path, gray_model, capsys):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.png").write_bytes(b"not a png")
    (tmp_path / "in" / "b.jpg").write_bytes(b"")
    argv = [f"--input={tmp_path / 'in'}", f"--output={tmp_path / 'out'}", f"--model={gray_model}"]
    assert restore.main(argv) == 1
    assert "0 restored, 0 skipped, 2 rejected" in capsys.readouterr().out


def test_cli_errors_name_the_problem(tmp_path, gray_model, capsys):
    write_image(tmp_path / "in" / "a.png", photo("camera", (16, 16)))
    base = [f"--input={tmp_path / 'in'}", f"--output={tmp_path / 'out'}", f"--model={gray_model}"]
    assert restore.main(base + ["--tile_sise=64"]) == 2
    assert "--tile_sise (did you mean --tile_size?)" in capsys.readouterr().err
    assert restore.main(base + ["--degrade=sr-x2"]) == 2
    assert "scales by 1" in capsys.readouterr().err
    assert restore.main(base + ["--format=GIFF"]) == 2
    assert "--format GIFF" in capsys.readouterr().err
    assert restore.main(base + ["--tile_size=6"]) == 2
    assert "tile_size" in capsys.readouterr().err
    assert restore.main([f"--input={tmp_path / 'in'}", f"--output={tmp_path / 'out'}", f"--model={tmp_path}"]) == 2
    assert "not a model directory" in capsys.readouterr().err


@pytest.mark.slow
def test_the_png_level_changes_the_files_size_not_its_pixels_and_redoes_nothing(tmp_path, gray_model):
    folder = tmp_path / "in"
    write_image(folder / "a.png", photo("camera", (64, 64)))
    fast = run_restore([folder], tmp_path / "fast", gray_model)
    small = run_restore([folder], tmp_path / "small", gray_model, "--png_compress_level=9")
    assert fast["counters"]["images_restored"] == small["counters"]["images_restored"] == 1
    fast_file, small_file = (tmp_path / out / "restored" / "a.png" for out in ("fast", "small"))
    assert (read_pixels(fast_file) == read_pixels(small_file)).all()
    assert small_file.stat().st_size < fast_file.stat().st_size  # level 1 by default, not Pillow's 6
    again = run_restore([folder], tmp_path / "fast", gray_model, "--png_compress_level=9")
    assert again["counters"]["images_skipped"] == 1 and again["counters"].get("images_restored", 0) == 0


def test_usage_mistakes_are_one_line_naming_the_problem(tmp_path, gray_model, capsys):
    write_image(tmp_path / "in" / "a.png", photo("camera", (16, 16)))
    (tmp_path / "a_file").write_text("")
    truncated = tmp_path / "truncated"
    shutil.copytree(gray_model, truncated)
    data = (truncated / "model.keras").read_bytes()
    (truncated / "model.keras").write_bytes(data[: len(data) // 2])
    base = [f"--input={tmp_path / 'in'}", f"--output={tmp_path / 'out'}", f"--model={gray_model}"]
    cases = [
        ([f"--input={tmp_path / 'in'}", f"--output={tmp_path / 'a_file'}", f"--model={gray_model}"],
         f"--output {tmp_path / 'a_file'} is a file"),
        ([f"--input={tmp_path / 'in'}", f"--output={tmp_path / 'out'}", f"--model={truncated}"],
         f"{truncated / 'model.keras'} is damaged or not a Keras model file"),
        ([*base, "--runner=DataflowRunner", "--region=europe-west1", "--temp_location=gs://b/tmp"],
         "--runner DataflowRunner needs --project"),
        ([*base, "--max_pixels", "-1"], "--max_pixels must be at least 1, got -1"),
        ([*base, "--batch_size=0"], "--batch_size must be at least 1, got 0"),
        ([*base, "--batch_size=many"], "argument --batch_size: invalid int value: 'many'"),
        ([*base, "--png_compress_level=12"], "argument --png_compress_level: invalid choice: 12"),
    ]
    for argv, message in cases:
        assert restore.main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and message in err, err
    assert not (tmp_path / "out").exists(), "nothing ran"


def test_a_model_that_cannot_run_is_one_line_before_the_run(tmp_path, capfd):
    """Issue 21: a card saying 1 channel for a 3-channel model (397 lines of a worker's traceback)
    and a model with a Lambda layer (35 lines before the error) are found before the pipeline."""
    import keras

    write_image(tmp_path / "in" / "a.png", photo("camera", (16, 16)))
    miscarded = make_model(tmp_path / "rgb", args={"channels": 3, "depth": 3, "width": 8, "batch_norm": False})
    card = json.loads((tmp_path / "rgb" / "model.json").read_text())
    (tmp_path / "rgb" / "model.json").write_text(json.dumps({**card, "channels": 1}))
    with_lambda = make_model(tmp_path / "lambda")
    inputs = keras.Input((None, None, 1))
    keras.Model(inputs, keras.layers.Lambda(lambda x: x * 0.5)(inputs)).save(tmp_path / "lambda" / "model.keras")
    cases = [
        (miscarded, f"{tmp_path / 'rgb' / 'model.keras'} takes 3 and gives 3 channels, but its model.json says 1 and 1"),
        (with_lambda, f"{tmp_path / 'lambda' / 'model.keras'} holds a Lambda layer"),
    ]
    capfd.readouterr()
    for model, message in cases:
        assert restore.main([f"--input={tmp_path / 'in'}", f"--output={tmp_path / 'out'}", f"--model={model}"]) == 2
        err = capfd.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and f"--model: {message}" in err, err
    assert not (tmp_path / "out").exists(), "nothing ran"


def test_an_output_written_by_a_newer_restoreflow_is_refused_in_one_line(tmp_path, gray_model, capsys):
    import pyarrow as pa

    write_image(tmp_path / "in" / "a.png", photo("camera", (16, 16)))
    newer = tmp_path / "out" / "scores" / "20990101T000000Z-future" / "part-00000-of-00001.parquet"
    newer.parent.mkdir(parents=True)
    schema = scores.SCHEMA.with_metadata({scores.VERSION_KEY: str(scores.SCHEMA_VERSION + 1).encode()})
    pq.write_table(pa.Table.from_pylist([], schema=schema), newer)
    argv = [f"--input={tmp_path / 'in'}", f"--output={tmp_path / 'out'}", f"--model={gray_model}"]
    assert restore.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"{newer} has scores schema version {scores.SCHEMA_VERSION + 1}" in err
    assert not (tmp_path / "out" / "restored").exists()


@pytest.mark.slow
def test_a_restore_run_records_niqe_before_and_after(tmp_path, gray_model):
    folder = tmp_path / "in"
    write_image(folder / "a.png", photo("camera", (200, 200)))
    write_image(folder / "small.png", photo("camera", (40, 40)))
    run_restore([folder], tmp_path / "out", gray_model)
    rows = {r["image_id"]: r for r in rows_of(tmp_path / "out")}
    assert rows["a.png"]["niqe_degraded"] > 0 and rows["a.png"]["niqe_restored"] > 0
    assert rows["small.png"]["niqe_degraded"] is None and rows["small.png"]["niqe_restored"] is None
