"""The second feature network a style may use (``style.feature_network: encoder``): the first
levels of a restoration U-Net this project trained (by default the bundled ``restore`` model),
frozen. Nothing is downloaded: the weights ship in ``model/zoo``.

A trained restorer's early filters respond to edges, noise and textures of photographs, which is
what a style loss compares; the random network (``model.style_features``) needs no training at
all. bench/RESULTS.md ("Style synthesis (issue 24)") compares the two on the same runs.

The features are the ReLU responses inside the first residual block of each level of the U-Net's
encoder (``down0`` at full resolution, ``down1`` at half, ``bottom`` at a quarter): ReLU
responses, as in the random network, so that Gram matrices compare co-activations.
"""

from __future__ import annotations

import dataclasses

from restoreflow.configs import ConfigError

ENCODER_LAYERS = ("down0_block1_relu", "down1_block1_relu", "bottom_block1_relu")


@dataclasses.dataclass(frozen=True)
class EncoderFeatures:
    """``features(images) -> [per level (N, h, w, C)]`` for images (N, H, W, C) on [0, 1]."""

    network: object  # a keras.Model from the U-Net's input to its ENCODER_LAYERS' outputs
    source: str  # the bundled name or directory it came from (for the card)

    def __call__(self, images, levels: int | None = None) -> list:
        import tensorflow as tf

        found = self.network(tf.cast(images, tf.float32), training=False)
        found = [tf.cast(f, tf.float32) for f in found]
        return found[:levels] if levels else found


def encoder_features(ref: str, channels: int) -> EncoderFeatures:
    """The encoder of the model ``ref`` (a bundled name or a model directory); a ConfigError names
    a model that is not a U-Net restorer of ``channels`` channels."""
    import keras

    from model.export import ModelDirError, load_model
    from restoreflow import zoo

    try:
        model, _ = load_model(zoo.resolve(ref))
    except ModelDirError as e:
        raise ConfigError(f"style.encoder_model {ref}: {e}") from None
    names = {layer.name for layer in model.layers}
    if not set(ENCODER_LAYERS) <= names or model.input_shape[-1] != channels:
        raise ConfigError(f"style.encoder_model {ref}: not a U-Net restorer of {channels} channel(s) "
                          f"(no layers {', '.join(ENCODER_LAYERS)}); name one such as the bundled 'restore'")
    outputs = [model.get_layer(name).output for name in ENCODER_LAYERS]
    network = keras.Model(model.input, outputs, name="style_encoder")
    network.trainable = False
    return EncoderFeatures(network=network, source=ref)
