"""The first step of an image: decide whether it is done, decode it, make what the model gets.

Paired mode (``--degrade``) degrades the clean input exactly as job 1 does for a whole image
(patch size 0, patch index 0) and scores against the clean input; otherwise the input is
scored against its ``--reference`` when one matches. The model gets the image in its own
channels (``pipelines.imaging.channels``), with the mask as an extra channel for inpainting.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time

import apache_beam as beam
import numpy as np
from apache_beam.metrics import Metrics

from pipelines.degrade import pairs
from pipelines.diagnose.diagnoser import Diagnoser
from pipelines.imaging import channels, images
from pipelines.inputs import outputs, sources
from pipelines.restore import companions, quality, rerun
from pipelines.restore.errors import Rejected
from pipelines.restore.settings import Settings
from pipelines.restore.values import Chosen, ImageMeta, Prepared, Recorded, Unchanged
from restoreflow import routing
from restoreflow.diagnosis import Diagnosis
from restoreflow.scores import ScoreRow

SKIPPED = "skipped"
UNCHANGED = "unchanged"
FORESEEN = (images.ImageError, pairs.TooSmall)  # problems of the input: their message is the reason
MIN_SIDE = 4  # smaller images go to errors: the models' border handling needs a few pixels


@dataclasses.dataclass(frozen=True)
class Pixels:
    """What the model gets and what the output is scored against, before channels and tiles."""

    degraded: np.ndarray  # the input as the model sees it (masked pixels 0 for inpainting)
    out_dtype: np.dtype
    mask: np.ndarray | None  # HW1 uint8, 1 = missing
    alpha: np.ndarray | None
    reference: np.ndarray | None
    reference_kind: str | None
    note: str | None  # e.g. why a reference was not used


@beam.typehints.with_output_types(Prepared, skipped=ScoreRow, unchanged=Unchanged)
class PrepareImages(beam.DoFn):
    """ImageBytes -> Prepared; or a "skipped" ScoreRow (tag SKIPPED) when the same bytes (and
    mask) were restored with the same settings and the output on disk is still what was
    recorded (see rerun); or an Unchanged image (tag UNCHANGED) that no model is to touch
    (--model auto found no damage, or --strength 0). Raises on a bad input (see errors)."""

    def __init__(self, settings: Settings):
        self._s = settings
        self._skipped = Metrics.counter("restoreflow", "images_skipped")
        self._redone = Metrics.counter("restoreflow", "images_redone")
        self._replaced = Metrics.counter("restoreflow", "images_replaced")
        self._prepared = Metrics.counter("restoreflow", "images_prepared")
        self._diagnoser = None

    def setup(self):
        if diagnoses(self._s):
            self._diagnoser = Diagnoser(engine=self._s.engine, threads=self._s.tf_threads)

    def process(self, item: sources.ImageBytes, done=None, masks=None, references=None):
        s, started = self._s, time.time()
        mask_path, mask_data = self._mask_file(item.image_id, masks)
        recorded = Recorded(_sha256(item.data), None if mask_data is None else _sha256(mask_data))
        previous = (done or {}).get(item.image_id)
        chosen = self._chosen_before(previous, recorded)
        decoded = pixels = None
        if chosen is None:  # no stored diagnosis of these bytes (auto, or a level model): look at them
            decoded, pixels = self._pixels(item, mask_path, mask_data, references)
            chosen = chosen_for(s, self._diagnoser.diagnose(pixels.degraded))
        skip, redone = rerun.decide(previous, settings_key=chosen.settings_key,
                                    content_sha256=recorded.content_sha256, mask_sha256=recorded.mask_sha256)
        if skip:
            self._skipped.inc()
            yield beam.pvalue.TaggedOutput(SKIPPED, skipped_row(item, recorded, previous, chosen, s))
            return
        if decoded is None:
            decoded, pixels = self._pixels(item, mask_path, mask_data, references)
        note = "; ".join(note for note in (decoded.note, pixels.note) if note) or None
        recorded = dataclasses.replace(recorded, redone=redone, note=note)
        prepared = prepare(item, decoded, pixels, recorded, started, chosen, s)
        self._prepared.inc()
        self._redone.inc(1 if redone in (rerun.MISSING, rerun.CHANGED) else 0)
        self._replaced.inc(1 if redone == rerun.REPLACED else 0)
        if chosen.model == routing.COPY:
            yield beam.pvalue.TaggedOutput(UNCHANGED, unchanged(item, decoded, pixels, prepared.meta, s))
        else:
            yield prepared

    def _pixels(self, item, mask_path, mask_data, references) -> tuple[images.DecodedImage, Pixels]:
        s = self._s
        decoded = images.decode(item.data, max_pixels=s.max_pixels)
        if s.degrade:
            return decoded, paired_pixels(item.image_id, decoded, s)
        mask = mask_path and companions.decode_mask(mask_path, mask_data, decoded.pixels.shape,
                                                    max_pixels=s.max_pixels)
        return decoded, given_pixels(item.image_id, decoded, mask, references or {}, s)

    def _chosen_before(self, previous: dict | None, recorded: Recorded) -> Chosen | None:
        """The model for this image when it is known without reading it: always for one model
        that needs no diagnosis; with --model auto or a denoiser told its noise level, from the
        diagnosis an earlier run stored for the same bytes with the same diagnosis model (a
        diagnosis is a function of both). Paired mode degrades afresh with its seed, so it
        always looks again."""
        s = self._s
        if not diagnoses(s):
            return chosen_for(s, None)
        if previous is None or s.degrade or previous["content_sha256"] != recorded.content_sha256:
            return None
        diagnosis = Diagnosis.from_columns(previous)
        if diagnosis is None or diagnosis.estimator != self._diagnoser.estimator:
            return None
        return chosen_for(s, diagnosis)

    def _mask_file(self, image_id: str, masks) -> tuple[str | None, bytes | None]:
        """Read on every run: the mask's hash is part of what makes an image done."""
        if not self._s.masks:
            return None, None
        return companions.mask_file(masks or {}, image_id, folder=self._s.masks, max_bytes=self._s.max_bytes)


