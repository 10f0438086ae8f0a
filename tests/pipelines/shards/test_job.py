"""Job 1 end to end (one run, on two worker processes) and its command line. The transforms
are tested in memory in tests/pipelines/shards/."""

import io
import json
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.testing.util import assert_that, equal_to

from pipelines.degrade import pairs, recipe as recipes
from pipelines.inputs import sources
from pipelines.runtime import lock
from pipelines.shards import job as make_shards
from pipelines.shards.degrade import DegradeToRecords, writer_tags
from restoreflow import records
from tests.helpers.beam import local_pipeline
from tests.helpers.images import photo, png_bytes

ROOT = Path(__file__).resolve().parents[3]


def read_records(output: Path, split: str) -> list[bytes]:
    import tensorflow as tf

    files = sorted(str(p) for p in (output / split).glob("*.tfrecord*"))
    compression = "GZIP" if files and files[0].endswith(".gz") else ""
    return [r.numpy() for r in tf.data.TFRecordDataset(files, compression_type=compression)]


def read_jsonl(folder: Path) -> list[dict]:
    return [json.loads(line) for path in sorted(folder.glob("*.jsonl")) for line in path.read_text().splitlines() if line]


@pytest.mark.slow
def test_two_worker_processes_write_the_records_an_local_pipeline_makes(tmp_path, gray_folder):
    with tarfile.open(tmp_path / "more.tar.gz", "w:gz") as archive:
        data = png_bytes(photo("astronaut", (40, 48)))
        info = tarfile.TarInfo("sub/astro.png")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    with zipfile.ZipFile(tmp_path / "extra.zip", "w") as archive:
        archive.writestr("coffee.png", png_bytes(photo("coffee", (32, 40))))
    (gray_folder / "empty.png").write_bytes(b"")
    output = tmp_path / "shards"
    inputs = [gray_folder, tmp_path / "more.tar.gz", tmp_path / "extra.zip"]

    manifest = make_shards.run([*(f"--input={i}" for i in inputs), f"--output={output}", "--recipe=blind-mixed",
                                "--seed=5", "--patch_size=24", "--stride=16", "--val_fraction=0.3",
                                "--direct_running_mode=multi_processing", "--direct_num_workers=2"])

    index = {line["image_id"]: line for line in read_jsonl(output / "index")}
    assert set(index) == {"camera.png", "moon.png", "coins.png", "nested/text.png", "more.tar.gz/sub/astro.png",
                          "extra.zip/coffee.png"}
    assert [e["image_id"] for e in read_jsonl(output / "errors")] == ["empty.png"]
    counts = manifest.counts
    assert counts.errors == 1 and counts.inputs_accounted == 7 and counts.images.val > 0
    files = {split: read_records(output, split) for split in ("train", "val")}
    assert [len(files["train"]), len(files["val"])] == [counts.records.train, counts.records.val]
    assert sum(counts.records.__dict__.values()) == sum(line["records"] for line in index.values())
    assert sorted(p for split in ("train", "val") for p in manifest.shards.of(split)) == sorted(
        str(p.relative_to(output)) for p in output.glob("*/*.tfrecord.gz"))
    assert len(manifest.shards.train) >= 2 * 2  # at least 2 x workers files per split
    assert manifest.recipe["name"] == "blind-mixed" and manifest.seed == 5 and manifest.sharding.workers == 2

    # The same records as the transform makes in memory, in one process: a record depends only
    # on (seed, image, patch index), never on which worker made it.
    images = [sources.ImageBytes(i, (gray_folder / i).read_bytes(), i) for i in index if (gray_folder / i).is_file()]
    assert len(images) == 4
    with local_pipeline() as p:
        made = p | beam.Create(images) | DegradeToRecords(
            recipe=recipes.load("blind-mixed"), settings=pairs.PatchSettings(patch_size=24, stride=16), seed=5,
            max_pixels=10**8, val_fraction=0.3, groups=manifest.sharding.writers_per_worker)
        in_memory = [made[tag] for tag in writer_tags(manifest.sharding.writers_per_worker)] | beam.Flatten()
        folder_records = [r for split in files.values() for r in split
                          if records.parse_to_numpy(r)["image_id"] in {i.image_id for i in images}]
        assert_that(in_memory | beam.FlatMap(iter), equal_to(folder_records))


