"""The report's crops: which images get one (ranked groups and a seeded sample), the crop PNGs
embedded as data: URIs, and what each caption says.

With a reference the crops rank by PSNR gain, best and worst. Without one nothing measures
which output is better (a lower noise sigma can mean lost detail as well as removed noise),
so the groups only order by the change of the noise estimate and every caption lists each
no-reference signal before and after, side by side.
"""

from __future__ import annotations

import base64
import dataclasses
import random

from apache_beam.io.filesystems import FileSystems

from pipelines.report.charts import number
from pipelines.report.data import ImageState, ReportData, gain
from pipelines.report.metrics import METRICS, Metric

CROPS_PER_GROUP = 4
"""Crops embedded for each of the two ranked groups and the random sample: at most 12 images."""
MAX_CROP_BYTES = 1 << 20
"""A larger crop file is left out (crops are small by design; this bounds the page)."""
SAMPLE_SEED = 0
"""The random sample of crops is seeded, so rebuilding a report shows the same images."""

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclasses.dataclass(frozen=True)
class Ranking:
    """How the crops order images: ``sign`` * (restored - degraded) of ``metric``."""

    metric: Metric
    sign: int
    label: str
    top: str  # the titles of the two ranked groups
    bottom: str

    def value(self, image: ImageState) -> float | None:
        change = gain(image.scores, self.metric.name) if image.scores else None
        return None if change is None else self.sign * change


def ranking(data: ReportData) -> Ranking:
    metrics = {m.name: m for m in METRICS}
    if data.has_reference:
        return Ranking(metrics["psnr_db"], +1, "PSNR gain (dB)", "Best by PSNR gain", "Worst by PSNR gain")
    label = "noise \u03c3 reduction"
    return Ranking(metrics["noise_sigma"], -1, label, f"Largest {label}", f"Smallest {label}")


@dataclasses.dataclass(frozen=True)
class Crop:
    image_id: str
    uri: str | None  # the PNG as a data: URI, or None (then ``problem`` says why)
    problem: str
    panels: str  # what the crop shows, left to right
    href: str | None  # the full-size restored image
    lines: tuple[str, ...]  # the caption after the image id


def pick(images: list[ImageState], order: Ranking) -> list[tuple[str, list[ImageState]]]:
    """The top and the bottom images by ``order`` and a seeded random sample of the rest,
    ``CROPS_PER_GROUP`` each, among images with a crop; no image twice."""
    with_crop = [i for i in images if i.scores and i.scores.get("crop_path")]
    ranked = sorted((i for i in with_crop if order.value(i) is not None), key=lambda i: (order.value(i), i.image_id))
    top = ranked[::-1][:CROPS_PER_GROUP]
    chosen = {i.image_id for i in top}
    bottom = [i for i in ranked if i.image_id not in chosen][:CROPS_PER_GROUP]
    chosen |= {i.image_id for i in bottom}
    rest = [i for i in with_crop if i.image_id not in chosen]
    sample = sorted(random.Random(SAMPLE_SEED).sample(rest, min(CROPS_PER_GROUP, len(rest))), key=lambda i: i.image_id)
    return [(order.top, top), (order.bottom, bottom), ("Random sample", sample)]


def _candidates(path: str, output: str) -> list[str]:
    """The recorded crop path, then the same file under this OUT (for an output folder that
    was copied or moved since the run, e.g. from gs:// to a laptop)."""
    candidates = [path]
    marker = "/crops/"
    if marker in path:
        candidates.append(FileSystems.join(output, "crops", path.split(marker, 1)[1]))
    return candidates


def data_uri(path: str, output: str) -> tuple[str | None, str]:
    """The crop PNG as a data: URI, or (None, why not)."""
    problem = "crop not found"
    for candidate in _candidates(path, output):
        try:
            if not FileSystems.exists(candidate):
                continue
            with FileSystems.open(candidate) as f:
                data = f.read(MAX_CROP_BYTES + 1)
        except (OSError, ValueError) as e:  # ValueError: e.g. gs:// without the gcp extra
            problem = f"crop unreadable: {e}"
            continue
        if len(data) > MAX_CROP_BYTES:
            return None, f"crop larger than {MAX_CROP_BYTES} bytes, not embedded"
        if not data.startswith(_PNG_MAGIC):
            return None, "crop is not a PNG"
        return "data:image/png;base64," + base64.b64encode(data).decode("ascii"), ""
    return None, problem


def caption(scores: dict) -> tuple[str, ...]:
    """Every score the image has, before -> after, full-reference ones first."""
    lines = []
    for m in METRICS:
        before, after = scores.get(f"{m.name}_degraded"), scores.get(f"{m.name}_restored")
        if before is None and after is None:
            continue
        line = f"{m.label} {number(before, m.digits)} \u2192 {number(after, m.digits)}"
        if m.full_reference:
            line += f" ({number(gain(scores, m.name), m.digits, signed=True)})"
        lines.append(line)
    return tuple(lines)


def crop(image: ImageState, output: str, href: str | None) -> Crop:
    uri, problem = data_uri(image.scores["crop_path"], output)
    panels = "degraded | restored | reference" if image.scores.get("reference") else "degraded | restored"
    return Crop(image.image_id, uri, problem, panels, href, caption(image.scores))
