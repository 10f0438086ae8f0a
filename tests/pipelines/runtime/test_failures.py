"""pipelines.runtime.failures: how a run that cannot finish ends (the restore job's cases, with their
reruns, are in tests/pipelines/restore/test_failures.py)."""

import errno
import re
import sys

import pytest

from pipelines.runtime import failures
from pipelines.shards import job as make_shards
from restoreflow.console import Interrupted
from tests.helpers import processes
from tests.helpers.images import photo, write_image


def test_a_full_disk_is_found_along_the_chain_and_beam_temps_of_the_run_go(tmp_path):
    kept = tmp_path / "scores" / "part-00000.parquet"
    temp = tmp_path / "scores" / "beam-temp-part-1234" / "abc.parquet"
    temp.parent.mkdir(parents=True)
    kept.write_bytes(b"final")
    temp.write_bytes(b"partial")
    (tmp_path / "errors" / "beam-temp-errors-99").mkdir(parents=True)  # an empty one goes too
    with pytest.raises(failures.RunFailed, match=r"^no space left on the device of OUT in step 'Write scores' "
                                                 r"\(\[Errno 28\] No space left on device\); free space first: 1 done$"):
        with failures.ends_in_one_line("restore", "OUT", [str(tmp_path / "scores"), str(tmp_path / "errors")],
                                       finished=lambda: "1 done"):
            try:
                raise OSError(errno.ENOSPC, "No space left on device")
            except OSError as e:  # as Beam's local runner hands it to the launcher
                raise RuntimeError(f"{e} [while running 'Write scores/Parquet/Write']") from e
    assert kept.exists() and not list(tmp_path.rglob("beam-temp-*"))


def test_other_failures_pass_through_unchanged(tmp_path):
    with pytest.raises(ValueError, match="a bug"):
        with failures.ends_in_one_line("restore", "OUT", [str(tmp_path)], finished=lambda: ""):
            raise ValueError("a bug")
    with pytest.raises(Interrupted, match=r"^interrupted \(Ctrl-C\): 3 done$"):
        with failures.ends_in_one_line("restore", "OUT", [str(tmp_path)], finished=lambda: "3 done"):
            raise KeyboardInterrupt


@pytest.mark.slow
def test_ctrl_c_while_sharding_is_one_line_and_the_same_command_runs_again(tmp_path):
    for i, name in enumerate(("camera", "moon", "coins", "text")):
        write_image(tmp_path / "clean" / f"{i}.png", photo(name, (48, 48)))
    argv = [f"--input={tmp_path / 'clean'}", f"--output={tmp_path / 'shards'}", "--recipe=denoise-gray-s25",
            "--patch_size=24", "--stride=12"]
    marker = tmp_path / "holding"
    process = processes.start([sys.executable, "-m", "tests.helpers.shards_with_fault", "2", str(marker), *argv])
    stderr = processes.interrupt_when(process, marker.exists)
    assert process.returncode == 130, stderr[-3000:]
    ours = re.compile(r"^(\d\d:\d\d:\d\d INFO restoreflow\.|shards: \d+/\d+ images)")
    lines = [line for line in stderr.splitlines() if not ours.match(line)]
    assert len(lines) == 1, "\n".join(lines)
    assert re.fullmatch(r"restoreflow shards: interrupted \(Ctrl-C\): [0-2] of 4 images were sharded but nothing is "
                        r"final before manifest.json is written; the same command run again makes the shards afresh",
                        lines[0]), lines[0]
    assert not list((tmp_path / "shards").rglob("beam-temp-*"))
    assert make_shards.main(argv) == 0
    assert (tmp_path / "shards" / "manifest.json").exists()
