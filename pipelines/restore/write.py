"""The last step of an image: its own channels, bit depth, alpha and format again, the restored
file and the report's crop written, the scores row.

Files are written under a temporary name and renamed over the final one, so a killed run
never leaves a partial file under the final name nor removes the previous one; no link inside
the output folder is followed (``pipelines.runtime.files``).
"""

from __future__ import annotations

import hashlib
import time

import apache_beam as beam
import numpy as np
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from model import engines
from pipelines.imaging import channels, images, metadata
from pipelines.inputs import outputs
from pipelines.restore import models, quality
from pipelines.restore.prepare import choice_columns
from pipelines.restore.settings import Settings
from pipelines.restore.values import ImageMeta, Stitched, Unchanged
from pipelines.runtime import files
from restoreflow.scores import ScoreRow

FORESEEN = (images.ImageError, OSError, ValueError)  # e.g. an unwritable output: their message is the reason


def output_path(settings: Settings, image_id: str) -> str:
    """OUT/restored/<name>, the name unique by construction (see outputs.output_name)."""
    return FileSystems.join(settings.output, "restored", outputs.output_name(image_id, settings.output_format))


def crop_path(settings: Settings, image_id: str, settings_key: str) -> str:
    return FileSystems.join(settings.output, "crops", settings_key, image_id + ".png")


def write_atomically(path: str, data: bytes, s: Settings) -> None:
    """Under the run's temporary name, renamed; never through a link (see runtime.files)."""
    files.write_atomically(path, data, root=s.output, temporary=files.partial_name(path, s.run_id))


def output_pixels(stitched: Stitched, scale: int) -> np.ndarray:
    """The model's output in the image's own channels and dtype; a bilevel input's thresholded
    back to two levels (what is written and scored)."""
    meta, canvas = stitched.meta, stitched.canvas
    if canvas.dtype == np.float32:
        canvas = images.from_float(channels.from_model(canvas, meta.channel_plan, scale), meta.out_dtype)
    return images.threshold(canvas) if is_bilevel(meta, canvas) else canvas


def is_bilevel(meta: ImageMeta, pixels: np.ndarray) -> bool:
    """A 1-bit input whose result is gray: kept 1-bit (thresholded at half scale)."""
    return meta.source_mode == "1" and pixels.shape[-1] == 1 and pixels.dtype == np.uint8


