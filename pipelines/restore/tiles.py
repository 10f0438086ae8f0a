"""Cutting prepared images into tiles for RunInference and stitching the restored tiles back.

Tiles, inference and stitching run in one fused stage: an image's tiles never cross a
shuffle, so memory holds only the images in flight (not the bucket, as a GroupByKey on the
local runner would). The stitcher keeps the images it has started in per-bundle state and
reports any left incomplete at the end of the bundle (a batch Beam lost, or a runner that
did not fuse the stage) as an error.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import apache_beam as beam
import numpy as np
from apache_beam.metrics import Metrics
from apache_beam.transforms.window import GlobalWindows

from model import tiling
from pipelines.imaging import images
from pipelines.imaging.channels import PER_PIXEL, from_model, widen
from pipelines.restore import errors
from pipelines.restore.inference import InferenceFailure
from pipelines.restore.values import ImageMeta, Prepared, Stitched, TileKey

INCOMPLETE = ("not all tiles were restored (an inference batch failed, see the error with stage inference, or the "
              "runner split the fused stage)")


def cut(prepared: Prepared, *, tile_size: int, overlap: int, multiple: int,
        pad: bool = True) -> Iterator[tuple[TileKey, np.ndarray]]:
    """(TileKey, float32 tile) in order; the first key carries the image's metadata. ``pad``:
    edge tiles padded to the others' shape (``model.tiling.axis_spans``; not for SR models)."""

    meta = prepared.meta
    height, width = meta.size_in
    plan = tiling.plan(height, width, tile_size=tile_size, overlap=overlap, multiple=multiple, pad=pad)
    for tile in plan:
        key = TileKey(meta.image_id, meta.source, tile, len(plan), meta if tile.index == 0 else None,
                      meta.chosen.model)
        yield key, with_noise_level(widen(images.as_float(tiling.extract(prepared.model_input, tile)),
                                          meta.channel_plan.rule), meta.chosen.noise_level)


def with_noise_level(tile: np.ndarray, level: float | None) -> np.ndarray:
    """A tile for a denoiser told its noise level: the level (sigma / 255) as one more channel,
    made per tile since it is one value for the whole image."""
    if level is None:
        return tile
    return np.concatenate([tile, np.full((*tile.shape[:-1], 1), level, np.float32)], axis=-1)


class CutTiles(beam.DoFn):
    """Prepared -> (TileKey, tile), lazily: a tile goes on to inference before the next is cut."""

    def __init__(self, *, tile_size: int, overlap: int, multiple: int, pad: bool = True):
        self._sizes = {"tile_size": tile_size, "overlap": overlap, "multiple": multiple, "pad": pad}
        self._tiles = Metrics.counter("restoreflow", "tiles")

    def process(self, prepared: Prepared):
        for key, tile in cut(prepared, **self._sizes):
            if key.tile.index == 0:
                self._tiles.inc(key.count)
            yield key, tile


@dataclasses.dataclass
class Canvas:
    """One image being stitched (the stitcher's own state, never output)."""

    meta: ImageMeta
    pixels: np.ndarray | None
    count: int
    scale: int
    received: int = 0
    failure: str | None = None

    @property
    def final(self) -> bool:
        """Whether cores arrive in the image's own channels and dtype (a per-pixel channel
        plan): else the canvas is the model's float output, converted once whole (write)."""
        return self.meta.channel_plan.rule in PER_PIXEL

    @classmethod
    def start(cls, key: TileKey, *, scale: int, channels: int) -> Canvas:
        height, width = key.meta.size_in
        rule = key.meta.channel_plan.rule
        dtype = key.meta.out_dtype if rule in PER_PIXEL else np.float32
        depth = 1 if rule == "replicate" else channels  # the gray image's own channel
        return cls(key.meta, np.empty((height * scale, width * scale, depth), dtype), key.count, scale)

    def add(self, tile, output) -> bool:
        """Places one tile's restored core (or records its failure); True once all are in."""

        self.received += 1
        if isinstance(output, InferenceFailure):
            self.failure, self.pixels = output.reason, None
        elif self.failure is None:
            kept = tiling.core(output, tile, self.scale)
            if self.final:  # per pixel: each core in the image's channels (and dtype) as it arrives
                kept = from_model(kept, self.meta.channel_plan)
                if self.pixels.dtype != np.float32:
                    kept = images.from_float(kept, self.pixels.dtype)
            tiling.place(self.pixels, kept, tile, self.scale)
        return self.received == self.count


class StitchTiles(beam.DoFn):
    """(TileKey, PredictionResult) -> Stitched per complete image, or an error (tag ERRORS)."""

    def __init__(self, *, scale: int, channels: int):
        self._scale = scale
        self._channels = channels

    def start_bundle(self):
        self._open: dict[str, Canvas] = {}

    def process(self, element):
        key, result = element
        if key.meta is not None:
            self._open[key.image_id] = Canvas.start(key, scale=self._scale, channels=self._channels)
        canvas = self._open.get(key.image_id)
        # None: its first tile was in a batch Beam lost; RunInference's dead letters report it.
        if canvas is None or not canvas.add(key.tile, result.inference):
            return
        del self._open[key.image_id]
        if canvas.failure is not None:
            yield beam.pvalue.TaggedOutput(errors.ERRORS, errors.record(
                source=key.source, image_id=key.image_id, stage="inference", reason=canvas.failure))
        else:
            yield Stitched(canvas.meta, canvas.pixels, canvas.count)

    def finish_bundle(self):
        for canvas in self._open.values():
            yield beam.pvalue.TaggedOutput(errors.ERRORS, GlobalWindows.windowed_value(errors.record(
                source=canvas.meta.source, image_id=canvas.meta.image_id, stage="stitch", reason=INCOMPLETE)))
