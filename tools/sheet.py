"""A labelled sheet of same-size image crops (before/after comparisons for the README and
bench/): one row per example, one column per method, the method's name above each column.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

LABEL_PX = 22  # the height of the label strip above each row
GAP_PX = 4


def enlarge_nearest(image: np.ndarray, factor: int) -> np.ndarray:
    """Pixel replication, so a small input is shown at the outputs' size without new detail."""
    return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)


def sheet(rows: Sequence[Sequence[tuple[str, np.ndarray]]]) -> Image.Image:
    """``rows``: per row, (label, HxWx3 uint8 crop) per column; every crop of the sheet has
    one size. Returns the sheet on a white background."""
    if not rows or not rows[0]:
        raise ValueError("a sheet needs at least one row with one crop")
    height, width = rows[0][0][1].shape[:2]
    if any(crop.shape[:2] != (height, width) for row in rows for _, crop in row):
        raise ValueError("every crop of a sheet must have one size")
    columns = max(len(row) for row in rows)
    canvas = Image.new("RGB", (columns * (width + GAP_PX) + GAP_PX,
                               len(rows) * (height + LABEL_PX + GAP_PX) + GAP_PX), "white")
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=14)
    for r, row in enumerate(rows):
        top = GAP_PX + r * (height + LABEL_PX + GAP_PX)
        for c, (label, crop) in enumerate(row):
            left = GAP_PX + c * (width + GAP_PX)
            draw.text((left + 2, top + 3), label, fill="black", font=font)
            canvas.paste(Image.fromarray(np.asarray(crop, np.uint8)), (left, top + LABEL_PX))
    return canvas
