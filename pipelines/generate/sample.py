"""The generate job's composite transforms: indices -> sampled images -> PNG files.

Each worker loads the model once (``DoFn.setup``) and samples one image per index, from the
starting noise of ``numpy.random.default_rng([seed, index])``: an image is the same whichever
worker makes it and whatever else it makes (``model.diffusion.Sampler``).
"""

from __future__ import annotations

import hashlib
import io
import time
import typing

import apache_beam as beam
import numpy as np
from apache_beam.metrics import Metrics

from pipelines.generate import state
from pipelines.runtime import errors, files


class Item(typing.NamedTuple):
    """One image to make; ``image_id`` and ``source`` name it in errors/."""

    index: int
    image_id: str
    source: str


class Sampled(typing.NamedTuple):
    """A sampled image (uint8 HWC) on its way to its file."""

    item: Item
    pixels: np.ndarray
    seconds: float

    @property
    def image_id(self) -> str:
        return self.item.image_id

    @property
    def source(self) -> str:
        return self.item.source


class SampleImages(beam.DoFn):
    """Item -> Sampled."""

    def __init__(self, model_dir: str, seed: int, steps: int, shape: tuple[int, int, int]):
        self._model_dir, self._seed, self._steps, self._shape = model_dir, seed, steps, tuple(shape)
        self._sampled = Metrics.counter("restoreflow", "images_generated")

    def setup(self):
        from model import diffusion
        from model.export import load_model

        network, card = load_model(self._model_dir)
        self._sampler = diffusion.Sampler(network, diffusion.EDM.from_card(card))

    def process(self, item: Item):
        started = time.time()
        pixels = self._sampler.sample(seed=self._seed, index=item.index, steps=self._steps, shape=self._shape)
        self._sampled.inc()
        yield Sampled(item, pixels, time.time() - started)


class Sample(beam.PTransform):
    """Items -> (Sampled, error records)."""

    def __init__(self, model_dir: str, *, seed: int, steps: int, shape: tuple[int, int, int]):
        super().__init__()
        self._fn = SampleImages(model_dir, seed, steps, shape)

    def expand(self, items):
        sampled = items | "Sample" >> beam.ParDo(self._fn).with_exception_handling()
        return sampled.good, sampled.bad | "Sampling errors" >> errors.Rejections("generate")


def png_bytes(pixels: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels).save(buffer, format="PNG")
    return buffer.getvalue()


class WriteImage(beam.DoFn):
    """Sampled -> the PNG at OUT/generated/<index>.png (written to a temporary
    name, then renamed) and its row for the state file."""

    def __init__(self, output: str, run_id: str):
        self._output, self._run_id = output, run_id

    def process(self, element: Sampled):
        item, pixels, seconds = element
        data = png_bytes(pixels)
        path = state.image_path(self._output, item.index)
        files.write_atomically(path, data, root=self._output, temporary=files.partial_name(path, self._run_id))
        yield {"index": item.index, "name": item.image_id, "sha256": hashlib.sha256(data).hexdigest(),
               "seconds": round(seconds, 4)}


class Generate(beam.PTransform):
    """Indices -> (rows of the images written, error records)."""

    def __init__(self, settings):
        super().__init__()
        self._settings = settings

    def expand(self, indices):
        s = self._settings
        items = (indices
                 | "As items" >> beam.Map(lambda i, source: Item(i, state.image_name(i), source), s.model_dir)
                 | "Spread" >> beam.Reshuffle())  # one sampled image is seconds of work: spread them over workers
        sampled, sample_errors = items | "Sample" >> Sample(s.model_dir, seed=s.seed, steps=s.steps,
                                                            shape=s.image_shape)
        written = sampled | "Write PNG" >> beam.ParDo(WriteImage(s.output, s.run_id)).with_exception_handling()
        write_errors = written.bad | "Write errors" >> errors.Rejections("write", (OSError,))
        return written.good, (sample_errors, write_errors) | "All errors" >> beam.Flatten()
