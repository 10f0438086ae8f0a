"""Job 2 for a style: the checks, the style image and the loss a config's ``style:`` section
asks for (``model.style_features``), and what the model card says of the style.

A style trains on content shards (``restoreflow shards --recipe content``: clean patches, no
damage); its model card has ``task: style``, which ``restoreflow stylize`` requires and
``restoreflow restore`` refuses.
"""

from __future__ import annotations

import hashlib
import io

import numpy as np

from model.config import Config
from restoreflow.card import STYLE_TASK
from restoreflow.configs import ConfigError, to_plain
from restoreflow.manifest import ShardManifest

STYLE_ARCHITECTURES = ("style_net",)  # architectures that only make sense with a style: section
CONTENT_TASK = "content"  # the recipe task of content shards
FEATURE_NETWORKS = {  # what the card says of each (nothing is downloaded for either)
    "random": "random-weight multi-scale convolutions, seeded (no training, no download)",
    "encoder": "the first levels of a U-Net restorer trained by this project (style.encoder_model; no download)",
}


def check_style_config(config: Config, info: dict, manifest: ShardManifest) -> None:
    """A style config needs a style image, content shards and an image-to-image model of scale 1."""
    name = config.model.architecture
    if config.style is None:
        if name in STYLE_ARCHITECTURES:
            raise ConfigError(f"model.architecture {name} learns a style: add a style: section naming its image "
                              "(style: {image: PATH})")
        return
    if info["scale"] != 1 or info["takes_mask"] or info.get("outputs"):
        raise ConfigError(f"style: the architecture {name} does not map an image to an image of its size")
    if manifest.task != CONTENT_TASK:
        raise ConfigError(f"data.shards: a style trains on content shards (restoreflow shards --recipe content), "
                          f"but {config.data.shards} holds {manifest.task} shards")


def read_style_image(path: str, *, channels: int, size: int) -> np.ndarray:
    """The style image as float32 HWC on [0, 1] with the model's channels, its longer side
    resized to ``size`` (0: as it is). Anything unreadable is a ConfigError naming the file."""
    import tensorflow as tf
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with tf.io.gfile.GFile(path, "rb") as f:
            data = f.read()
        with Image.open(io.BytesIO(data)) as image:
            image = ImageOps.exif_transpose(image).convert("L" if channels == 1 else "RGB")
    except (tf.errors.OpError, OSError, UnidentifiedImageError, ValueError) as e:
        reason = getattr(e, "message", None) or str(e)
        raise ConfigError(f"style.image {path}: cannot read it as an image ({reason.strip()})") from None
    if size and max(image.size) != size:
        factor = size / max(image.size)
        image = image.resize((max(1, round(image.width * factor)), max(1, round(image.height * factor))),
                             Image.Resampling.LANCZOS)
    pixels = np.asarray(image, np.float32) / 255.0
    return pixels.reshape(pixels.shape[0], pixels.shape[1], channels)


def build_style_loss(config: Config, channels: int):
    """The model.style_features.StyleLoss the config asks for (TensorFlow loads here, not on import)."""
    from model.style_features import random_features, style_loss

    style = config.style
    image = read_style_image(style.image, channels=channels, size=style.size)
    if style.feature_network == "encoder":
        from model.style_encoder import encoder_features

        extract = encoder_features(style.encoder_model, channels)
    else:
        extract = random_features(channels, style.feature_widths, style.feature_seed)
    return style_loss(image, extract, content_level=style.content_level, content_weight=style.content_weight,
                      style_weight=style.style_weight, tv_weight=style.tv_weight)


def card_entries(config: Config) -> dict:
    """The card's task and what it records of the style: the image (path and SHA-256, so the
    card says which bytes were learnt) and the loss's settings, feature network included."""
    import tensorflow as tf

    with tf.io.gfile.GFile(config.style.image, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    return {"task": STYLE_TASK, "style": {**to_plain(config.style), "image_sha256": digest,
                                          "features": FEATURE_NETWORKS[config.style.feature_network]}}
