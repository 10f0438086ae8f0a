"""TensorFlow's C++ start-up lines, left out unless the user asks for them (``--verbose``).

While it loads, and when it first looks for devices, TensorFlow 2.21 prints lines such as
"Could not find cuda drivers" and "failed call to cuInit: ... CUDA error" straight to file
descriptor 2, before absl logging is initialised, so ``TF_CPP_MIN_LOG_LEVEL`` does not hide
them (see the design page's traps). On a CPU machine they read like a failure on every run.

``install()`` makes the first ``import tensorflow`` of the process, and its first device query,
run with fd 2 sent to a temporary file; then every captured line that is not one of those
start-up lines is written back to stderr, so a real problem still shows. Nothing is captured
when ``RESTOREFLOW_VERBOSE=1`` (set by ``--verbose``, inherited by local worker processes).

Once absl logging is up, TensorFlow's C++ INFO lines come later too, while a job runs (e.g.
"TFRecordDataset `buffer_size` is unspecified" when training reads its shards); those obey
``TF_CPP_MIN_LOG_LEVEL``, which the same first import sets to 1 (warnings and errors still
show) unless the user set it.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import os
import re
import sys
import tempfile

VERBOSE_ENV = "RESTOREFLOW_VERBOSE"

# glog lines: level letter, date, time, thread, file:line]
_GLOG = re.compile(r"^(?P<level>[IWEF])\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ (?P<file>[\w.]+):\d+\]")
_NOISE_FILES = {"cuda_platform.cc", "cuda_diagnostics.cc", "cuda_executor.cc", "cudart_stub.cc", "port.cc",
                "cpu_feature_guard.cc"}
QUIET_LEVEL = "1"  # TF_CPP_MIN_LOG_LEVEL: no C++ INFO lines; warnings and errors still show
_NOISE_TEXT = (
    "All log messages before absl::InitializeLog() is called",
    "rebuild TensorFlow with the appropriate compiler flags",  # cpu_feature_guard's second line
)


def verbose() -> bool:
    return os.environ.get(VERBOSE_ENV) == "1"


def is_startup_noise(line: str) -> bool:
    """Informational start-up lines, and the CUDA probe's complaints on a machine without a GPU."""
    if any(text in line for text in _NOISE_TEXT):
        return True
    match = _GLOG.match(line)
    return bool(match) and (match["level"] == "I" or match["file"] in _NOISE_FILES)


@contextlib.contextmanager
def startup_lines_dropped():
    """Runs the block with fd 2 captured; writes the captured lines that are not start-up
    noise back to stderr afterwards (also when the block raises)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = [line for line in captured.read().decode(errors="replace").splitlines(keepends=True)
                    if not is_startup_noise(line)]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


class _QuietLoader(importlib.abc.Loader):
    """TensorFlow's own loader, run inside ``startup_lines_dropped``."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        with startup_lines_dropped():
            self._loader.exec_module(module)
            module.config.list_physical_devices()  # the CUDA probe prints when devices are first listed
        module.__loader__ = module.__spec__.loader = self._loader  # leave no trace of this wrapper


class _QuietTensorFlowFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname != "tensorflow":
            return None
        sys.meta_path.remove(self)  # once per process; find_spec below must not come back here
        if verbose():  # decided now, not at install: --verbose is read after the imports
            return None
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", QUIET_LEVEL)  # read by TF's C++ logging as it loads
        # gRPC's poller may log "epoll_wait error" as a Ctrl-C tears the process down: not the user's concern
        os.environ.setdefault("GRPC_VERBOSITY", "NONE")
        spec = importlib.util.find_spec(fullname)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


def install() -> None:
    """Quiets the first ``import tensorflow`` of this process, unless the process is verbose
    by then (no-op when TensorFlow is already imported, or when already installed)."""
    if "tensorflow" in sys.modules:
        return
    if not any(isinstance(finder, _QuietTensorFlowFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _QuietTensorFlowFinder())
