"""A restore run that cannot finish ends in one line (pipelines.runtime.failures): a full disk while the
scores table is written (exit 1) and Ctrl-C (exit 130), each in a real subprocess; Beam's
temporary sink folders go, and the next run completes."""

import re
import subprocess
import sys

import pytest

from tests.helpers import processes
from tests.helpers.restore import assert_accounted_once, colour_folder, run_restore


def restore_with_fault(mode: str, value: str, argv: list[str]) -> subprocess.Popen:
    return processes.start([sys.executable, "-m", "tests.helpers.with_fault", mode, value, *argv])


def error_lines(stderr: str, prog: str = "restoreflow restore: ") -> list[str]:
    """What the run printed besides its log lines and progress line; a traceback shows here."""
    ours = re.compile(r"^(\d\d:\d\d:\d\d INFO restoreflow\.|restore: \d+/\d+ images)")
    return [line for line in stderr.splitlines() if not ours.match(line)]


@pytest.mark.slow
def test_a_full_disk_while_writing_the_scores_is_one_line_and_leaves_no_beam_temp(tmp_path, gray_model):
    ids = colour_folder(tmp_path / "in", 3)
    out = tmp_path / "out"
    argv = [f"--input={tmp_path / 'in'}", f"--output={out}", f"--model={gray_model}"]
    process = restore_with_fault("disk-full-under", "scores", argv)
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 1, stderr[-3000:]
    lines = error_lines(stderr)
    assert len(lines) == 1, "\n".join(lines)
    assert lines[0].startswith(f"restoreflow restore: error: no space left on the device of {out} in step "
                               "'Write scores' (OSError: [Errno 28] No space left on device); free space first: "
                               "3 of 3 images were finished but none is recorded as done"), lines[0]
    assert not list(out.rglob("beam-temp-*")), "Beam's temporary folders are removed"
    assert not list(out.glob("scores/*/*.parquet"))
    again = run_restore([tmp_path / "in"], out, gray_model)  # space is back: the same command completes
    assert again["counts"] == {"error": 0, "restored": 3}
    assert_accounted_once(out, again, ids)


@pytest.mark.slow
def test_ctrl_c_is_one_line_saying_what_was_finished_and_the_rerun_completes(tmp_path, gray_model):
    ids = colour_folder(tmp_path / "in", 6)
    out = tmp_path / "out"
    argv = [f"--input={tmp_path / 'in'}", f"--output={out}", f"--model={gray_model}", "--batch_size=1"]
    process = restore_with_fault("hold-after", "2", argv)  # busy after two images, until interrupted
    stderr = processes.interrupt_when(process, lambda: len(list(out.glob("restored/*.png"))) >= 2)
    assert process.returncode == 130, stderr[-3000:]
    lines = error_lines(stderr)
    assert len(lines) == 1, "\n".join(lines)
    assert re.fullmatch(r"restoreflow restore: interrupted \(Ctrl-C\): [0-2] of 6 images were finished but none is "
                        r"recorded as done \(.*\), so the same command run again does them all", lines[0]), lines[0]
    assert not list(out.rglob("beam-temp-*"))
    again = run_restore([tmp_path / "in"], out, gray_model)
    assert again["counts"] == {"error": 0, "restored": 6}
    assert_accounted_once(out, again, ids)
