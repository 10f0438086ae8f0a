"""restoreflow.console: what a subcommand prints when it stops (one line, the README's exit code)."""

import logging
import sys

import pytest

from restoreflow.console import MAX_ERROR_CHARS, DropExpectedNoise, Interrupted, error_line, user_errors


def _main_raising(error):
    @user_errors("restoreflow x")
    def main(argv):
        raise error

    return main


def _wrapped_ctrl_c():
    try:
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:  # Beam's local runner re-raises it like this, from inside a transform
            raise RuntimeError("KeyboardInterrupt [while running 'Restore images']")  # noqa: B904
    except RuntimeError as e:
        return e


@pytest.mark.parametrize("error, line", [
    (KeyboardInterrupt(), "restoreflow x: interrupted (Ctrl-C)"),
    (_wrapped_ctrl_c(), "restoreflow x: interrupted (Ctrl-C)"),
    (Interrupted("interrupted (Ctrl-C): 3 of 4 done"), "restoreflow x: interrupted (Ctrl-C): 3 of 4 done"),
], ids=["plain", "wrapped-by-beam", "saying-what-was-finished"])
def test_ctrl_c_is_one_line_and_exit_130(capsys, error, line):
    assert _main_raising(error)([]) == 130
    assert capsys.readouterr().err == line + "\n"


def test_a_bug_still_shows_its_traceback():
    with pytest.raises(ValueError, match="a bug"):
        _main_raising(ValueError("a bug"))([])


def test_a_long_message_keeps_its_start_and_its_advice():
    line = error_line("restoreflow x", ValueError("start " + "v" * 3_000_000 + " do this"))
    assert line.startswith("restoreflow x: error: start vvv") and line.endswith("vvv do this")
    assert len(line) <= len("restoreflow x: error: ") + MAX_ERROR_CHARS


def test_beams_logged_copy_of_a_reraised_exception_is_dropped():
    try:
        raise OSError("[Errno 28] No space left on device [while running 'Write scores/Parquet']")
    except OSError:
        exc_info = sys.exc_info()
    record = logging.LogRecord("apache_beam.runners.common", logging.ERROR, "common.py", 1, "%s",
                               (exc_info[1],), exc_info)
    other = logging.LogRecord("apache_beam.runners.common", logging.ERROR, "common.py", 1, "a real worker error",
                              (), None)
    assert not DropExpectedNoise().filter(record) and DropExpectedNoise().filter(other)
