"""Diagnosing one decoded image with the bundled damage-diagnosis model.

``crop_boxes`` picks up to ``MAX_CROPS`` crops of ``CROP`` pixels on an even grid, every
corner on the 8-pixel JPEG grid (the training patches were aligned to it, so the model can
see blocking); ``Diagnoser`` runs them through the model in one batch and turns the median of
their outputs into a ``restoreflow.diagnosis.Diagnosis``. The cost is bounded by the crops,
not the image: a diagnosis reads at most 16 x 64 x 64 pixels.
"""

from __future__ import annotations

import numpy as np

from model import engines
from model.export import load_model, read_card
from pipelines.imaging import channels, images
from restoreflow import zoo
from restoreflow.diagnosis import Diagnosis, aggregate

DIAGNOSIS_MODEL = "diagnose"  # the bundled model's name
CROP = 64
MAX_CROPS = 16
GRID = 8  # JPEG's block size


def _starts(length: int, count: int) -> list[int]:
    """``count`` crop starts spread evenly over ``length`` pixels, on the JPEG grid."""
    last = (length - CROP) // GRID * GRID
    if count <= 1:
        return [last // 2 // GRID * GRID]
    return sorted({round(last * i / (count - 1)) // GRID * GRID for i in range(count)})


def crop_boxes(height: int, width: int) -> list[tuple[int, int, int, int]]:
    """(top, left, height, width) of the crops to diagnose; an image smaller than a crop is
    read whole (its side cut to the JPEG grid when it is at least one block)."""
    if height < CROP or width < CROP:
        return [(0, 0, max(height // GRID * GRID, min(height, GRID)), max(width // GRID * GRID, min(width, GRID)))]
    side = int(np.sqrt(MAX_CROPS))
    rows = min(side, 1 + (height - CROP) // CROP)
    cols = min(side, 1 + (width - CROP) // CROP)
    return [(top, left, CROP, CROP) for top in _starts(height, rows) for left in _starts(width, cols)]


def model_crops(pixels: np.ndarray) -> np.ndarray:
    """The crops of a decoded image (any dtype, gray or colour, alpha already split off) as
    the model takes them: float32 RGB on [0, 1], (K, h, w, 3)."""
    crops = [pixels[t:t + h, s:s + w] for t, s, h, w in crop_boxes(*pixels.shape[:2])]
    # Cropped first: the conversion is per pixel, and the whole image never becomes float.
    return np.stack([channels.to_model(images.as_float(crop), 3).model_input for crop in crops]).astype(np.float32)


class Diagnoser:
    """The diagnosis model on this worker's engine; ``diagnose(pixels) -> Diagnosis``."""

    def __init__(self, model_ref: str = DIAGNOSIS_MODEL, *, engine: str = "auto", threads: int = 0):
        source = zoo.resolve(model_ref)
        card = read_card(source)
        if card.get("task") != "diagnose":
            raise ValueError(f"{model_ref} is not a damage-diagnosis model (its task is {card.get('task')})")
        self.estimator = card["model_id"]
        if "://" in source:  # a bucket's model: TensorFlow reads it there
            self._predict = engines.load(load_model(source)[0], 3, engine=engine, threads=threads)
        else:  # OpenVINO's cached conversion, where there is one: no TensorFlow (seconds of start-up)
            self._predict = engines.load_dir(source, (3, 3), lambda: load_model(source)[0], engine=engine,
                                             threads=threads)

    def diagnose(self, pixels: np.ndarray) -> Diagnosis:
        crops = model_crops(pixels)
        return Diagnosis.from_outputs(aggregate(self._predict(crops)), self.estimator)
