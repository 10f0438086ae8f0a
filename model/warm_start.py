"""Warm starts: begin training from another model's weights (``model.init_from``).

A colour model starts from a gray one of the same architecture: every layer is matched by
name; weights of equal shape are copied, and a weight whose source has 1 channel where the
target has C is widened. An input axis is tiled and divided by C (so a gray image given as C
equal channels produces the source model's features exactly); an output axis is tiled (each
colour channel starts with the gray model's correction). A first layer that takes extra input
channels (an inpainting model's mask) gets zero weights for them, so it starts as the source
model, ignoring them. A layer whose outputs differ otherwise (a super-resolution tail) starts
fresh, logged. Any other difference is an error naming the layer: a silent partial start
would be hard to notice in the scores.
"""

from __future__ import annotations

import logging
import posixpath

import numpy as np

from model.export import load_model
from restoreflow import zoo
from restoreflow.configs import ConfigError

log = logging.getLogger("restoreflow.train")

INIT_KEY = "model.init_from"


def widen(source: np.ndarray, target_shape: tuple[int, ...], *, name: str, extra_inputs: bool = False) -> np.ndarray:
    """``source`` reshaped to ``target_shape`` by tiling its size-1 channel axes.

    Convolution kernels are (kh, kw, in, out) and biases (out,): for a kernel the axis -2 is
    the input axis, divided by the widening factor; every other widened axis is an output.
    ``extra_inputs``: the layer reads the model's input, which has more channels than the
    source model's; the extra ones get zero weights.
    """
    if source.shape == tuple(target_shape):
        return source
    if source.ndim != len(target_shape):
        raise ConfigError(f"{INIT_KEY}: layer weight {name} has shape {source.shape}, the model needs {target_shape}")
    result = source
    for axis, (have, want) in enumerate(zip(source.shape, target_shape)):
        if have == want:
            continue
        if extra_inputs and source.ndim == 4 and axis == 2 and 1 < have < want:
            pad = [(0, 0)] * source.ndim
            pad[axis] = (0, want - have)
            result = np.pad(result, pad)
            continue
        if have != 1:
            raise ConfigError(
                f"{INIT_KEY}: layer weight {name} has shape {source.shape}, the model needs {target_shape} "
                "(only 1-channel axes can be widened)"
            )
        reps = [1] * source.ndim
        reps[axis] = want
        result = np.tile(result, reps)
        if source.ndim == 4 and axis == 2:
            result = result / want
    return result.astype(source.dtype)


def _other_outputs(source_layer, target_layer) -> bool:
    """A layer with a different number of outputs that are not a widened single channel."""
    source_out = source_layer.weights[0].shape[-1]
    target_out = target_layer.weights[0].shape[-1]
    return source_out != target_out and source_out != 1


def warm_start(model, source_dir: str) -> int:
    """Copies (widening where needed) the weights of the model in ``source_dir`` into ``model``.

    Returns the number of layers initialised. Layers of ``model`` that the source lacks keep
    their fresh initialisation (logged); a source layer the model lacks is an error.
    """

    try:
        source_dir = zoo.resolve(source_dir)
        path = posixpath.join(source_dir, "model.keras")
        source, _ = load_model(source_dir)
    except ConfigError as e:
        raise ConfigError(f"{INIT_KEY}: {e}") from None
    except (OSError, ValueError) as e:
        raise ConfigError(f"{INIT_KEY}: cannot load {path}: {e}") from None
    targets = {layer.name: layer for layer in model.layers if layer.weights}
    copied = 0
    for layer in source.layers:
        if not layer.weights:
            continue
        if layer.name not in targets:
            raise ConfigError(f"{INIT_KEY}: {path} has layer {layer.name!r}, which this architecture lacks")
        if _other_outputs(layer, targets[layer.name]):
            continue  # stays in targets: logged as fresh below
        target = targets.pop(layer.name)
        reads_input = len(layer.weights[0].shape) == 4 and layer.weights[0].shape[-2] == source.inputs[0].shape[-1] and (
            target.weights[0].shape[-2] == model.inputs[0].shape[-1])
        values = [
            widen(np.asarray(w.numpy()), tuple(t.shape), name=f"{layer.name}/{w.name}", extra_inputs=reads_input)
            for w, t in zip(layer.weights, target.weights)
        ]
        target.set_weights(values)
        copied += 1
    if targets:
        log.warning("%s: %d layers start fresh: %s", INIT_KEY, len(targets), ", ".join(sorted(targets)))
    log.info("%s: %d layers initialised from %s", INIT_KEY, copied, source_dir)
    return copied
