"""OpenVINO's conversions of our models, kept on disk so that a worker that runs OpenVINO need
not load TensorFlow (about 450 MB of a worker's memory, bench/RESULTS.md, issue 23).

Converting ``model.keras`` for OpenVINO takes TensorFlow (Keras loads the file, TensorFlow
freezes its graph). The result, an OpenVINO IR (``model.xml`` and ``model.bin``, float32
weights, about the size of ``model.keras``), is kept in

    $XDG_CACHE_HOME/restoreflow/openvino/<key>/     (XDG_CACHE_HOME defaults to ~/.cache)

where the key is the SHA-256 of ``model.keras``, the input channels and OpenVINO's version. Why
a cache rather than IR files shipped in the model folders: it serves every model folder (a
user's own too), the IR matches the installed OpenVINO, and the repository carries no second
copy of each bundled model's weights. An entry is written to a temporary folder beside it and
renamed into place, so that two workers converting at once never read a half-written entry; its
``entry.json`` records the files' SHA-256, so a damaged entry is converted again, never run.
Nothing here raises: an unusable cache only costs a conversion, with a line in the log. It is
the one thing restoreflow writes outside a job's output; ``RESTOREFLOW_OPENVINO_CACHE=off``
turns it off (every worker then converts in memory, with TensorFlow, as before the cache).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import uuid
from pathlib import Path

log = logging.getLogger("restoreflow.engines")
ENTRY_FILE = "entry.json"
FILES = ("model.xml", "model.bin")


def enabled() -> bool:
    """False where the user turned the cache off (RESTOREFLOW_OPENVINO_CACHE=off)."""
    return os.environ.get("RESTOREFLOW_OPENVINO_CACHE", "on").lower() != "off"


def root() -> Path:
    """The cache's folder (it may not exist yet)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "restoreflow" / "openvino"


def entry_folder(weights_sha256: str, channels_in: int) -> Path:
    import openvino as ov

    version = ov.get_version().split("-")[0]  # "2026.4.1-22982-...": the release is what matters
    return root() / f"{weights_sha256}-in{channels_in}-ov{version}"


def read(core, folder: Path, channels: tuple[int, int]):
    """The cached ``openvino.Model`` in ``folder`` when it is whole and takes and gives
    ``channels`` (in, out: a card's); None when there is none or the cache is off; None with a
    warning when it is unusable (damaged, or its channels differ from the card's)."""
    if not enabled() or not (folder / ENTRY_FILE).exists():
        return None
    try:
        recorded = json.loads((folder / ENTRY_FILE).read_text())
        if recorded != _digests(folder):
            raise ValueError("its files differ from what entry.json records")
        model = core.read_model(str(folder / FILES[0]))
        found = _channels(model)
        if found != channels[: len(found)]:
            raise ValueError(f"it takes and gives channels {found}, not {channels}")
    except Exception as e:  # noqa: BLE001 - any unreadable entry is converted again, never a failure
        log.warning("the cached OpenVINO model %s is unusable (%s): converting model.keras again", folder, e)
        return None
    return model


def store(model, folder: Path) -> bool:
    """Writes ``model`` (an ``openvino.Model``) as the entry ``folder``; False, with a warning,
    where it cannot (a read-only home, a full disk); False, silently, with the cache off. An entry
    another worker wrote first stays."""
    import openvino as ov

    if not enabled():
        return False
    temporary = None
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        temporary = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
        ov.save_model(model, str(temporary / FILES[0]), compress_to_fp16=False)  # float32, as converted
        (temporary / ENTRY_FILE).write_text(json.dumps(_digests(temporary), indent=1))
        if _whole(folder):
            return True  # another worker's entry, renamed into place since read found none
        if folder.exists():  # an unusable entry (read said so): moved aside, then replaced
            _remove(folder.rename(folder.with_name(f".{folder.name}-stale-{uuid.uuid4().hex[:8]}")))
        temporary.rename(folder)
        return True
    except (OSError, RuntimeError) as e:  # OpenVINO reports a file it cannot write as a RuntimeError
        if _whole(folder):
            return True  # another worker renamed its entry into place first
        log.warning("could not cache the OpenVINO model in %s (%s): each run converts it again; set "
                    "XDG_CACHE_HOME to a writable folder to cache it", folder.parent, e)
        return False
    finally:
        if temporary is not None and temporary.exists():
            _remove(temporary)


def _channels(model) -> tuple[int, ...]:
    """(in, out) channels of an image model; (in,) of one that gives a row of estimates."""
    shapes = (model.inputs[0].get_partial_shape(), model.outputs[0].get_partial_shape())
    return tuple(shape[3].get_length() for shape in shapes if shape.rank.get_length() == 4)


def _whole(folder: Path) -> bool:
    try:
        return json.loads((folder / ENTRY_FILE).read_text()) == _digests(folder)
    except (OSError, ValueError):
        return False


def _digests(folder: Path) -> dict:
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in FILES}


def _remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
