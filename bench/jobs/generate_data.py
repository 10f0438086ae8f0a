"""The generator benchmark's real patches: the training patches (read back from the shards the
model trained on) and held-out patches cut from photographs never in training.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from restoreflow import records


def tfrecords(path: Path, compressed: bool):
    """The records of one TFRecord file (length, its CRC, data, its CRC); the CRCs are not
    checked (the shards job wrote them, and the trainer read them)."""
    data = gzip.decompress(path.read_bytes()) if compressed else path.read_bytes()
    offset = 0
    while offset < len(data):
        (length,) = struct.unpack_from("<Q", data, offset)
        yield data[offset + 12: offset + 12 + length]
        offset += 12 + length + 4


def training_patches(shards: Path) -> np.ndarray:
    """Every clean patch of the shards' train split, uint8 (N, H, W, C), in file order."""
    from restoreflow.manifest import MANIFEST_FILE, ShardManifest

    manifest = ShardManifest.from_json((shards / MANIFEST_FILE).read_text(), str(shards / MANIFEST_FILE))
    compressed = manifest.compression == "gzip"
    patches = [records.parse_to_numpy(record)["clean"] for name in manifest.shards.of("train")
               for record in tfrecords(shards / name, compressed)]
    return np.stack(patches)


def heldout_patches(folder: Path, size: int, stride: int) -> np.ndarray:
    """Every size x size patch at ``stride`` of each RGB photograph in ``folder``, uint8."""
    from PIL import Image

    patches = []
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("RGB"))
        height, width = pixels.shape[:2]
        patches += [pixels[y:y + size, x:x + size] for y in range(0, height - size + 1, stride)
                    for x in range(0, width - size + 1, stride)]
    return np.stack(patches)


def draw(patches: np.ndarray, count: int, seed: int) -> np.ndarray:
    """``count`` patches drawn without replacement (all of them when there are fewer)."""
    if count >= len(patches):
        return patches
    return patches[np.sort(np.random.default_rng(seed).choice(len(patches), count, replace=False))]


def fitted_gaussian(patches: np.ndarray, count: int, seed: int) -> np.ndarray:
    """``count`` samples of the Gaussian with the patches' mean and full covariance, uint8."""
    flat = patches.reshape(len(patches), -1).astype(np.float64)
    mean = flat.mean(axis=0)
    covariance = np.cov(flat, rowvar=False)
    samples = np.random.default_rng(seed).multivariate_normal(mean, covariance, size=count, method="cholesky")
    return np.clip(np.rint(samples), 0, 255).astype(np.uint8).reshape(count, *patches.shape[1:])
