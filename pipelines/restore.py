"""Job 3: restore and score images with a trained model.

    restoreflow restore --input IN --model MODEL_DIR --output OUT [--reference REF]
    restoreflow restore --input BENCH --model MODEL_DIR --output OUT --degrade RECIPE --seed N
    python -m pipelines.restore ...   (the same, as Dataflow launchers expect)

Per image: decode -> (paired mode: degrade exactly as job 1 does for whole images) -> the
model's channels -> tiles -> RunInference (batches mix tiles of neighbouring images) ->
stitch -> the image's own channels, bit depth, alpha and format -> write -> score.

Tiles, inference and stitching run in one fused stage: an image's tiles never cross a
shuffle, so memory holds only the images in flight (not the bucket, as a GroupByKey on the
local runner would). The stitcher checks that every image it started is complete and
reports any that is not (a runner that did not fuse the stage) as an error.

Output: ``OUT/restored/<image_id>``, ``OUT/scores/<run>/*.parquet``, ``OUT/errors/<run>/*.jsonl``,
``OUT/runs/<run>/summary.json`` and ``OUT/summary.json`` (the latest run).
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import hashlib
import json
import logging
import sys
import time
import uuid

import apache_beam as beam
import numpy as np
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics
from apache_beam.transforms.window import GlobalWindows

from pipelines import (
    channels,
    flags,
    guidance,
    images,
    lock,
    matching,
    options as job_options,
    outputs,
    progress,
    report,
    rerun,
    scoring,
    sources,
)
from pipelines.degrade import pairs, recipe as recipes
from pipelines.inference import InferenceFailure, TileModelHandler
from restoreflow import zoo
from restoreflow.configs import ConfigError
from restoreflow.console import setup_logging, take_verbose_flag, user_errors

log = logging.getLogger("restoreflow.restore")
ERRORS = sources.ERRORS_TAG
WRITABLE_FORMATS = flags.WRITABLE_FORMATS


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything the workers need, resolved once when the pipeline is built."""

    model_dir: str  # a bundled model's name or a model directory (see restoreflow.zoo)
    card: dict
    output: str
    run_id: str
    tile_size: int
    overlap: int
    batch_size: int
    tf_threads: int
    output_format: str  # "keep" or a Pillow format name
    degrade: recipes.Recipe | None
    seed: int
    reference: str | None
    max_pixels: int
    write_images: bool
    force: bool = False
    masks: str | None = None  # folder of inpainting masks (see matching)
    max_bytes: int = images.DEFAULT_MAX_BYTES
    engine: str = "auto"  # not in the key: the engines' outputs agree within 1e-4 (model.engines)

    @property
    def scale(self) -> int:
        return int(self.card["scale"])

    @property
    def task(self) -> str:
        """The task the scores follow: the degradation's in paired mode, else the model's."""
        return self.degrade.task if self.degrade else self.card["task"]

    @property
    def sr_factor(self) -> int:
        """Border pixels the super-resolution scores crop."""
        return self.degrade.sr_factor if self.degrade else self.scale

    @functools.cached_property  # computed once per process, not once per image
    def key(self) -> str:
        """Identifies what a restored output and its scores depend on besides the input's bytes."""
        from restoreflow.configs import to_plain

        parts = {
            "model_id": self.card["model_id"],
            "tile_size": self.tile_size,
            "overlap": self.overlap,
            "format": self.output_format,
            "degrade": self.degrade and to_plain(self.degrade),
            "seed": self.seed if self.degrade else None,
            "reference": self.reference,
            "write_images": self.write_images,
        }
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


@dataclasses.dataclass
class ImageJob:
    """One image on its way through the model (carried along with its first tile)."""

    image_id: str
    source: str
    recorded: dict  # row fields settled before inference: content/mask hashes, why redone, notes
    format_in: str
    source_mode: str
    plan: channels.ChannelPlan  # model input (+ how to get the image's channels back)
    model_input: np.ndarray  # HWC in the model's channels (+ mask channel); stored dtype or float32
    out_dtype: np.dtype
    out_format: str
    alpha: np.ndarray | None
    icc_profile: bytes | None
    reference: np.ndarray | None  # in the output's dtype, channels and size
    reference_kind: str | None  # "paired" or a path
    size_in: tuple[int, int]
    before: dict
    started: float
    crop_box: tuple[int, int, int, int]  # top, left, height, width in output pixels
    crop_before: np.ndarray  # the degraded input there (at output size), 8-bit


