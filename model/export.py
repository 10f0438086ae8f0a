"""The model directory: ``model.keras`` plus ``model.json`` (the model card, typed in
``restoreflow.card``).

A model maps degraded images, float32 in [0, 1], shape (N, H, W, C) - with the mask as one
extra last channel when ``takes_mask`` - to restored images (N, H*scale, W*scale, C). Outputs
are not clipped inside the model (training needs the gradient); consumers clip to [0, 1].

``read_model_card`` gives the typed card; ``read_card`` and ``load_model`` give it as the plain
dict the restore job's modules still index (``card["channels"]``) until they take the typed one.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import posixpath
from pathlib import Path

from restoreflow.card import CARD_FILE, ModelCard, ModelDirError, input_channels
from restoreflow.provenance import code_version

MODEL_FILE = "model.keras"
__all__ = ["CARD_FILE", "MODEL_FILE", "ModelDirError", "check_model_file", "export_model", "load_model",
           "model_file_sha256", "read_card", "read_model_card", "weights_digest"]


def export_model(model, model_dir, *, card: dict) -> ModelCard:
    """Saves ``model`` and its card into ``model_dir``; returns the card as written.

    ``card``: the typed fields other than those filled in here (``model_id``, ``params``,
    ``created_utc``, ``code_version``), i.e. ``task``, ``architecture`` and what
    ``model.architectures.describe`` gives; every other key is provenance.
    """
    import tensorflow as tf


    written = ModelCard.from_dict({
        "format": 1,
        "model_id": f"{card.get('architecture', {}).get('name', 'model')}-{weights_digest(model)[:16]}",
        "params": int(model.count_params()),
        "created_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "code_version": code_version(),
        **card,
    }, source="the model card to export")
    model_dir = str(model_dir)
    tf.io.gfile.makedirs(model_dir)
    model.save(posixpath.join(model_dir, MODEL_FILE))  # Keras writes gs:// paths through TF
    with tf.io.gfile.GFile(posixpath.join(model_dir, CARD_FILE), "w") as f:
        f.write(written.to_json())
    return written


def weights_digest(model) -> str:
    """SHA-256 over the weight arrays (not the .keras file, which records its save time), so
    the same weights always get the same model id."""
    digest = hashlib.sha256()
    for weights in model.get_weights():
        digest.update(str(weights.shape).encode())
        digest.update(weights.tobytes())
    return digest.hexdigest()


def read_model_card(model_dir) -> ModelCard:
    """The typed card of a model directory (local or gs://)."""
    path = posixpath.join(str(model_dir), CARD_FILE)
    if not _exists(path):
        raise ModelDirError(f"{model_dir} is not a model directory (no {CARD_FILE})")
    with _open(path, "r") as f:
        return ModelCard.from_json(f.read(), source=path)


def read_card(model_dir) -> dict:
    """The card as a plain dict (as written to model.json), checked like ``read_model_card``."""
    return read_model_card(model_dir).to_dict()


def model_file_sha256(model_dir) -> str:
    """The SHA-256 of ``model.keras`` as it is now (a few MB): what a restore run's settings key
    and the OpenVINO cache (``model.ov_cache``) name the weights by."""
    digest = hashlib.sha256()
    with _open(posixpath.join(str(model_dir), MODEL_FILE), "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_model_file(model_dir) -> None:
    """Fails fast, with the file named, when ``model.keras`` is missing or damaged (a .keras file
    is a zip archive: a truncated copy fails its directory or CRC check). Keras itself would
    report a damaged file as "File not found"."""
    import io
    import zipfile

    path = posixpath.join(str(model_dir), MODEL_FILE)
    if not _exists(path):
        raise ModelDirError(f"{model_dir} has no {MODEL_FILE}")
    with _open(path, "rb") as f:
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


def _exists(path: str) -> bool:
    if "://" not in path:  # a local file needs no TensorFlow (an OpenVINO worker never loads it)
        return os.path.exists(path)
    import tensorflow as tf

    return tf.io.gfile.exists(path)


def _open(path: str, mode: str):
    """A local file opened by Python, a bucket's (gs://) through TensorFlow's file systems."""
    if "://" not in path:
        return open(path, mode, encoding=None if "b" in mode else "utf-8")
    import tensorflow as tf

    return tf.io.gfile.GFile(path, mode)


def load_model(model_dir):
    """(keras model, card as a dict) from a model directory; registers our layers first."""
    import keras

    from model import diffusion_net, layers  # noqa: F401  - registers the custom layers with Keras

    card = read_card(model_dir)
    check_model_file(model_dir)
    path = Path(model_dir) / MODEL_FILE
    try:
        model = keras.saving.load_model(path, compile=False)
    except (ValueError, OSError, KeyError, TypeError) as e:
        if "`Lambda` layer" in str(e):  # Keras' own advice (safe_mode=False) is not ours to take
            raise ModelDirError(f"{path} holds a Lambda layer (Python code inside the file), which is never loaded: "
                                "rebuild the model with registered Keras layers instead") from None
        raise ModelDirError(f"{path} cannot be loaded: {e}") from None
    check_matches_card(model, card, path)
    return model, card


def check_matches_card(model, card: dict, path) -> None:
    """The model must take and give the channels its card says: consumers size their inputs by
    the card, and a mismatch fails deep inside the first forward pass."""
    if card.get("outputs") == "diagnosis":  # a damage estimator: an image in, one row of estimates out
        from restoreflow.diagnosis import OUTPUTS

        if len(model.input_shape or ()) != 4 or tuple(model.output_shape or ())[1:] != (len(OUTPUTS),):
            raise ModelDirError(f"{path} is not a diagnosis model (inputs {model.input_shape}, outputs "
                                f"{model.output_shape}; expected images in and {len(OUTPUTS)} estimates out)")
        return
    if card.get("conditioning") == "noise_level":  # a generator: (noisy images, noise levels) in, images out
        if len(model.inputs) != 2 or tuple(model.output_shape or ())[-1:] != (card["channels"],):
            raise ModelDirError(f"{path} is not a {card['channels']}-channel diffusion network (inputs "
                                f"{model.input_shape}, outputs {model.output_shape})")
        return
    expected = (input_channels(card), card["channels"])
    shapes = (model.input_shape, model.output_shape)
    if not all(isinstance(shape, tuple) and len(shape) == 4 for shape in shapes):
        raise ModelDirError(f"{path} is not an image model of one input and one output "
                            f"(inputs {model.input_shape}, outputs {model.output_shape})")
    found = (shapes[0][-1], shapes[1][-1])
    if found != expected:
        raise ModelDirError(f"{path} takes {found[0]} and gives {found[1]} channels, but its {CARD_FILE} says "
                            f"{expected[0]} and {expected[1]} (channels {card['channels']}, takes_mask "
                            f"{str(card['takes_mask']).lower()}, takes_noise_level "
                            f"{str(bool(card.get('takes_noise_level'))).lower()}): export the model again, "
                            "or fix the card")
