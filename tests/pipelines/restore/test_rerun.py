"""Reruns decide from what is on disk, and runs into one output folder cannot interleave."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines import restore
from pipelines.imaging import images
from pipelines.report import summaries
from pipelines.restore import rerun
from pipelines.runtime import lock
from tests.helpers.restore import (
    assert_accounted_once,
    assert_outputs_match_newest_rows,
    colour_folder,
    make_model,
    run_restore,
)

ROOT = Path(__file__).resolve().parents[3]


def restore_process(mode: str, value: str, argv: list[str]) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "tests.helpers.with_fault", mode, value, *argv],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.mark.slow
def test_deleted_and_garbage_outputs_are_redone_and_counted(tmp_path, gray_model):
    ids = colour_folder(tmp_path / "in", 6)
    out = tmp_path / "out"
    run_restore([tmp_path / "in"], out, gray_model)
    (out / "restored" / "01.png").unlink()
    (out / "restored" / "02.png").write_bytes(b"garbage")
    again = run_restore([tmp_path / "in"], out, gray_model)
    assert again["counters"]["images_skipped"] == 4 and again["counters"]["images_restored"] == 2
    assert again["redone"] == {"changed output": 1, "missing output": 1}
    assert "2 redone: missing or changed output" in summaries.summary_line(again, str(out))
    assert_accounted_once(out, again, ids)
    assert_outputs_match_newest_rows(out)
    assert images.decode((out / "restored" / "02.png").read_bytes()).pixels.shape[-1] == 3
    third = run_restore([tmp_path / "in"], out, gray_model)
    assert third["counts"] == {"error": 0, "skipped": 6} and third["redone"] == {}


@pytest.mark.slow
def test_a_run_killed_with_other_settings_is_repaired_by_the_next_run(tmp_path, gray_model):
    ids = colour_folder(tmp_path / "in", 12)
    out = tmp_path / "out"
    base = [f"--input={tmp_path / 'in'}", f"--output={out}", f"--model={gray_model}"]
    run_restore([tmp_path / "in"], out, gray_model)
    killed = restore_process("kill-after", "4", [*base, "--degrade=denoise-gray-s50", "--batch_size=1"])
    assert killed.wait(timeout=300) == -9, killed.stdout.read()
    overwritten = [p.name for p in (out / "restored").iterdir()
                   if images.decode(p.read_bytes()).pixels.shape[-1] == 1]
    assert len(overwritten) >= 4, "the killed run replaced colour outputs with gray ones"
    # The kernel dropped the killed run's lock; its file still names that run.
    assert json.loads((out / lock.LOCK_FILE).read_text())["pid"] == killed.pid

    plain = run_restore([tmp_path / "in"], out, gray_model)
    assert plain["counters"]["images_redone"] == len(overwritten)
    assert plain["redone"] == {"changed output": len(overwritten)}
    assert plain["counters"]["images_skipped"] == 12 - len(overwritten)
    assert_accounted_once(out, plain, ids)
    assert_outputs_match_newest_rows(out)
    assert all(images.decode(p.read_bytes()).pixels.shape[-1] == 3 for p in (out / "restored").iterdir())


@pytest.mark.slow
def test_a_second_run_into_a_busy_output_stops_naming_the_first(tmp_path, gray_model, capsys):
    ids = colour_folder(tmp_path / "in", 4)
    out = tmp_path / "out"
    release = tmp_path / "release"
    argv = [f"--input={tmp_path / 'in'}", f"--output={out}", f"--model={gray_model}"]
    first = restore_process("wait-for", str(release), argv)
    try:
        deadline = time.time() + 120
        while not (out / lock.LOCK_FILE).exists() or not (out / lock.LOCK_FILE).read_text():
            assert time.time() < deadline and first.poll() is None, "the first run never took the lock"
            time.sleep(0.1)
        holder = json.loads((out / lock.LOCK_FILE).read_text())
        assert restore.main([*argv, "--degrade=denoise-gray-s50"]) == 1
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1
        assert f"is in use by run {holder['run_id']}" in err and f"pid {first.pid}" in err
    finally:
        release.write_text("")
        output = first.communicate(timeout=300)[0]
    assert first.returncode == 0, output
    # Nothing of the refused run was written: one run, all restored, outputs as recorded.
    assert [p.name for p in (out / "scores").iterdir()] == [holder["run_id"]]
    assert_outputs_match_newest_rows(out)
    again = run_restore([tmp_path / "in"], out, gray_model)
    assert again["counts"] == {"error": 0, "skipped": 4}
    assert_accounted_once(out, again, ids)


@pytest.mark.slow
def test_rows_from_before_output_hashes_vouch_for_nothing(tmp_path, gray_model):
    import pyarrow.parquet as pq

    ids = colour_folder(tmp_path / "in", 2)
    out = tmp_path / "out"
    first = run_restore([tmp_path / "in"], out, gray_model)
    for f in (out / "scores" / first["run_id"]).glob("*.parquet"):  # as an older version wrote them
        table = pq.read_table(f)
        pq.write_table(table.drop(["output_sha256", "mask_sha256", "redone", "note"]), f)
    again = run_restore([tmp_path / "in"], out, gray_model)
    assert again["counters"]["images_restored"] == 2 and again["redone"] == {"changed output": 2}
    assert_accounted_once(out, again, ids)


def test_temporary_files_of_killed_runs_are_removed_and_nothing_else(tmp_path):
    left = [tmp_path / "restored" / "sub" / "a.png.partial-20260101T000000Z-abc123",
            tmp_path / "crops" / "key" / "a.png.png.partial-20260101T000000Z-abc123"]
    kept = [tmp_path / "restored" / "a.partial-b.png", tmp_path / "restored" / "sub" / "a.png"]
    for path in left + kept:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    assert rerun.remove_partials(str(tmp_path)) == 2
    assert [p.exists() for p in left + kept] == [False, False, True, True]


def test_decide_skips_only_the_same_work_whose_output_is_as_recorded(tmp_path):
    output = tmp_path / "a.png"
    output.write_bytes(b"restored")
    row = {"content_sha256": "c", "mask_sha256": None, "settings_key": "k", "output_path": str(output),
           "output_sha256": hashlib.sha256(b"restored").hexdigest()}

    def decide(previous, content="c", key="k"):
        return rerun.decide(previous, content_sha256=content, mask_sha256=None, settings_key=key)

    assert decide(row) == (True, None)
    assert decide(None) == (False, None)
    assert decide(row, content="d") == (False, rerun.REPLACED), "other bytes under the name: its output is overwritten"
    assert decide(row, key="other settings") == (False, None), "another model or settings: new work"
    assert decide({**row, "output_path": None}) == (True, None), "--write_images none: scores only"
    assert decide({**row, "output_sha256": None}) == (False, rerun.CHANGED), "rows without a hash vouch for nothing"
    output.write_bytes(b"changed")
    assert decide(row) == (False, rerun.CHANGED)
    output.unlink()
    assert decide(row) == (False, rerun.MISSING)
    assert decide(row, content="d") == (False, None), "nothing left to overwrite: new work"


@pytest.mark.slow
def test_new_weights_beside_an_unchanged_card_redo_every_image(tmp_path, gray_model):
    """Issue 21 item 5: a model.keras replaced under the old model.json must not serve the
    outputs of the old weights."""
    ids = colour_folder(tmp_path / "in", 3)
    model, out = tmp_path / "model", tmp_path / "out"
    shutil.copytree(gray_model, model)
    first = run_restore([tmp_path / "in"], out, model)
    assert first["counts"] == {"error": 0, "restored": 3}
    before = {i: (out / "restored" / i).read_bytes() for i in ids}
    other = make_model(tmp_path / "other", seed=7)  # the same architecture, other weights
    shutil.copy(Path(other) / "model.keras", model / "model.keras")

    again = run_restore([tmp_path / "in"], out, model)
    assert again["counts"] == {"error": 0, "restored": 3}, "not '0 restored, 3 skipped'"
    assert all((out / "restored" / i).read_bytes() != before[i] for i in ids)
    assert_accounted_once(out, again, ids)
    assert_outputs_match_newest_rows(out)
    assert run_restore([tmp_path / "in"], out, model)["counts"] == {"error": 0, "skipped": 3}