@dataclasses.dataclass(frozen=True)
class TileKey:
    image_id: str
    tile: object  # model.tiling.Tile
    count: int
    job: ImageJob | None  # only on the first tile


def output_path(settings: Settings, image_id: str) -> str:
    """OUT/restored/<name>, the name unique by construction (see outputs.output_name)."""
    return FileSystems.join(settings.output, "restored", outputs.output_name(image_id, settings.output_format))


def score_pair(reference, image, *, task: str, sr_factor: int) -> dict:
    """Full-reference scores with the published conventions: Y channel of colour images for
    super-resolution and JPEG, a border of ``sr_factor`` pixels cropped for super-resolution."""
    crop_border = sr_factor if task == "sr" else 0
    too_small = min(image.shape[:2]) - 2 * crop_border < SSIM_WINDOW  # nothing SSIM could score
    if reference is None or reference.shape != image.shape or too_small:
        return {"psnr_db": None, "ssim": None, "ms_ssim": None}
    data_range = 65535.0 if image.dtype == np.uint16 else 255.0
    return scoring.full_reference(
        reference,
        image,
        data_range=data_range,
        crop_border=crop_border,
        y_channel=image.shape[-1] == 3 and task in ("sr", "jpeg"),
    )


def no_reference(image) -> dict:
    return scoring.no_reference(image, data_range=65535.0 if image.dtype == np.uint16 else 255.0)


class MaskProblem(ValueError):
    """An input whose --masks mask is missing, ambiguous, unusable or of another size."""


@dataclasses.dataclass(frozen=True)
class _Pixels:
    """What the model gets and what the output is scored against, before channels and tiles."""

    stored: np.ndarray  # the degraded input (masked pixels 0 for inpainting)
    out_dtype: np.dtype
    mask: np.ndarray | None  # HW1 uint8, 1 = missing
    alpha: np.ndarray | None
    reference: np.ndarray | None
    reference_kind: str | None
    note: str | None  # e.g. why a reference was not used


