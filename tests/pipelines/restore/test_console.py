"""What a user sees on the console from one `restoreflow restore` run: no TensorFlow C++ lines,
a progress line, one summary line naming report.html and errors/, and advice when the inputs
do not show the damage the model is for."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.images import photo, write_image

ROOT = Path(__file__).resolve().parents[3]
OUR_LINE = re.compile(r"^(\d\d:\d\d:\d\d INFO restoreflow\.|restore: \d+/\d+ images)")


@pytest.mark.slow
def test_a_restore_run_is_quiet_shows_progress_and_says_where_to_look(tmp_path):
    for name in ("camera", "moon", "coins"):  # clean photographs for the bundled denoiser
        write_image(tmp_path / "in" / f"{name}.png", photo(name, (64, 80)))
    (tmp_path / "in" / "broken.png").write_bytes(b"not a png")
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_CPP", "RESTOREFLOW_VERBOSE"))}
    result = subprocess.run(
        [sys.executable, "-m", "restoreflow.cli", "restore", f"--input={tmp_path / 'in'}", f"--output={out}",
         "--model=denoise-gray"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    noise = [line for line in result.stderr.splitlines() if not OUR_LINE.match(line)]
    assert noise == [], "\n".join(noise)
    assert "restore: 4/4 images" in result.stderr.splitlines()[-1]

    summary, *notes = result.stdout.splitlines()
    run = re.search(r"restore run (\S+):", summary).group(1)
    assert "3 restored, 0 skipped, 1 rejected in " in summary and "MP/s" in summary
    assert f"report {out}/report.html" in summary and f"{out}/errors/{run}/" in summary
    assert len(notes) == 1 and notes[0].startswith("note: the inputs show little noise")
    assert "`restoreflow models`" in notes[0]
