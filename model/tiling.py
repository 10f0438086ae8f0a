"""Cutting images into overlapping tiles and stitching model outputs back without seams.

Along each axis, tiles of ``tile_size`` start every ``tile_size - 2 * overlap`` pixels (rounded
to the model's size multiple), the last one reaching the image's end (padded as the model pads
the whole image); an axis shorter than a tile gets one tile of the axis's own length (so the
tile edge is the image edge, exactly as in whole-image inference). Each tile
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


def axis_spans(length: int, *, tile_size: int, overlap: int, multiple: int = 1, pad: bool = True) -> list[Span]:
    """Tile spans covering [0, length) along one axis.

    Every tile of an axis longer than a tile has the same length, so the engine sees one shape
    per image: the shortest multiple of ``multiple`` (a model's ``size_multiple``) up to
    ``tile_size`` that covers the axis with as few tiles as ``tile_size`` would.
    Tile starts are multiples of ``multiple`` (U-Nets compute each pixel as a function of its
    position modulo their stride), so the last tile may reach up to ``multiple - 1`` pixels past
    the image's end: ``extract`` fills them by edge replication, which is exactly how the model
    pads the whole image (``model.layers.PadToMultiple``), so the last tile sees what it would
    see inside a whole-image pass. ``pad=False`` (super-resolution: the model's bicubic branch
    sees the unpadded input) ends the last tile at the image's end instead, up to
    ``multiple - 1`` pixels longer than the others.
    """
    size = -(-tile_size // multiple) * multiple
    if length <= size:
        return [Span(0, length, 0, length)]
    if 2 * overlap + multiple > size:
        raise ValueError(f"tile size {tile_size} leaves no core with overlap {overlap} per side")
    size = _balanced(length, size, overlap, multiple, pad)
    starts = _starts(length, size, overlap, multiple, pad)
    spans = []
    for i, start in enumerate(starts):
        end = length if i == len(starts) - 1 and not pad else start + size
        core_start = 0 if i == 0 else spans[-1].core_end
        core_end = length if i == len(starts) - 1 else (starts[i + 1] + end) // 2
        spans.append(Span(start, end - start, core_start, core_end))
    return spans


def _starts(length: int, size: int, overlap: int, multiple: int, pad: bool) -> list[int]:
    step = size - 2 * overlap
    step -= step % multiple
    last = -(-length // multiple) * multiple - size if pad else (length - size) // multiple * multiple
    return list(range(0, last, step)) + [last]


def _balanced(length: int, size: int, overlap: int, multiple: int, pad: bool) -> int:
    """The shortest tile length (a multiple of ``multiple``, at most ``size``) that covers the
    axis with no more tiles than ``size`` needs: 2450 pixels take 3 tiles of 880, not of 1024
    (a quarter fewer pixels computed), at no more memory."""
    count = len(_starts(length, size, overlap, multiple, pad))
    shortest = max(-(-(length + 2 * overlap * (count - 1)) // count), 2 * overlap + multiple)
    for candidate in range(-(-shortest // multiple) * multiple, size, multiple):
        if len(_starts(length, candidate, overlap, multiple, pad)) <= count:
            return candidate
    return size


def plan(height: int, width: int, *, tile_size: int, overlap: int, multiple: int = 1, pad: bool = True) -> list[Tile]:
    rows = axis_spans(height, tile_size=tile_size, overlap=overlap, multiple=multiple, pad=pad)
    cols = axis_spans(width, tile_size=tile_size, overlap=overlap, multiple=multiple, pad=pad)
    return [Tile(i * len(cols) + j, r, c) for i, r in enumerate(rows) for j, c in enumerate(cols)]


def extract(image: np.ndarray, tile: Tile) -> np.ndarray:
    """The tile's input pixels: a view into ``image``, or for a tile reaching past the bottom
    or right edge (by less than the model's size multiple) a copy padded by edge replication."""
    pixels = image[
        tile.rows.start : tile.rows.start + tile.rows.length,
        tile.cols.start : tile.cols.start + tile.cols.length,
    ]
    short = (tile.rows.length - pixels.shape[0], tile.cols.length - pixels.shape[1])
    if short == (0, 0):
        return pixels
    return np.pad(pixels, ((0, short[0]), (0, short[1])) + ((0, 0),) * (pixels.ndim - 2), mode="edge")


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


# Bytes of engine memory per tile pixel and unit of a model's width (its first convolution's
# filters): OpenVINO f32 grew peak RSS by 591-637 bytes per pixel running `restore` (a U-Net of
# width 32) on one 512 or 1024 pixel tile or on 4 tiles of 512 (bench/RESULTS.md, issue 23),
# i.e. about 5 float32 feature maps of full width live at once; 20 per unit covers that.
BYTES_PER_PIXEL_PER_WIDTH = 20
LARGEST_TILE = 4096  # beyond this, larger tiles save under 5 % of the overlap's pixels


def pixels_for_budget(budget_bytes: int, *, width: int) -> float:
    """Tile pixels (all tiles of a batch together) that ``budget_bytes`` of engine memory holds
    for a model ``width`` filters wide."""
    return budget_bytes / (width * BYTES_PER_PIXEL_PER_WIDTH)


def size_for_budget(budget_bytes: int, *, width: int, batch: int, overlap: int, multiple: int = 1) -> int:
    """The tile side (a multiple of ``multiple``) whose batch fits ``budget_bytes`` of engine
    memory, for a model ``width`` filters wide: deterministic, from the flags and the card alone.
    Never below the smallest tile with a core (``2 * overlap + multiple``)."""
    side = int((pixels_for_budget(budget_bytes, width=width) / batch) ** 0.5)
    side = min(side, LARGEST_TILE) // multiple * multiple
    smallest = -(-(2 * overlap + multiple) // multiple) * multiple
    return max(side, smallest)
