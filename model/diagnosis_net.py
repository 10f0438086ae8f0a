"""The damage-diagnosis network, its training loss and its validation scores.

A small strided CNN reads one crop (float32 in [0, 1], (N, H, W, 3)) and outputs one row of
``restoreflow.diagnosis.OUTPUTS`` per crop: regressions (noise sigma, JPEG quality, blur,
resolution loss) and logits (colour noise, JPEG, undamaged). Global average and max pooling
over the last features make it accept any crop size; the restore job feeds it crops aligned
to the 8-pixel JPEG grid, as the training patches are.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from restoreflow.configs import check
from restoreflow.diagnosis import INDEX, OUTPUTS, targets

OUTPUT_DTYPE = "float32"
_LOGITS = np.array([kind == "logit" for _, kind, _ in OUTPUTS])


def diagnosis_cnn(*, channels: int = 3, width: int = 32, stages: int = 4) -> keras.Model:
    """Two 3x3 convolutions per stage, the width doubling and the size halving after each
    stage but the last; then pooled statistics and two dense layers."""
    check(channels in (1, 3), "model.args.channels", "must be 1 or 3")
    check(width >= 4, "model.args.width", "must be >= 4")
    check(1 <= stages <= 6, "model.args.stages", "must lie within [1, 6]")
    inputs = keras.Input((None, None, channels), name="degraded")
    x = inputs
    for stage in range(stages):
        filters = width * 2**stage
        for i in range(2):
            strides = 2 if i == 0 and stage > 0 else 1
            x = keras.layers.Conv2D(filters, 3, strides=strides, padding="same", activation="relu",
                                    kernel_initializer="he_normal", name=f"stage{stage}_conv{i}")(x)
    pooled = keras.layers.Concatenate(name="pooled")(
        [keras.layers.GlobalAveragePooling2D(name="mean_pool")(x), keras.layers.GlobalMaxPooling2D(name="max_pool")(x)]
    )
    hidden = keras.layers.Dense(128, activation="relu", name="hidden")(pooled)
    outputs = keras.layers.Dense(len(OUTPUTS), name="diagnosis", dtype=OUTPUT_DTYPE)(hidden)
    return keras.Model(inputs, outputs, name="diagnosis_cnn")


def targets_from_json(degradation_json):
    """Graph-safe: a record's ``degradation`` JSON string -> its target row (float32)."""
    import json

    def parse(text):
        return targets(json.loads(text.decode("utf-8")))

    row = tf.numpy_function(parse, [degradation_json], tf.float32, stateful=False)
    return tf.ensure_shape(row, (len(OUTPUTS),))


def diagnosis_loss(target, output, mask=None):
    """Per-example loss: squared error of the regressions, binary cross-entropy of the logits.
    The colour-noise logit counts only where there is noise to judge, the JPEG quality only
    where there was JPEG."""
    target, output = tf.cast(target, tf.float32), tf.cast(output, tf.float32)
    squared = tf.square(output - target)
    cross_entropy = tf.nn.sigmoid_cross_entropy_with_logits(labels=target, logits=output)
    terms = tf.where(_LOGITS, cross_entropy, squared)
    noisy = tf.cast(target[:, INDEX["noise_sigma"]] * OUTPUTS[INDEX["noise_sigma"]][2] >= 3.0, tf.float32)
    weights = tf.ones_like(terms)
    weights = _set_column(weights, INDEX["noise_color"], noisy)
    weights = _set_column(weights, INDEX["jpeg_quality"], target[:, INDEX["jpeg"]])
    return tf.reduce_sum(terms * weights, axis=1)


def _set_column(matrix, column: int, values):
    one_hot = tf.one_hot(column, tf.shape(matrix)[1], dtype=matrix.dtype)
    return matrix * (1.0 - one_hot) + values[:, None] * one_hot


def validation_scores(target: np.ndarray, output: np.ndarray) -> dict:
    """What a diagnosis model's card records: the noise sigma's median absolute error (0-255)
    and the accuracy of the JPEG and undamaged decisions, over the validation records."""
    sigma = OUTPUTS[INDEX["noise_sigma"]][2]
    noise_error = np.abs(output[:, INDEX["noise_sigma"]] - target[:, INDEX["noise_sigma"]]) * sigma
    jpeg_right = (output[:, INDEX["jpeg"]] >= 0) == (target[:, INDEX["jpeg"]] >= 0.5)
    undamaged_right = (output[:, INDEX["undamaged"]] >= 0) == (target[:, INDEX["undamaged"]] >= 0.5)
    return {"noise_sigma_median_abs_error": float(np.median(noise_error)),
            "jpeg_accuracy": float(np.mean(jpeg_right)), "undamaged_accuracy": float(np.mean(undamaged_right))}
