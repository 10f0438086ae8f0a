"""Cutting images into overlapping tiles and stitching model outputs back without seams.

Along each axis, tiles of ``tile_size`` start every ``tile_size - 2 * overlap`` pixels (rounded
to the model's size multiple), the last one reaching the image's end; an axis shorter than a tile gets one tile of the axis's own
length (so the tile edge is the image edge, exactly as in whole-image inference). Each tile
contributes only its *core*: neighbours split their shared region in the middle, so every
kept pixel lies at least ``overlap`` pixels from a tile edge that is not an image edge. For a
network whose receptive-field radius is at most ``overlap``, the stitched result therefore
equals whole-image inference. Super-resolution outputs are placed at ``scale`` times the
input coordinates.
"""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class Span:
    start: int  # tile start, input pixels
    length: int  # tile length
    core_start: int  # first kept pixel (absolute)
    core_end: int  # one past the last kept pixel (absolute)


@dataclasses.dataclass(frozen=True)
class Tile:
    index: int
    rows: Span
    cols: Span


def axis_spans(length: int, *, tile_size: int, overlap: int, multiple: int = 1) -> list[Span]:
    """Tile spans covering [0, length) along one axis.

    Tile starts are multiples of ``multiple`` (a model's ``size_multiple``: U-Nets compute each
    pixel as a function of its position modulo their stride); the last tile then ends at the
    image's edge and may be up to ``multiple - 1`` pixels longer than ``tile_size``, so that it
    is padded inside the model exactly as the whole image would be.
    """
    if length <= tile_size:
        return [Span(0, length, 0, length)]
    step = tile_size - 2 * overlap
    step -= step % multiple
    if step < 1:
        raise ValueError(f"tile size {tile_size} leaves no core with overlap {overlap} per side")
    last = (length - tile_size) // multiple * multiple
    starts = list(range(0, last, step)) + [last]
    spans = []
    for i, start in enumerate(starts):
        end = length if i == len(starts) - 1 else start + tile_size
        core_start = 0 if i == 0 else spans[-1].core_end
        core_end = length if i == len(starts) - 1 else (starts[i + 1] + end) // 2
        spans.append(Span(start, end - start, core_start, core_end))
    return spans


def plan(height: int, width: int, *, tile_size: int, overlap: int, multiple: int = 1) -> list[Tile]:
    rows = axis_spans(height, tile_size=tile_size, overlap=overlap, multiple=multiple)
    cols = axis_spans(width, tile_size=tile_size, overlap=overlap, multiple=multiple)
    return [Tile(i * len(cols) + j, r, c) for i, r in enumerate(rows) for j, c in enumerate(cols)]


def extract(image: np.ndarray, tile: Tile) -> np.ndarray:
    """The tile's input pixels (a view into ``image``)."""
    return image[
        tile.rows.start : tile.rows.start + tile.rows.length,
        tile.cols.start : tile.cols.start + tile.cols.length,
    ]


def core(output: np.ndarray, tile: Tile, scale: int = 1) -> np.ndarray:
    """The part of a tile's model output that the stitched image keeps."""
    top = (tile.rows.core_start - tile.rows.start) * scale
    left = (tile.cols.core_start - tile.cols.start) * scale
    return output[
        top : top + (tile.rows.core_end - tile.rows.core_start) * scale,
        left : left + (tile.cols.core_end - tile.cols.core_start) * scale,
    ]


def place(canvas: np.ndarray, kept: np.ndarray, tile: Tile, scale: int = 1) -> None:
    """Writes a tile's kept core (from ``core``) into the output canvas."""
    canvas[
        tile.rows.core_start * scale : tile.rows.core_end * scale,
        tile.cols.core_start * scale : tile.cols.core_end * scale,
    ] = kept