def diagnoses(s: Settings) -> bool:
    """Whether each image is diagnosed: to choose its model (--model auto), or to tell a
    denoiser the noise level to remove."""
    return s.auto or s.takes_noise_level


def chosen_for(s: Settings, diagnosis: Diagnosis | None) -> Chosen:
    """The model an image goes to: --model's, or with --model auto its diagnosis's choice;
    --strength 0 writes every image unchanged. A denoiser told its noise level gets the
    diagnosed sigma times --strength (FFDNet's control: a smaller sigma keeps more)."""
    if s.strength == 0:
        return Chosen(routing.COPY, routing.COPY, s.key_for(routing.COPY), "--strength 0", diagnosis)
    if s.auto:
        choice = routing.choose(diagnosis)
        model, reason = choice.model, choice.reason
        model_id, weights_sha256, told = s.auto_models.get(choice.model, (routing.COPY, "", False))
    else:
        model, reason = s.model_dir, None
        model_id, weights_sha256, told = s.model_id, s.weights_sha256, s.takes_noise_level
    if not told:  # one model's key is computed once per process (Settings.key)
        return Chosen(model, model_id, s.key_for(model_id, weights_sha256) if s.auto else s.key, reason, diagnosis)
    sigma = told_sigma(diagnosis, s.strength)
    return Chosen(model, model_id, s.key_for(model_id, weights_sha256, noise_sigma=sigma),
                  reason or f"noise sigma {sigma} told", diagnosis, sigma / 255)


def told_sigma(diagnosis: Diagnosis, strength: float) -> float:
    """The noise sigma a level model is given: the diagnosed one times --strength, rounded to
    a tenth (what the settings key records, so a rerun redoes exactly the images it moves)."""
    return round(diagnosis.noise_sigma * strength, 1)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def skipped_row(item: sources.ImageBytes, recorded: Recorded, previous: dict, chosen: Chosen,
                s: Settings) -> ScoreRow:
    return ScoreRow(
        image_id=item.image_id, source=item.source, status="skipped", run_id=s.run_id,
        settings_key=chosen.settings_key, model_id=chosen.model_id, task=s.task, output_path=previous["output_path"],
        output_sha256=previous["output_sha256"], crop_path=previous["crop_path"],
        content_sha256=recorded.content_sha256, mask_sha256=recorded.mask_sha256, **choice_columns(chosen, s),
    )


def choice_columns(chosen: Chosen, s: Settings) -> dict:
    """The scores row's chosen_model ... diagnosis_* columns (null for a run with one model at
    full strength)."""
    if not diagnoses(s) and s.strength == 1.0:
        return {}
    columns = {"chosen_model": chosen.model, "choice_reason": chosen.reason, "strength": s.strength}
    return {**columns, **(chosen.diagnosis.to_columns() if chosen.diagnosis else {})}