class PrepareImages(beam.DoFn):
    """ImageBytes -> ImageJob (decoded, degraded in paired mode, in the model's channels), or
    a "skipped" row when the same bytes (and mask) were restored with the same settings and
    the output on disk is still what was recorded (see rerun)."""

    SKIPPED = "skipped"

    def __init__(self, settings: Settings):
        self._s = settings
        self._errors = Metrics.counter("restoreflow", "errors")
        self._skipped = Metrics.counter("restoreflow", "images_skipped")
        self._redone = Metrics.counter("restoreflow", "images_redone")
        self._prepared = Metrics.counter("restoreflow", "images_prepared")
        self._matched = Metrics.counter("restoreflow", "references_matched")

    def _error(self, item, reason, stage="decode"):
        self._errors.inc()
        return beam.pvalue.TaggedOutput(
            ERRORS, sources.error_record(source=item.source, image_id=item.image_id, stage=stage, reason=reason)
        )

    def process(self, item: sources.ImageBytes, done=None, masks=None, references=None):
        started = time.time()
        try:
            mask_path, mask_data = self._mask_file(item.image_id, masks)
        except MaskProblem as e:
            yield self._error(item, str(e), stage="mask")
            return
        recorded = {"content_sha256": hashlib.sha256(item.data).hexdigest(),
                    "mask_sha256": mask_data and hashlib.sha256(mask_data).hexdigest()}
        previous = (done or {}).get(item.image_id)
        skip, recorded["redone"] = rerun.decide(previous, settings_key=self._s.key, **recorded)
        if skip:
            self._skipped.inc()
            yield beam.pvalue.TaggedOutput(self.SKIPPED, self._skipped_row(item, recorded, previous))
            return
        try:
            decoded = images.decode(item.data, max_pixels=self._s.max_pixels)
            mask = _read_mask(mask_path, mask_data, decoded, self._s.max_pixels) if mask_path else None
            job = self._job(item, decoded, started, recorded, self._pixels(item, decoded, mask, references))
        except (images.ImageError, pairs.TooSmall) as e:
            yield self._error(item, str(e))
        except MaskProblem as e:
            yield self._error(item, str(e), stage="mask")
        except Exception as e:  # noqa: BLE001 - see sources.unexpected
            yield self._error(item, sources.unexpected(e, item.image_id))
        else:
            self._prepared.inc()
            self._redone.inc(1 if recorded["redone"] else 0)
            yield job

    def _mask_file(self, image_id, masks) -> tuple[str | None, bytes | None]:
        """The --masks file of an image and its bytes (read on every run: its hash decides
        whether the image is done)."""
        if not self._s.masks:
            return None, None
        path, problem = matching.find(masks or {}, image_id, what="mask", folder=self._s.masks)
        if problem:
            raise MaskProblem(problem)
        try:
            with FileSystems.open(path) as f:
                return path, f.read(self._s.max_bytes + 1)
        except Exception as e:  # noqa: BLE001 - any filesystem's read failure
            raise MaskProblem(f"cannot read mask {path}: {e}") from None

    def _skipped_row(self, item, recorded, previous) -> dict:
        s = self._s
        return report.row(
            image_id=item.image_id, source=item.source, status="skipped", run_id=s.run_id,
            settings_key=s.key, model_id=s.card["model_id"], task=s.task, output_path=previous["output_path"],
            output_sha256=previous["output_sha256"], crop_path=previous["crop_path"], **recorded,
        )

    def _pixels(self, item, decoded, mask, references) -> _Pixels:
        s = self._s
        if s.degrade is not None:
            clean = pairs.prepare_clean(decoded.pixels, s.degrade)
            pair = next(pairs.make_pairs(clean, recipe=s.degrade, settings=pairs.PatchSettings(patch_size=0),
                                         seed=s.seed, image_id=item.image_id))
            return _Pixels(pair.degraded, clean.dtype, pair.mask, None, pair.clean, "paired", None)
        stored = decoded.pixels if mask is None else np.where(mask.astype(bool), 0, decoded.pixels)
        reference, kind, note = self._reference(item.image_id, stored.dtype, stored.shape, references)
        return _Pixels(stored, stored.dtype, mask, decoded.alpha, reference, kind, note)

    def _job(self, item, decoded, started, recorded, px: _Pixels) -> ImageJob:
        s, card = self._s, self._s.card
        stored = px.stored
        if min(stored.shape[:2]) < MIN_SIDE:
            raise images.ImageError(f"image is {stored.shape[1]}x{stored.shape[0]}, too small to restore "
                                    f"(sides of at least {MIN_SIDE} pixels)")
        # Same channels: the model input stays in its stored dtype and tiles become float one
        # at a time (a quarter of the memory for 8-bit images).
        native = stored.shape[-1] == card["channels"] and not card["takes_mask"]
        plan = channels.to_model(stored if native else images.as_float(stored), card["channels"])
        model_input = plan.model_input
        if card["takes_mask"]:
            model_input = np.concatenate([model_input, px.mask.astype(np.float32)], axis=-1)
        degraded_pixels = stored if stored.dtype == px.out_dtype else images.from_float(images.as_float(stored), px.out_dtype)
        out_height, out_width = stored.shape[0] * s.scale, stored.shape[1] * s.scale
        crop_box = _centre_box(out_height, out_width, CROP_SIZE)
        before = {
            **_prefixed(score_pair(px.reference, _upscale_like(degraded_pixels, px.reference), task=s.task,
                                   sr_factor=s.sr_factor), "degraded"),
            **_prefixed(no_reference(degraded_pixels), "degraded"),
        }
        return ImageJob(
            image_id=item.image_id,
            source=item.source,
            recorded={**recorded, "note": px.note},
            crop_box=crop_box,
            crop_before=_crop_at_output_size(degraded_pixels, crop_box, s.scale),
            format_in=decoded.format,
            source_mode=decoded.source_mode,
            plan=dataclasses.replace(plan, model_input=None),
            model_input=np.ascontiguousarray(model_input),
            out_dtype=px.out_dtype,
            out_format=outputs.output_format(item.image_id, s.output_format, decoded.format),
            alpha=px.alpha,
            icc_profile=decoded.icc_profile,
            reference=px.reference,
            reference_kind=px.reference_kind,
            size_in=stored.shape[:2],
            before=before,
            started=started,
        )

    def _reference(self, image_id, dtype, degraded_shape, references):
        """(reference pixels, its path, None), or (None, None, a note saying why none is used)."""
        if not self._s.reference:
            return None, None, None
        path, problem = matching.find(references or {}, image_id, what="reference", folder=self._s.reference)
        if path is None:
            return None, None, (problem if problem.startswith("several") else None)
        self._matched.inc()
        try:
            with FileSystems.open(path) as f:
                reference = images.decode(f.read(), max_pixels=self._s.max_pixels).pixels
        except images.ImageError as e:
            return None, None, f"reference {path} is unusable ({e}): not scored against it"
        channels_in = degraded_shape[-1]
        reference = images.to_gray(reference) if channels_in == 1 else images.to_rgb(reference)
        if reference.dtype != dtype:
            reference = images.to_8bit(reference) if dtype == np.uint8 else images.from_float(images.to_float(reference), dtype)
        expected = (degraded_shape[0] * self._s.scale, degraded_shape[1] * self._s.scale)
        if reference.shape[:2] != expected:
            return None, None, (f"reference {path} is {reference.shape[1]}x{reference.shape[0]}, the restored image "
                                f"is {expected[1]}x{expected[0]}: not scored against it")
        return reference, path, None


