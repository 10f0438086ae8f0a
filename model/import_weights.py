"""``restoreflow import-weights``: published weights -> a model directory.

    restoreflow import-weights --format dncnn-matconvnet sigma=25.mat --output models/dncnn-s25

Format ``dncnn-matconvnet``: the DnCNN authors' released MatConvNet models (cszn/DnCNN,
``model/specifics/sigma=25.mat``, ``model/DnCNN3.mat``, ...), saved as MATLAB v7.3 files, which
are HDF5 and read with h5py. What such a file holds (found by reading them):

- ``/net`` is a SimpleNN struct; ``/net/layers`` is a cell, shape (n_layers, 1), of HDF5
  object references, one per layer, in order. Each reference points to a group (the layer
  struct) under ``/#refs#``: ``type`` and ``name`` as uint16 character codes ('conv',
  'relu'), and for a conv ``weights`` (a cell of two references: kernel and bias), ``stride``
  and ``pad``; for a ReLU ``leak``.
- Layers alternate conv, relu, ..., conv: 17 convs for the per-sigma models, 20 for DnCNN-3
  and the blind model. Batch normalisation is already folded into the convs.
- HDF5 shows MATLAB arrays with their dimensions reversed (MATLAB is column-major): a
  MatConvNet kernel (H, W, in, out) appears as (out, in, W, H), a bias (out, 1) as (1, out).
  MATLAB drops trailing singleton dimensions, so the last kernel, (3, 3, 64, 1) in MATLAB,
  appears as (64, 3, 3).
- MatConvNet's convolution is a cross-correlation with zero padding, as Keras's is; the
  network predicts the noise and restored = noisy - prediction, images in [0, 1].

The result is our ``dncnn(batch_norm=False, depth=n_convs, width=...)``, exported with
``model.export.export_model``. The weights file itself is never copied anywhere.
"""

from __future__ import annotations

import hashlib
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from model.architectures import describe, dncnn
from model.export import CARD_FILE, MODEL_FILE, ModelDirError, export_model
from restoreflow import commands
from restoreflow.card import ModelCard
from restoreflow.console import setup_logging, user_errors

log = logging.getLogger(__name__)

PROG = "restoreflow import-weights"
KERNEL_SIZE = 3


class WeightsFormatError(ValueError):
    """A weights file that is not what its --format says; the message says expected vs found."""


@dataclass(frozen=True)
class ConvWeights:
    """One convolution in Keras layout: kernel (H, W, in, out), bias (out,); name says where
    it was in the file (for messages)."""

    name: str
    kernel: np.ndarray
    bias: np.ndarray


# --- Reading MATLAB v7.3 (HDF5) structures ------------------------------------------------


def _matlab_string(dataset) -> str:
    """A MATLAB char array: uint16 character codes."""
    return "".join(chr(int(code)) for code in np.asarray(dataset).ravel())


def _matlab_numbers(group, key: str, where: str) -> np.ndarray:
    if key not in group:
        raise WeightsFormatError(f"{where}: expected a field '{key}', found fields {sorted(group.keys())}")
    return np.asarray(group[key], dtype=np.float64).ravel()


def _layer_groups(file, source: str) -> list:
    """The layer structs of a SimpleNN ``net``, dereferenced, in order."""
    net = file.get("net")
    if not isinstance(net, h5py.Group) or not isinstance(net.get("layers"), h5py.Dataset):
        raise WeightsFormatError(
            f"{source}: expected a MatConvNet SimpleNN network (a 'net' struct with a 'layers' cell); "
            f"found top-level {sorted(file.keys())}"
            + (f" and net fields {sorted(net.keys())}" if isinstance(net, h5py.Group) else "")
        )
    cell = net["layers"]
    if cell.dtype != h5py.ref_dtype:
        raise WeightsFormatError(
            f"{source}: expected net.layers to be a cell of layer structs, found a {cell.dtype} array {cell.shape} "
            "(a DagNN or an older SimpleNN layout?)"
        )
    groups = [file[reference] for reference in np.asarray(cell).ravel()]
    for index, group in enumerate(groups):
        if not isinstance(group, h5py.Group) or "type" not in group:
            raise WeightsFormatError(f"{source}: expected net.layers{{{index + 1}}} to be a struct with a 'type'")
    return groups


def _summarise(types: list[str], limit: int = 8) -> str:
    shown = " ".join(types[:limit])
    return f"{shown} ... ({len(types)} layers)" if len(types) > limit else f"{shown} ({len(types)} layers)"


def _check_layer_types(types: list[str], source: str) -> None:
    """conv, relu, conv, relu, ..., conv: DnCNN with batch normalisation folded."""
    expected = ["conv" if i % 2 == 0 else "relu" for i in range(len(types))]
    if len(types) < 3 or len(types) % 2 == 0 or types != expected:
        raise WeightsFormatError(
            f"{source}: expected DnCNN layers alternating conv and relu, starting and ending with conv "
            f"(batch norm folded), found {_summarise(types)}"
        )


def _read_relu(group, where: str) -> None:
    leak = _matlab_numbers(group, "leak", where) if "leak" in group else np.zeros(1)
    if np.any(leak != 0):
        raise WeightsFormatError(f"{where}: expected a plain ReLU (leak 0), found leak {leak.tolist()}")