def unchanged(item: sources.ImageBytes, decoded: images.DecodedImage, px: Pixels, meta: ImageMeta,
              s: Settings) -> Unchanged:
    """The input to write as it is: its bytes when the output keeps the input's format and
    they are what was scored (not paired mode, no mask applied), else its pixels."""
    as_given = not s.degrade and px.mask is None and meta.out_format == decoded.format
    return Unchanged(meta, in_output_dtype(px), item.data if as_given else None)


def in_output_dtype(px: Pixels) -> np.ndarray:
    """The input as the output file holds it (what 'before' is scored on, and what an
    unchanged image is written as)."""
    if px.degraded.dtype == px.out_dtype:
        return px.degraded
    return images.from_float(images.as_float(px.degraded), px.out_dtype)


def paired_pixels(image_id: str, decoded: images.DecodedImage, s: Settings) -> Pixels:
    """Paired mode: the degradation job 1 makes for the whole image, scored against the clean."""
    clean = pairs.prepare_clean(decoded.pixels, s.degrade)
    pair = next(pairs.make_pairs(clean, recipe=s.degrade, settings=pairs.PatchSettings(patch_size=0), seed=s.seed,
                                 image_id=image_id))
    return Pixels(pair.degraded, clean.dtype, pair.mask, None, pair.clean, "paired", None)


def given_pixels(image_id: str, decoded: images.DecodedImage, mask, references: dict, s: Settings) -> Pixels:
    """The input as given (holes zeroed where the mask says), and its --reference if any."""
    degraded = decoded.pixels if mask is None else np.where(mask.astype(bool), 0, decoded.pixels)
    reference, kind, note = None, None, None
    if s.reference:
        reference, kind, note = companions.reference_for(references, image_id, folder=s.reference, like=degraded,
                                                         scale=s.scale, max_pixels=s.max_pixels)
    return Pixels(degraded, degraded.dtype, mask, decoded.alpha, reference, kind, note)


def model_input(px: Pixels, s: Settings) -> channels.ChannelPlan:
    """The degraded pixels in the model's channels (+ the mask channel for inpainting)."""
    degraded = px.degraded
    # Same channels, or gray into a colour model: the model input stays in its stored dtype and
    # channels, and tiles become float (and colour) one at a time (pipelines.restore.tiles): a
    # quarter of the memory for 8-bit images, a twelfth for gray ones.
    if degraded.shape[-1] == 1 and s.model_channels == 3 and not s.takes_mask:
        return channels.ChannelPlan(degraded, "replicate")
    native = degraded.shape[-1] == s.model_channels and not s.takes_mask
    plan = channels.to_model(degraded if native else images.as_float(degraded), s.model_channels)
    if s.takes_mask:
        with_mask = np.concatenate([plan.model_input, px.mask.astype(np.float32)], axis=-1)
        plan = dataclasses.replace(plan, model_input=with_mask)
    return plan


def prepare(item: sources.ImageBytes, decoded: images.DecodedImage, px: Pixels, recorded: Recorded, started: float,
            chosen: Chosen, s: Settings) -> Prepared:
    """The image's metadata (with its 'before' scores and crop) and its model input."""
    degraded = px.degraded
    if min(degraded.shape[:2]) < MIN_SIDE:
        raise Rejected(f"image is {degraded.shape[1]}x{degraded.shape[0]}, too small to restore "
                       f"(sides of at least {MIN_SIDE} pixels)")
    out_format = outputs.output_format(item.image_id, s.output_format, decoded.format)
    if s.write_images:  # refused now rather than after inference
        images.check_writable(out_format, dtype=px.out_dtype, has_alpha=px.alpha is not None,
                              metadata=decoded.metadata)
    plan = model_input(px, s)
    as_output = in_output_dtype(px)
    crop_box = quality.centre_box(degraded.shape[0] * s.scale, degraded.shape[1] * s.scale)
    meta = ImageMeta(
        image_id=item.image_id, source=item.source, recorded=recorded, started=started, size_in=degraded.shape[:2],
        format_in=decoded.format, source_mode=decoded.source_mode,
        channel_plan=dataclasses.replace(plan, model_input=None), out_dtype=px.out_dtype,
        out_format=out_format, alpha=px.alpha, metadata=decoded.metadata,
        icc_profile=decoded.icc_profile, reference=px.reference, reference_kind=px.reference_kind,
        before={**quality.full_reference(px.reference, quality.upscale_like(as_output, px.reference),
                                         role="degraded", task=s.task, sr_factor=s.sr_factor),
                **quality.no_reference(as_output, role="degraded")},
        crop_box=crop_box, crop_before=quality.crop_at_output_size(as_output, crop_box, s.scale), chosen=chosen,
    )
    return Prepared(meta, np.ascontiguousarray(plan.model_input))