def test_cli_errors_name_the_problem_before_anything_runs(tmp_path, gray_folder, capsys):
    assert make_shards.main([f"--input={gray_folder}", f"--output={tmp_path}/o", "--recipe=sr-x2", "--patch_sise=24"]) == 2
    assert "unknown flag --patch_sise (did you mean --patch_size?)" in capsys.readouterr().err
    assert make_shards.main([f"--input={tmp_path}/missing", f"--output={tmp_path}/o", "--recipe=sr-x2"]) == 2
    assert "no files found" in capsys.readouterr().err
    assert make_shards.main([f"--input={gray_folder}", f"--output={tmp_path}/o", "--recipe=sr-x3", "--patch_size=40"]) == 2
    assert "patch_size" in capsys.readouterr().err
    assert make_shards.main([f"--input={gray_folder}", f"--output={tmp_path}/o", "--recipe=sr-x2",
                             "--val_fraction=1"]) == 2
    assert "--val_fraction must lie within [0, 1)" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "o")
    (tmp_path / "a_file").write_text("")
    assert make_shards.main([f"--input={gray_folder}", f"--output={tmp_path}/a_file", "--recipe=sr-x2"]) == 2
    assert capsys.readouterr().err.strip() == f"restoreflow shards: error: --output {tmp_path}/a_file is a file; give a folder (it is created when missing)"
    assert make_shards.main([f"--input={gray_folder}", f"--output={tmp_path}/o", "--recipe=sr-x2", "--stride=0"]) == 2
    assert "--stride must be at least 1, got 0" in capsys.readouterr().err


def test_an_output_with_anything_in_it_is_not_written_into(tmp_path, gray_folder, capsys):
    for leftover in ("train/part0-00000-of-00001.tfrecord.gz", "index/images-00000-of-00001.jsonl"):
        (tmp_path / "out" / leftover).parent.mkdir(parents=True)
        (tmp_path / "out" / leftover).write_bytes(b"")  # e.g. a run that crashed before its manifest
        assert make_shards.main([f"--input={gray_folder}", f"--output={tmp_path / 'out'}", "--recipe=sr-x2"]) == 2
        assert "is not empty" in capsys.readouterr().err
        (tmp_path / "out" / leftover).unlink()


@pytest.mark.slow
def test_a_run_that_rejects_every_input_exits_1(tmp_path, capsys):
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "a.png").write_bytes(b"")
    assert make_shards.main([f"--input={tmp_path}/junk", f"--output={tmp_path}/o", "--recipe=sr-x2"]) == 1
    out = capsys.readouterr().out
    assert "shards: 0 images -> 0 train and 0 val records; 1 errors" in out and "manifest.json" in out


def test_a_busy_output_is_refused_naming_the_run_that_holds_it(tmp_path, gray_folder, capsys):
    output = tmp_path / "out"
    argv = [f"--input={gray_folder}", f"--output={output}", "--recipe=sr-x2"]
    with lock.held(str(output), "shards-first"):
        assert make_shards.main(argv) == 1
        assert "--output " + str(output) + " is in use by run shards-first" in capsys.readouterr().err
        (output / "train").mkdir()  # the first run has begun writing
        assert make_shards.main(argv) == 1
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "is in use by run shards-first" in err


@pytest.mark.slow
def test_two_runs_started_at_once_into_one_output_never_both_succeed(tmp_path, gray_folder):
    output = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "pipelines.shards.job", f"--input={gray_folder}", f"--output={output}",
            "--recipe=sr-x2", "--patch_size=24", "--stride=8"]
    runs = [subprocess.Popen([*argv, f"--num_shards={n}"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for n in (1, 3)]
    results = [(run.wait(timeout=300), *run.communicate()) for run in runs]
    codes = sorted(code for code, _, _ in results)
    assert codes[0] == 0 and codes[1] in (1, 2), results
    refused = next(err for code, _, err in results if code)
    # the refusal names the holder, or says the folder is taken when the winner got further first
    assert len(refused.strip().splitlines()[-1:]) == 1 and (
        "is in use by run shards-" in refused or "is not empty; shards go to a new folder" in refused), refused
    manifest = json.loads((output / "manifest.json").read_text())
    for split in ("train", "val"):
        assert sorted(manifest["shards"][split]) == sorted(str(p.relative_to(output))
                                                          for p in output.glob(f"{split}/*.tfrecord*"))
        assert len(read_records(output, split)) == manifest["counts"]["records"][split]


def test_an_output_inside_the_input_is_never_read_as_input(tmp_path, gray_folder):
    for name in ("first", "second"):
        manifest = make_shards.run([f"--input={gray_folder}", f"--output={gray_folder / name}", "--recipe=sr-x2"])
        assert manifest.counts.images.total() == 4 and manifest.counts.errors == 0, name
