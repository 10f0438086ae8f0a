"""Companion files of inputs (``--reference`` clean images, ``--masks`` inpainting masks), matched
the one way: by relative path and file stem.

``photos/a/b.jpg`` (image id ``a/b.jpg`` under ``--input photos``) matches ``DIR/a/b.<any image
extension>``; an archive member ``box.zip/scans/c.png`` matches ``DIR/box.zip/scans/c.*`` (an
archive counts as a folder of its own name). The folder is listed once, on a worker, into a side
input ``{stem key: [paths]}``, so a bucket of any size is matched without a request per image.
Several files with one stem (``b.png`` and ``b.tif``) are ambiguous: the image is not matched.
A companion that matches no input is listed by ``Unmatched`` (the run summary's unused masks).
"""

from __future__ import annotations

import posixpath

import apache_beam as beam
import numpy as np
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from pipelines.imaging import images
from pipelines.inputs import sources
from pipelines.restore.errors import MaskProblem


def stem_key(relative_path: str) -> str:
    """``a/b.jpg`` -> ``a/b``: what an input and its companion have in common."""
    return posixpath.splitext(relative_path)[0]


def list_companions(folder: str):
    """(stem key, path) for every image file under ``folder``."""
    listing = sources.list_files(sources.resolve(folder))
    for item in listing.files:
        if posixpath.splitext(item.image_id)[1].lower() in images.IMAGE_EXTENSIONS:
            yield stem_key(item.image_id), item.path


class CompanionIndex(beam.PTransform):
    """The pipeline -> (stem key, sorted paths) for every image under ``folder``; use it as
    ``beam.pvalue.AsDict``."""

    def __init__(self, folder: str):
        super().__init__()
        self._folder = folder

    def expand(self, pipeline):
        return (
            pipeline
            | "Folder" >> beam.Create([self._folder])
            | "List it" >> beam.FlatMap(list_companions)
            | "By stem" >> beam.GroupByKey()
            | "Sorted" >> beam.MapTuple(lambda key, paths: (key, sorted(paths)))
        )


class Unmatched(beam.PTransform):
    """Image ids -> the paths of the files under ``folder`` that match none of them."""

    def __init__(self, folder: str):
        super().__init__()
        self._folder = folder

    def expand(self, image_ids):
        index = image_ids.pipeline | "Companions" >> CompanionIndex(self._folder)
        stems = image_ids | "Stems" >> beam.Map(lambda image_id: (stem_key(image_id), None))
        return (
            {"files": index, "inputs": stems}
            | "Join" >> beam.CoGroupByKey()
            | "Unmatched" >> beam.FlatMap(lambda joined: [] if joined[1]["inputs"] else
                                          [path for paths in joined[1]["files"] for path in paths])
        )


def find(index: dict, image_id: str, *, what: str, folder: str) -> tuple[str | None, str | None]:
    """(path, None) for the one companion of ``image_id``, or (None, why there is none)."""
    paths = index.get(stem_key(image_id), [])
    if len(paths) == 1:
        return paths[0], None
    if paths:
        return None, f"several {what}s match it ({', '.join(paths)}); keep one"
    return None, (f"no {what} for it in {folder} (matched by relative path and file stem: "
                  f"{image_id} <-> {posixpath.join(folder, stem_key(image_id))}.png or another image extension)")


def mask_file(index: dict, image_id: str, *, folder: str, max_bytes: int) -> tuple[str, bytes]:
    """The --masks file of an image and its bytes (read on every run: its hash decides whether
    the image is done). Raises MaskProblem."""
    path, problem = find(index, image_id, what="mask", folder=folder)
    if problem:
        raise MaskProblem(problem)
    try:
        with FileSystems.open(path) as f:
            return path, f.read(max_bytes + 1)
    except OSError as e:  # Beam's filesystems raise BeamIOError, an OSError
        raise MaskProblem(f"cannot read mask {path}: {e}") from None


def decode_mask(path: str, data: bytes, shape: tuple[int, ...], *, max_pixels: int) -> np.ndarray:
    """The mask as HW1 uint8, 1 where a pixel is missing, checked against the image's ``shape``.

    A mask with transparency is a painted layer: missing where it is painted (alpha nonzero),
    whatever the paint's colour. Otherwise (no alpha, or opaque everywhere) missing where any
    channel is nonzero. Raises MaskProblem."""
    try:
        decoded = images.decode(data, max_pixels=max_pixels)
    except images.ImageError as e:
        raise MaskProblem(f"mask {path} is unusable: {e}") from None
    pixels, alpha = decoded.pixels, decoded.alpha
    if pixels.shape[:2] != shape[:2]:
        raise MaskProblem(f"mask {path} is {pixels.shape[1]}x{pixels.shape[0]}, the image is {shape[1]}x{shape[0]}")
    if alpha is not None and (alpha < np.iinfo(alpha.dtype).max).any():
        return (alpha != 0).astype(np.uint8)
    return (pixels != 0).any(axis=-1, keepdims=True).astype(np.uint8)


def reference_for(index: dict, image_id: str, *, folder: str, like: np.ndarray, scale: int,
                  max_pixels: int) -> tuple[np.ndarray | None, str | None, str | None]:
    """(reference pixels in the dtype and channels of ``like`` (the degraded input), its path,
    None), or (None, None, a note saying why none is used, or None when none matches)."""
    path, problem = find(index, image_id, what="reference", folder=folder)
    if path is None:
        return None, None, (problem if problem.startswith("several") else None)
    Metrics.counter("restoreflow", "references_matched").inc()
    try:
        with FileSystems.open(path) as f:
            reference = images.decode(f.read(), max_pixels=max_pixels).pixels
    except images.ImageError as e:
        return None, None, f"reference {path} is unusable ({e}): not scored against it"
    reference = images.to_gray(reference) if like.shape[-1] == 1 else images.to_rgb(reference)
    if reference.dtype != like.dtype:
        to_8bit = like.dtype == np.uint8
        reference = images.to_8bit(reference) if to_8bit else images.from_float(images.to_float(reference), like.dtype)
    expected = (like.shape[0] * scale, like.shape[1] * scale)
    if reference.shape[:2] != expected:
        return None, None, (f"reference {path} is {reference.shape[1]}x{reference.shape[0]}, the restored image "
                            f"is {expected[1]}x{expected[0]}: not scored against it")
    return reference, path, None