def _read_mask(path: str, data: bytes, decoded: images.DecodedImage, max_pixels: int) -> np.ndarray:
    """The mask as HW1 uint8, 1 where any channel is nonzero (a missing pixel)."""
    try:
        pixels = images.decode(data, max_pixels=max_pixels).pixels
    except images.ImageError as e:
        raise MaskProblem(f"mask {path} is unusable: {e}") from None
    if pixels.shape[:2] != decoded.pixels.shape[:2]:
        raise MaskProblem(f"mask {path} is {pixels.shape[1]}x{pixels.shape[0]}, the image is "
                          f"{decoded.width}x{decoded.height}")
    return (pixels != 0).any(axis=-1, keepdims=True).astype(np.uint8)


CROP_SIZE = 160  # side of the report's before/after crops, in output pixels
MIN_SIDE = 4  # smaller images go to errors: the models' border handling needs a few pixels
SSIM_WINDOW = 11  # full-reference scores need the SSIM window to fit (else they are null)


def _centre_box(height: int, width: int, size: int) -> tuple[int, int, int, int]:
    crop_h, crop_w = min(height, size), min(width, size)
    return (height - crop_h) // 2, (width - crop_w) // 2, crop_h, crop_w


def _crop_at_output_size(pixels, box, scale: int) -> np.ndarray:
    """The degraded input under ``box`` (output coordinates), 8-bit, nearest-upscaled for SR
    so that the report shows the pixels the model got."""
    top, left, height, width = box
    small = pixels[top // scale : (top + height + scale - 1) // scale, left // scale : (left + width + scale - 1) // scale]
    if scale > 1:
        small = np.repeat(np.repeat(small, scale, axis=0), scale, axis=1)[:height, :width]
    return images.to_8bit(small)


def _prefixed(values: dict, suffix: str) -> dict:
    return {f"{k}_{suffix}": v for k, v in values.items()}


def _upscale_like(pixels, reference):
    """The degraded input at the reference's size (bicubic), for the 'before' score of SR."""
    if reference is None or pixels.shape[:2] == reference.shape[:2]:
        return pixels
    from pipelines.degrade import ops

    upscaled = ops.resize(images.to_float(pixels), height=reference.shape[0], width=reference.shape[1])
    return images.from_float(upscaled, pixels.dtype)


class TileImages(beam.DoFn):
    """ImageJob -> (TileKey, tile) in order; the first tile's key carries the job."""

    def __init__(self, settings: Settings):
        self._s = settings
        self._tiles = Metrics.counter("restoreflow", "tiles")

    def process(self, job: ImageJob):
        from model import tiling

        height, width = job.size_in
        try:
            plan = tiling.plan(height, width, tile_size=self._s.tile_size, overlap=self._s.overlap,
                               multiple=int(self._s.card.get("size_multiple", 1)))
        except Exception as e:  # noqa: BLE001 - see sources.unexpected
            yield beam.pvalue.TaggedOutput(ERRORS, sources.error_record(
                source=job.source, image_id=job.image_id, stage="tile", reason=sources.unexpected(e, job.image_id)))
            return
        self._tiles.inc(len(plan))
        for tile in plan:
            key = TileKey(job.image_id, tile, len(plan), job if tile.index == 0 else None)
            yield key, images.as_float(tiling.extract(job.model_input, tile))
        job.model_input = None  # the tiles hold what the model needs; free the rest early


@dataclasses.dataclass
class _Partial:
    job: ImageJob
    canvas: np.ndarray | None
    tiles: int
    received: int = 0
    failure: str | None = None


class StitchAndWrite(beam.DoFn):
    """(TileKey, PredictionResult) -> one scores row per finished image (plus errors)."""

    def __init__(self, settings: Settings):
        self._s = settings
        self._images = Metrics.counter("restoreflow", "images_restored")
        self._errors = Metrics.counter("restoreflow", "errors")

    def start_bundle(self):
        self._open: dict[str, _Partial] = {}

    def process(self, element):
        key, result = element
        scale = self._s.scale
        if key.job is not None:
            height, width = key.job.size_in
            # Without a colour conversion to follow, cores are quantized as they arrive.
            dtype = key.job.out_dtype if key.job.plan.rule == "same" else np.float32
            canvas = np.empty((height * scale, width * scale, self._s.card["channels"]), dtype)
            self._open[key.image_id] = _Partial(key.job, canvas, key.count)
        partial = self._open.get(key.image_id)
        # None: its first tile was in a batch Beam lost; RunInference's dead letters report it.
        if partial is not None:
            yield from self._add_tile(partial, key, result)

    def _add_tile(self, partial, key, result):
        from model import tiling

        scale = self._s.scale
        partial.received += 1
        if isinstance(result.inference, InferenceFailure):
            partial.failure, partial.canvas = result.inference.reason, None
        elif partial.failure is None:
            kept = tiling.core(result.inference, key.tile, scale)
            if partial.canvas.dtype != np.float32:
                kept = images.from_float(kept, partial.canvas.dtype)
            tiling.place(partial.canvas, kept, key.tile, scale)
        if partial.received == key.count:
            del self._open[key.image_id]
            if partial.failure is not None:
                self._errors.inc()
                yield beam.pvalue.TaggedOutput(ERRORS, sources.error_record(
                    source=partial.job.source, image_id=key.image_id, stage="inference", reason=partial.failure))
            else:
                yield from self._finish(partial)

    def finish_bundle(self):
        for partial in self._open.values():
            self._errors.inc()
            yield beam.pvalue.TaggedOutput(
                ERRORS,
                GlobalWindows.windowed_value(
                    sources.error_record(
                        source=partial.job.source, image_id=partial.job.image_id, stage="stitch",
                        reason="not all tiles were restored (an inference batch failed, see the error with "
                        "stage inference, or the runner split the fused stage)",
                    )
                ),
            )

    def _write_error(self, job: ImageJob, reason: str):
        self._errors.inc()
        return beam.pvalue.TaggedOutput(
            ERRORS, sources.error_record(source=job.source, image_id=job.image_id, stage="write", reason=reason)
        )

    def _finish(self, partial: _Partial):
        job, s = partial.job, self._s
        try:
            if partial.canvas.dtype == np.float32:
                pixels = images.from_float(channels.from_model(partial.canvas, job.plan, s.scale), job.out_dtype)
            else:
                pixels = partial.canvas
            alpha = job.alpha
            if alpha is not None and s.scale > 1:
                alpha = _resize_alpha(alpha, pixels.shape[:2])
            path, output_sha256 = output_path(s, job.image_id), None
            if s.write_images:
                data = images.encode(pixels, format=job.out_format, alpha=alpha, icc_profile=job.icc_profile)
                output_sha256 = hashlib.sha256(data).hexdigest()  # what a rerun checks the file against
                _write_atomically(path, data, s.run_id)
            crop_path = FileSystems.join(s.output, "crops", s.key, job.image_id + ".png")
            _write_atomically(crop_path, _crop_pair(job, pixels), s.run_id)
            after = {
                **_prefixed(score_pair(job.reference, pixels, task=s.task, sr_factor=s.sr_factor), "restored"),
                **_prefixed(no_reference(pixels), "restored"),
            }
        except (images.ImageError, OSError, ValueError) as e:
            yield self._write_error(job, str(e))
            return
        except Exception as e:  # noqa: BLE001 - see sources.unexpected
            yield self._write_error(job, sources.unexpected(e, job.image_id))
            return
        self._images.inc()
        yield report.row(
            image_id=job.image_id,
            source=job.source,
            status="restored",
            run_id=s.run_id,
            settings_key=s.key,
            model_id=s.card["model_id"],
            task=s.task,
            width_in=job.size_in[1],
            height_in=job.size_in[0],
            width_out=pixels.shape[1],
            height_out=pixels.shape[0],
            channels=pixels.shape[-1],
            bit_depth=16 if pixels.dtype == np.uint16 else 8,
            has_alpha=alpha is not None,
            source_mode=job.source_mode,
            format_in=job.format_in,
            format_out=job.out_format,
            output_path=path if s.write_images else None,
            output_sha256=output_sha256,
            crop_path=crop_path,
            reference=job.reference_kind,
            tiles=partial.tiles,
            seconds=round(time.time() - job.started, 4),
            **job.recorded,
            **job.before,
            **after,
        )


def inference_error_records(failure) -> list[dict]:
    """A failed inference batch -> one error per image it held tiles of."""
    batch, error = failure
    # Beam hands over (exception type, repr, traceback lines) rather than the exception.
    reason = str(error[1]) if isinstance(error, tuple) and len(error) > 1 else f"{type(error).__name__}: {error}"
    seen = {}
    for key, _ in batch:
        seen.setdefault(key.image_id, key)
    return [
        sources.error_record(source=key.job.source if key.job else key.image_id, image_id=image_id,
                             stage="inference", reason=reason)
        for image_id, key in seen.items()
    ]


def _crop_pair(job: ImageJob, restored: np.ndarray) -> bytes:
    """degraded | restored side by side, then the reference when there is one, as a small
    8-bit PNG."""
    top, left, height, width = job.crop_box

    def at_box(pixels):
        return images.to_8bit(pixels[top : top + height, left : left + width])

    panels = [job.crop_before, at_box(restored)]
    if job.reference is not None and job.reference.shape[:2] == restored.shape[:2]:
        panels.append(at_box(job.reference))
    if len({p.shape[-1] for p in panels}) > 1:
        panels = [images.to_rgb(p) for p in panels]
    gap = np.full((height, 4, panels[0].shape[-1]), 255, np.uint8)
    joined = [part for panel in panels for part in (gap, panel)][1:]
    return images.encode(np.concatenate(joined, axis=1), format="PNG")


def _resize_alpha(alpha, size):
    from PIL import Image

    if alpha.dtype == np.uint16:
        resized = Image.fromarray(alpha[..., 0], mode="I;16").resize((size[1], size[0]), Image.BICUBIC)
    else:
        resized = Image.fromarray(alpha[..., 0]).resize((size[1], size[0]), Image.BICUBIC)
    return np.asarray(resized).astype(alpha.dtype)[..., None]


def _write_atomically(path: str, data: bytes, run_id: str) -> None:
    """Writes under a temporary name, then renames over the final name (an atomic replace
    locally, copy-then-delete on object stores), so a killed run never leaves a partial file
    under the final name nor removes the previous one."""
    temporary = rerun.partial_name(path, run_id)
    with FileSystems.create(temporary) as f:
        f.write(data)
    FileSystems.rename([temporary], [path])


def build(pipeline, *, specs, settings: Settings, max_bytes: int):
    """Adds job 3 to ``pipeline``; returns (rows, errors)."""
    from apache_beam.ml.inference.base import KeyedModelHandler, RunInference

    images_in, input_errors = pipeline | "Read inputs" >> sources.ReadImages(specs, max_bytes, settings.output_format)
    companions = {
        name: beam.pvalue.AsDict(pipeline | f"List {name}" >> matching.CompanionIndex(folder)) if folder else None
        for name, folder in (("masks", settings.masks), ("references", settings.reference))
    }
    prepared = images_in | "Prepare" >> beam.ParDo(
        PrepareImages(settings), done=previous_results(pipeline, settings), **companions
    ).with_outputs(ERRORS, PrepareImages.SKIPPED, main="jobs")
    handler = KeyedModelHandler(
        TileModelHandler(settings.model_dir, batch_size=settings.batch_size, tf_threads=settings.tf_threads,
                         engine=settings.engine)
    )
    tiled = prepared.jobs | "Tile" >> beam.ParDo(TileImages(settings)).with_outputs(ERRORS, main="tiles")
    inferred, failed = tiled.tiles | "Restore tiles" >> RunInference(handler).with_exception_handling()
    stitched = inferred | "Stitch, write, score" >> beam.ParDo(StitchAndWrite(settings)).with_outputs(ERRORS, main="rows")
    inference_errors = failed.failed_inferences | "Inference errors" >> beam.FlatMap(inference_error_records)
    errors = (
        (input_errors, prepared[ERRORS], tiled[ERRORS], inference_errors, stitched[ERRORS])
        | "All errors" >> beam.Flatten()
    )
    rows = (stitched.rows, prepared[PrepareImages.SKIPPED]) | "All rows" >> beam.Flatten()
    run_dir = FileSystems.join(settings.output, "scores", settings.run_id)
    written = rows | "Write scores" >> beam.io.WriteToParquet(
        FileSystems.join(run_dir, "part"), report.SCHEMA, file_name_suffix=".parquet"
    )
    error_files = (
        errors
        | "Errors to JSON" >> beam.Map(json.dumps, sort_keys=True)
        | "Write errors"
        >> beam.io.WriteToText(
            FileSystems.join(settings.output, "errors", settings.run_id, "errors"), file_name_suffix=".jsonl",
            num_shards=1,
        )
    )
    _ = (
        pipeline
        | "Summary trigger" >> beam.Create([None])
        | "Write summary"
        >> beam.Map(_write_summary, settings=settings, scores=beam.pvalue.AsList(written),
                    errors_written=beam.pvalue.AsList(error_files))
    )
    return rows, errors


def _write_summary(_, settings: Settings, **written) -> dict:
    """Once every score and error file is written: the run's summary, with advice on the
    inputs (pipelines.guidance), and the report."""
    advise = functools.partial(guidance.advise, card=settings.card, model=settings.model_dir,
                               paired=settings.degrade is not None)
    return report.write_run_summary(settings.output, settings.run_id, settings.card["model_id"], advise=advise)


def previous_results(pipeline, settings: Settings):
    """The newest restored row of every image id over all earlier finished runs, as a side
    input {image_id: row} for rerun.decide."""
    pattern = FileSystems.join(settings.output, "scores", "*", "*.parquet")
    files = [] if settings.force else [m.path for m in FileSystems.match([pattern])[0].metadata_list]
    return beam.pvalue.AsDict(pipeline | "Earlier runs" >> rerun.PreviousResults(files))


def resolve_settings(options) -> tuple[Settings, list]:
    """Checks the flags against the model and the inputs before anything runs."""
    from model.export import check_model_file, read_card

    flags = options.view_as(job_options.RestoreOptions)
    common = options.view_as(job_options.InputOptions)
    job_options.check_output_folder(common.output)
    # A bundled name stays a name: the workers find it in their own installed package.
    model_dir = flags.model or zoo.DEFAULT
    try:
        card = read_card(zoo.resolve(model_dir))
        check_model_file(zoo.resolve(model_dir))
    except ConfigError as e:
        raise ConfigError(f"--model: {e}") from None
    degrade = recipes.load(flags.degrade) if flags.degrade else None
    if degrade is not None and degrade.scale != card["scale"]:
        raise ConfigError(
            f"--degrade {degrade.name} shrinks images by {degrade.scale} but the model scales by {card['scale']}"
        )
    _check_companions(flags, card, degrade)
    fmt = flags.format if flags.format == "keep" else flags.format.upper()
    if fmt != "keep" and fmt not in outputs.WRITABLE_FORMATS:
        raise ConfigError(f"--format {flags.format}: choose keep or one of {', '.join(outputs.WRITABLE_FORMATS)}")
    overlap = card["receptive_field_radius"] if flags.overlap < 0 else flags.overlap
    multiple = int(card.get("size_multiple", 1))
    if flags.tile_size - 2 * overlap < multiple:
        raise ConfigError(
            f"--tile_size {flags.tile_size} leaves no tile core: it must be at least twice the overlap "
            f"({overlap}) plus the model's size multiple ({multiple})"
        )
    if overlap < card["receptive_field_radius"]:
        log.warning("overlap %d is below the model's receptive-field radius %d: tiles may show seams",
                    overlap, card["receptive_field_radius"])
    threads = flags.tf_threads or default_tf_threads(options)
    settings = Settings(
        model_dir=model_dir,
        card=card,
        output=common.output.rstrip("/"),
        run_id=datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6],
        tile_size=flags.tile_size,
        overlap=overlap,
        batch_size=flags.batch_size,
        tf_threads=threads,
        output_format=fmt,
        degrade=degrade,
        seed=common.seed,
        reference=flags.reference,
        max_pixels=common.max_pixels,
        write_images=flags.write_images == "all",
        force=flags.force,
        masks=flags.masks and flags.masks.rstrip("/"),
        max_bytes=common.max_bytes,
        engine=flags.engine,
    )
    specs = [sources.resolve(given) for given in common.input]
    for spec in specs:
        sources.check_exists(spec)
    return settings, specs


