"""Running a command as a user would, for the tests that read its console: an environment
without the test session's quieting (TF_CPP_*, RESTOREFLOW_VERBOSE), and Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def user_env() -> dict[str, str]:
    """os.environ as a user's shell has it (conftest sets TF_CPP_MIN_LOG_LEVEL for the session),
    with this checkout first on the path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_CPP", "RESTOREFLOW_VERBOSE"))}
    return {**env, "PYTHONPATH": str(ROOT)}


def start(argv: list[str]) -> subprocess.Popen:
    """``argv`` from the checkout's root in ``user_env``, stdout and stderr captured as text,
    with Ctrl-C's signal handled as in a terminal: a suite started in the background by a
    non-interactive shell (as CI may be) inherits SIGINT ignored, and Python then keeps it so."""
    return subprocess.Popen(argv, cwd=ROOT, env=user_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=_sigint_as_in_a_terminal)


def _sigint_as_in_a_terminal() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # Python installs KeyboardInterrupt over the default


def interrupt_when(process: subprocess.Popen, ready: Callable[[], bool], timeout_s: float = 240) -> str:
    """Sends SIGINT (Ctrl-C) to ``process`` once ``ready()`` (or after ``timeout_s``); returns
    its stderr once it has ended."""
    try:
        deadline = time.time() + timeout_s
        while time.time() < deadline and not ready():
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=120)
    finally:
        process.kill()
    return stderr