def _read_conv(file, group, where: str) -> tuple[np.ndarray, np.ndarray]:
    """(kernel (H, W, in, out), bias (out,)) of one conv layer, checked (3x3, stride 1, pad 1)."""
    stride = _matlab_numbers(group, "stride", where)
    pad = _matlab_numbers(group, "pad", where)
    if np.any(stride != 1) or np.any(pad != 1):
        raise WeightsFormatError(
            f"{where}: expected stride 1 and pad 1 (3x3 'same' conv), found stride {stride.tolist()} pad {pad.tolist()}"
        )
    if "weights" not in group or group["weights"].size != 2:
        raise WeightsFormatError(f"{where}: expected 'weights', a cell of {{kernel, bias}}")
    kernel_ref, bias_ref = np.asarray(group["weights"]).ravel()
    stored = np.asarray(file[kernel_ref], dtype=np.float32)
    bias = np.asarray(file[bias_ref], dtype=np.float32)
    if stored.ndim == 3:
        stored = stored[None]  # MATLAB dropped the trailing out=1 dimension
    if stored.ndim != 4 or stored.shape[2:] != (KERNEL_SIZE, KERNEL_SIZE):
        raise WeightsFormatError(
            f"{where}: expected a kernel stored as (out, in, {KERNEL_SIZE}, {KERNEL_SIZE}) (MATLAB (H, W, in, out)), "
            f"found {tuple(file[kernel_ref].shape)}"
        )
    if bias.size != stored.shape[0]:
        raise WeightsFormatError(f"{where}: expected {stored.shape[0]} biases (one per output), found {bias.shape}")
    # (out, in, W, H) -> (H, W, in, out)
    return np.ascontiguousarray(stored.transpose(3, 2, 1, 0)), bias.ravel()


def _check_chain(convs: list[ConvWeights], source: str) -> None:
    """Each conv takes the previous one's outputs; the middle ones share one width; the last
    one returns as many channels as the first one takes (the network predicts the noise)."""
    channels = convs[0].kernel.shape[2]
    width = convs[0].kernel.shape[3]
    for i, conv in enumerate(convs):
        expected_in = channels if i == 0 else width
        expected_out = channels if i == len(convs) - 1 else width
        found_in, found_out = conv.kernel.shape[2:]
        if (found_in, found_out) != (expected_in, expected_out):
            raise WeightsFormatError(
                f"{source}: conv {i + 1} of {len(convs)} ({conv.name}): expected {expected_in} inputs and "
                f"{expected_out} outputs, found {found_in} and {found_out}"
            )


def read_dncnn_matconvnet(path) -> list[ConvWeights]:
    """The convolutions of a DnCNN MatConvNet file, in order, in Keras layout; or WeightsFormatError."""
    path = Path(path)
    if not path.is_file():
        raise WeightsFormatError(f"{path}: no such file")
    try:
        file = h5py.File(path, "r")
    except OSError:
        raise WeightsFormatError(
            f"{path.name}: expected a MATLAB v7.3 file (HDF5), found something else "
            "(re-save older .mat files in MATLAB with save(..., '-v7.3'))"
        ) from None
    with file:
        groups = _layer_groups(file, path.name)
        types = [_matlab_string(group["type"]) for group in groups]
        _check_layer_types(types, path.name)
        convs = []
        for index, (group, kind) in enumerate(zip(groups, types)):
            name = _matlab_string(group["name"]) if "name" in group else "?"
            label = f"layer {index + 1} ({kind} '{name}')"
            if kind == "relu":
                _read_relu(group, f"{path.name}: {label}")
            else:
                kernel, bias = _read_conv(file, group, f"{path.name}: {label}")
                convs.append(ConvWeights(name=label, kernel=kernel, bias=bias))
    _check_chain(convs, path.name)
    return convs


# --- Building and exporting ----------------------------------------------------------------


def dncnn_args(convs: list[ConvWeights]) -> dict:
    """Our ``dncnn`` arguments for these convolutions."""
    return {
        "channels": int(convs[0].kernel.shape[2]),
        "depth": len(convs),
        "width": int(convs[0].kernel.shape[3]),
        "batch_norm": False,
        "residual": True,
    }


def dncnn_from_convs(convs: list[ConvWeights]):
    """``dncnn(batch_norm=False)`` holding these weights (its convs are named conv1..convN)."""
    network = dncnn(**dncnn_args(convs))
    for i, conv in enumerate(convs, start=1):
        network.get_layer(f"conv{i}").set_weights([conv.kernel, conv.bias])
    return network


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def import_dncnn_matconvnet(path, output) -> ModelCard:
    """Reads, converts and exports; returns the model card as written."""
    path = Path(path)
    convs = read_dncnn_matconvnet(path)
    args = dncnn_args(convs)
    log.info("%s: %d conv layers, width %d, %d channel(s)", path.name, args["depth"], args["width"], args["channels"])
    card = {
        "task": "denoise",
        **describe("dncnn", args),
        "architecture": {"name": "dncnn", "args": args},
        "source": {"format": "dncnn-matconvnet", "file": path.name, "sha256": sha256_of(path)},
        "description": (
            f"DnCNN (Zhang et al., IEEE TIP 2017) with the authors' released weights {path.name}: "
            f"{args['depth']} conv layers, batch norm folded; predicts the noise, restored = noisy - prediction; "
            "images in [0, 1]."
        ),
    }
    return export_model(dncnn_from_convs(convs), output, card=card)


IMPORTERS = {"dncnn-matconvnet": import_dncnn_matconvnet}


@user_errors(PROG, WeightsFormatError, ModelDirError)
def main(argv: list[str]) -> int:
    args = commands.import_weights().parse_args(argv)
    setup_logging(args.verbose)
    args.file, args.output = Path(args.file), Path(args.output)
    existing = [name for name in (MODEL_FILE, CARD_FILE) if (args.output / name).exists()]
    if existing and not args.overwrite:
        raise ModelDirError(f"{args.output} already holds {', '.join(existing)}; choose another --output or pass --overwrite")
    card = IMPORTERS[args.format](args.file, args.output)
    print(f"import-weights: {args.file.name} -> {args.output} ({card.model_id}, {card.params:,} parameters)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
