"""Which code produced an artifact: the package version, plus the git commit when run from a
checkout (so manifests and model cards say exactly what made them)."""

from __future__ import annotations

import functools
import importlib.metadata
import os
import subprocess
from pathlib import Path


@functools.cache
def code_version() -> str:
    try:
        version = importlib.metadata.version("restoreflow")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return version
    return f"{version}+g{commit}{'.dirty' if dirty else ''}"


@functools.cache
def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags (Linux; empty elsewhere)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def hardware_description() -> str:
    """What a job ran on, for model cards: the GPUs TensorFlow sees, else the CPU and its cores."""
    import tensorflow as tf

    gpus = [tf.config.experimental.get_device_details(d).get("device_name", d.name)
            for d in tf.config.list_physical_devices("GPU")]
    if gpus:
        return f"{len(gpus)} GPU: {', '.join(sorted(set(gpus)))}"
    return f"{cpu_model_name()}, {len(os.sched_getaffinity(0))} CPU cores"


def cpu_model_name() -> str:
    """The CPU's model name (Linux; "unknown CPU" elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"
