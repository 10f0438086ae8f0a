"""The model directory: ``model.keras`` plus ``model.json`` (the model card).

A model maps degraded images, float32 in [0, 1], shape (N, H, W, C) - with the mask as one
extra last channel when ``takes_mask`` - to restored images (N, H*scale, W*scale, C). Outputs
are not clipped inside the model (training needs the gradient); consumers clip to [0, 1].

The card says what a consumer needs to run the model (channels, scale, mask, receptive field
for tiling, size multiple) and where it came from (architecture, data, training, scores,
code version). ``model_id`` is derived from the weights at export, so the restore job can key its
incremental state on it and re-exporting the same weights keeps the id.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import posixpath
from pathlib import Path

from restoreflow.configs import ConfigError

CARD_FORMAT = 1
MODEL_FILE = "model.keras"
CARD_FILE = "model.json"

# Keys every card has; the rest (training, data, validation, source, ...) is provenance.
RUN_KEYS = ("channels", "scale", "takes_mask", "receptive_field_radius", "size_multiple", "task")


class ModelDirError(ConfigError):
    """A model directory that cannot be used (missing files, bad card): a user's mistake."""


def export_model(model, model_dir, *, card: dict) -> dict:
    """Saves ``model`` and its card into ``model_dir``; returns the card as written.

    ``card`` must hold RUN_KEYS and ``architecture``; ``model_id``, ``params``, ``format``,
    ``created_utc`` and ``code_version`` are filled in here.
    """
    import tensorflow as tf

    from restoreflow.provenance import code_version

    missing = [k for k in (*RUN_KEYS, "architecture") if k not in card]
    if missing:
        raise ModelDirError(f"model card lacks {', '.join(missing)}")
    model_dir = str(model_dir)
    tf.io.gfile.makedirs(model_dir)
    model.save(posixpath.join(model_dir, MODEL_FILE))  # Keras writes gs:// paths through TF
    written = {
        "format": CARD_FORMAT,
        "model_id": f"{card['architecture']['name']}-{weights_digest(model)[:16]}",
        "params": int(model.count_params()),
        "created_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "code_version": code_version(),
        **card,
    }
    with tf.io.gfile.GFile(posixpath.join(model_dir, CARD_FILE), "w") as f:
        f.write(json.dumps(written, indent=2, sort_keys=True) + "\n")
    return written


def weights_digest(model) -> str:
    """SHA-256 over the weight arrays (not the .keras file, which records its save time), so
    the same weights always get the same model id."""
    digest = hashlib.sha256()
    for weights in model.get_weights():
        digest.update(str(weights.shape).encode())
        digest.update(weights.tobytes())
    return digest.hexdigest()


def read_card(model_dir) -> dict:
    """The card of a model directory (local or gs://), checked for the keys consumers need."""
    import tensorflow as tf

    path = posixpath.join(str(model_dir), CARD_FILE)
    if not tf.io.gfile.exists(path):
        raise ModelDirError(f"{model_dir} is not a model directory (no {CARD_FILE})")
    with tf.io.gfile.GFile(path) as f:
        card = json.loads(f.read())
    missing = [k for k in (*RUN_KEYS, "model_id") if k not in card]
    if missing:
        raise ModelDirError(f"{path} lacks {', '.join(missing)}")
    if card.get("format") != CARD_FORMAT:
        raise ModelDirError(f"{path} has card format {card.get('format')}, expected {CARD_FORMAT}")
    return card


def check_model_file(model_dir) -> None:
    """Fails fast, with the file named, when ``model.keras`` is missing or damaged (a .keras file
    is a zip archive: a truncated copy fails its directory or CRC check). Keras itself would
    report a damaged file as "File not found"."""
    import io
    import zipfile

    import tensorflow as tf

    path = posixpath.join(str(model_dir), MODEL_FILE)
    if not tf.io.gfile.exists(path):
        raise ModelDirError(f"{model_dir} has no {MODEL_FILE}")
    with tf.io.gfile.GFile(path, "rb") as f:
        data = f.read()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            damaged = archive.testzip()
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        raise ModelDirError(f"{path} is damaged or not a Keras model file ({e}); copy or export it again") from None
    if damaged or "config.json" not in names:
        raise ModelDirError(f"{path} is damaged or not a Keras model file ({damaged or 'no config.json'} "
                            f"unreadable); copy or export it again")


def load_model(model_dir):
    """(keras model, card) from a model directory. Importing ``model`` registers our layers."""
    import keras

    import model  # noqa: F401  - registers the custom layers with Keras

    card = read_card(model_dir)
    check_model_file(model_dir)
    path = Path(model_dir) / MODEL_FILE
    try:
        return keras.saving.load_model(path, compile=False), card
    except (ValueError, OSError, KeyError, TypeError) as e:
        raise ModelDirError(f"{path} cannot be loaded: {e}") from None