def _check_companions(flags, card: dict, degrade) -> None:
    """--masks, --reference and --degrade against each other and the model."""
    if flags.masks and not card["takes_mask"]:
        raise ConfigError(f"--masks is for inpainting models; the model's task is {card['task']}")
    if flags.masks and degrade is not None:
        raise ConfigError("--degrade makes its own masks; drop --masks")
    if card["takes_mask"] and not flags.masks and (degrade is None or not degrade.has_mask):
        raise ConfigError("this inpainting model needs masks: pass --masks DIR (masks matched to the inputs by "
                          "relative path and file stem), or --degrade with an inpaint recipe")
    if flags.degrade and flags.reference:
        raise ConfigError("--degrade scores against the inputs themselves; drop --reference")
    for flag, folder in (("--masks", flags.masks), ("--reference", flags.reference)):
        if folder:
            try:
                sources.check_exists(sources.resolve(folder))
            except sources.InputError as e:
                raise ConfigError(str(e).replace("--input", flag, 1)) from None


def default_tf_threads(options) -> int:
    """Cores per local worker process; on remote runners 1, since they start one SDK process
    per core, unless the job asks for a single SDK process per VM (0: TensorFlow's own pools)."""
    from apache_beam.options.pipeline_options import DebugOptions

    if job_options.is_local(options):
        return max(1, _cpu_count() // job_options.worker_count(options))
    if "no_use_multiple_sdk_containers" in (options.view_as(DebugOptions).experiments or []):
        return 0
    return 1


def _cpu_count() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def build_pipeline(argv: list[str], *, tracker: progress.Tracker | None = None) -> tuple[beam.Pipeline, Settings]:
    """Checks the flags, model and inputs and constructs job 3's pipeline without running it;
    on a local runner, ``tracker`` follows the images as they finish."""
    options = job_options.parse(argv, job_options.RestoreOptions)
    settings, specs = resolve_settings(options)
    max_bytes = options.view_as(job_options.InputOptions).max_bytes
    log.info("restore: model %s (%s)%s", settings.model_dir, settings.card["model_id"],
             f": {settings.card['purpose']}" if settings.card.get("purpose") else "")
    log.info("restore: run %s, tiles %d px with %d px overlap", settings.run_id, settings.tile_size, settings.overlap)
    pipeline = beam.Pipeline(options=options)
    rows, errors = build(pipeline, specs=specs, settings=settings, max_bytes=max_bytes)
    if tracker is not None and job_options.is_local(options):
        listings = [sources.list_files(spec) for spec in specs]
        total = sum(progress.count_images(listing.files) + len(listing.problems) for listing in listings)
        tracker.follow(rows, errors, total=total, megapixels=_input_megapixels)
    return pipeline, settings


def _input_megapixels(row_or_error: dict) -> float:
    return (row_or_error.get("width_in") or 0) * (row_or_error.get("height_in") or 0) / 1e6


def run(argv=None) -> dict:
    """Runs job 3 to completion (with a progress line on local runners); returns the run's
    summary, its "output" folder, the Beam counters of the run under "counters" (e.g.
    images_restored, images_skipped, images_redone, tiles, num_inferences) and "warnings"."""
    tracker = progress.Tracker("restore")
    pipeline, settings = build_pipeline(list(sys.argv[1:] if argv is None else argv), tracker=tracker)
    with lock.held(settings.output, settings.run_id), tracker:
        if rerun.remove_partials(settings.output):
            log.info("removed the temporary files of a run killed before it finished")
        result = pipeline.run()
        result.wait_until_finish()
    summary = report.read_run_summary(settings.output, settings.run_id)
    counters = _counters(result)
    return {**summary, "output": settings.output, "counters": counters, "warnings": _warnings(settings, counters)}


def _warnings(settings: Settings, counters: dict) -> list[str]:
    if settings.reference and counters.get("images_prepared") and not counters.get("references_matched"):
        return [f"no input matched a reference in {settings.reference} (references match by relative path and file "
                f"stem: a/b.jpg <-> {settings.reference}/a/b.png)"]
    return []


def exit_status(summary: dict) -> int:
    """0 for a completed run; 1 when it restored nothing and rejected everything."""
    counts = summary["counts"]
    return 1 if counts.get("error") and not counts.get("restored") and not counts.get("skipped") else 0


def _counters(result) -> dict:
    from apache_beam.metrics.metric import MetricsFilter

    counters = {}
    for counter in result.metrics().query(MetricsFilter().with_namespace("restoreflow"))["counters"]:
        name = counter.key.metric.name
        counters[name] = counters.get(name, 0) + (counter.committed or counter.attempted or 0)
    return counters


@user_errors("restoreflow restore", job_options.FlagError, sources.InputError, failures=(lock.OutputLocked,))
def main(argv: list[str]) -> int:
    if {"-h", "--help"} & set(argv):
        flags.job_help_parser("restore").print_help()
        return 0
    verbose, argv = take_verbose_flag(argv)
    setup_logging(verbose)
    summary = run(argv)
    for warning in summary["warnings"]:
        print(f"restoreflow restore: warning: {warning}", file=sys.stderr)
    print(report.summary_line(summary, summary["output"]))
    for advice in summary.get("guidance", []):
        print(f"note: {advice}")
    return exit_status(summary)


if __name__ == "__main__":
    sys.exit(main())