def resized_alpha(alpha: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The alpha channel at the output's size (bicubic), for super-resolution."""
    from PIL import Image

    mode = "I;16" if alpha.dtype == np.uint16 else None
    resized = Image.fromarray(alpha[..., 0], mode=mode).resize((size[1], size[0]), Image.BICUBIC)
    return np.asarray(resized).astype(alpha.dtype)[..., None]


def finish(stitched: Stitched, s: Settings) -> ScoreRow:
    """Writes the restored image and its crop; returns its scores row."""
    meta = stitched.meta
    pixels = output_pixels(stitched, s.scale)
    alpha = meta.alpha
    if alpha is not None and s.scale > 1:
        alpha = resized_alpha(alpha, pixels.shape[:2])
    return _write(meta, pixels, s, tiles=stitched.tiles, has_alpha=alpha is not None, encode=lambda: images.encode(
        pixels, format=meta.out_format, alpha=alpha, icc_profile=meta.icc_profile,
        metadata=metadata.scaled(meta.metadata, s.scale, pixels.shape[:2]), bilevel=is_bilevel(meta, pixels),
        png_compress_level=s.png_compress_level))


def finish_unchanged(image: Unchanged, s: Settings) -> ScoreRow:
    """Writes an image no model touched: its input bytes when they can be copied as they are
    (bit-exact, metadata and all), else its pixels in the output format; its crop; its row."""
    meta, pixels = image.meta, image.pixels

    def encode() -> bytes:
        if image.data is not None:
            return image.data
        return images.encode(pixels, format=meta.out_format, alpha=meta.alpha, icc_profile=meta.icc_profile,
                             metadata=meta.metadata, bilevel=is_bilevel(meta, pixels),
                             png_compress_level=s.png_compress_level)

    return _write(meta, pixels, s, tiles=0, has_alpha=meta.alpha is not None, encode=encode)


def _write(meta: ImageMeta, pixels: np.ndarray, s: Settings, *, encode, tiles: int, has_alpha: bool) -> ScoreRow:
    """The output file (``encode()``'s bytes, unless --write_images none) and the report's crop,
    both written atomically; the image's scores row."""
    path, output_sha256 = output_path(s, meta.image_id), None
    if s.write_images:
        data = encode()
        output_sha256 = hashlib.sha256(data).hexdigest()  # what a rerun checks the file against
        write_atomically(path, data, s)
    crop = crop_path(s, meta.image_id, meta.chosen.settings_key)
    write_atomically(crop, quality.crop_panels(meta.crop_box, meta.crop_before, pixels, meta.reference), s)
    return _row(meta, pixels, s, tiles=tiles, has_alpha=has_alpha,
                output_path=path if s.write_images else None, output_sha256=output_sha256, crop_path=crop)


def _row(meta: ImageMeta, pixels: np.ndarray, s: Settings, **written) -> ScoreRow:
    after = {**quality.full_reference(meta.reference, pixels, role="restored", task=s.task, sr_factor=s.sr_factor),
             **quality.no_reference(pixels, role="restored")}
    recorded = meta.recorded
    return ScoreRow(
        image_id=meta.image_id, source=meta.source, status="restored", run_id=s.run_id,
        settings_key=meta.chosen.settings_key, model_id=meta.chosen.model_id, task=s.task,
        content_sha256=recorded.content_sha256, **choice_columns(meta.chosen, s),
        mask_sha256=recorded.mask_sha256, redone=recorded.redone, note=recorded.note,
        width_in=meta.size_in[1], height_in=meta.size_in[0], width_out=pixels.shape[1], height_out=pixels.shape[0],
        channels=pixels.shape[-1], bit_depth=_bit_depth(meta, pixels), source_mode=meta.source_mode,
        format_in=meta.format_in, format_out=meta.out_format, reference=meta.reference_kind,
        seconds=round(time.time() - meta.started, 4),
        precision=ran_precision(s, meta.chosen.model) if written["tiles"] else None,
        **written, **meta.before, **after,
    )


_PRECISIONS: dict[tuple, str] = {}  # --precision auto resolved once per worker process


def ran_precision(s: Settings, model: str) -> str:
    """What ``model`` (--model's, or the one --model auto chose) ran in on this worker (the
    stitcher and this writer share its process); each of auto's models resolves it on its card."""
    key = (model, s.engine, s.precision)
    if key not in _PRECISIONS:
        card = models.read_card(model) if s.auto else s.card
        _PRECISIONS[key] = engines.resolve_precision(s.precision, card, s.engine)
    return _PRECISIONS[key]


class WriteUnchanged(beam.DoFn):
    """Unchanged -> ScoreRow (see finish_unchanged)."""

    def __init__(self, settings: Settings):
        self._s = settings
        self._unchanged = Metrics.counter("restoreflow", "images_unchanged")

    def process(self, image: Unchanged):
        row = finish_unchanged(image, self._s)
        self._unchanged.inc()
        yield row


def _bit_depth(meta: ImageMeta, pixels: np.ndarray) -> int:
    one_bit = is_bilevel(meta, pixels) and meta.out_format in images.BILEVEL_FORMATS
    return 16 if pixels.dtype == np.uint16 else 1 if one_bit else 8


class WriteAndScore(beam.DoFn):
    """Stitched -> ScoreRow. Raises when the image cannot be written (see errors)."""

    def __init__(self, settings: Settings):
        self._s = settings
        self._restored = Metrics.counter("restoreflow", "images_restored")

    def process(self, stitched: Stitched):
        row = finish(stitched, self._s)
        self._restored.inc()
        yield row
