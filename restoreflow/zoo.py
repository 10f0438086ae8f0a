"""The bundled models: one folder each under ``model/zoo/`` (model.keras, model.json,
config.yaml), trained by jobs 1 and 2 of this project; their cards say how.

``--model`` (and a training config's ``model.init_from``) takes a bundled name or a model
directory. A job keeps the name, not the path: each worker finds the folder in its own
installed package, which on Dataflow is not where the launcher has it. Nothing here imports
TensorFlow: listing and resolving models is instant.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from restoreflow.configs import ConfigError, suggest

DEFAULT = "denoise-gray"
CARD_FILE = "model.json"


def zoo_dir() -> Path:
    # find_spec locates the package without importing it (importing `model` loads TensorFlow).
    return Path(importlib.util.find_spec("model").submodule_search_locations[0]) / "zoo"


def names() -> list[str]:
    """The bundled models' names."""
    root = zoo_dir()
    return sorted(d.name for d in root.iterdir() if (d / CARD_FILE).is_file()) if root.is_dir() else []


def resolve(ref: str | None) -> str:
    """The model directory for ``ref``: a bundled name, a model directory (local or a bucket),
    or None for the default model."""
    ref = ref or DEFAULT
    if ref in names():
        return str(zoo_dir() / ref)
    if "://" in ref or "/" in ref or Path(ref).exists():
        return ref
    known = names()
    raise ConfigError(
        f"unknown model {ref!r}{suggest(ref, known)}: not a bundled model and no such directory; "
        f"bundled models: {', '.join(known) or 'none (the package is incomplete)'}"
    )
