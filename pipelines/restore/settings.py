"""The restore job's settings: its flags checked against the model and the inputs, once, before
anything runs. ``Settings`` is the only reader of the model card in the job (its properties)."""

from __future__ import annotations

import dataclasses
import datetime
import functools
import hashlib
import json
import logging
import os
import uuid

from model import engines, tiling
from pipelines.degrade import recipe as recipes
from pipelines.imaging import images
from pipelines.inputs import outputs, scope as input_scope, sources
from pipelines.restore import models
from pipelines.runtime import options as job_options
from restoreflow import card as card_rules, routing, zoo
from restoreflow.configs import ConfigError, to_plain

log = logging.getLogger("restoreflow.restore")


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything the workers need, resolved once when the pipeline is built."""

    model_dir: str  # a bundled model's name or a model directory (see restoreflow.zoo)
    card: dict  # model.json, read through the properties below
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
    # in the key when bf16: its outputs differ from f32's by more; "auto" stays auto only for
    # remote workers, which choose for themselves (a local run resolves it here)
    precision: str = "f32"
    weights_sha256: str = ""  # of model.keras: new weights beside an unchanged model.json redo every image
    strength: float = 1.0  # in the key when below 1
    tile_memory_mb: int = 640  # the engine's memory for a batch: sets tile sizes and batch_pixels
    auto_models: dict = dataclasses.field(default_factory=dict)  # --model auto: name -> (model_id, weights_sha256)
    job: str = "restore"  # or stylize: the same job with a style model (task style)
    keep_colors: bool = False  # stylize: the style's luminance, each input's chroma; in the key when set
    png_compress_level: int = images.FAST_PNG_COMPRESS_LEVEL  # not in the key: the same pixels at every level
    fill_steps: int = 25  # a generator as --model: its fill's sampler steps and resampling (in the key)
    fill_resample: int = 2

    @property
    def auto(self) -> bool:
        """--model auto: each image goes to the bundled model its diagnosis picks."""
        return self.model_dir == routing.AUTO

    # --- the model card -------------------------------------------------------------------
    @property
    def model_id(self) -> str:
        return self.card["model_id"]

    @property
    def model_task(self) -> str:
        return self.card["task"]

    @property
    def model_channels(self) -> int:
        return int(self.card["channels"])

    @property
    def fills(self) -> bool:  # a generator given to restore fills the masks' holes (generated fill)
        return self.model_task == card_rules.GENERATOR_TASK

    @property
    def takes_mask(self) -> bool:
        return bool(self.card["takes_mask"]) or self.fills

    @property
    def model_width(self) -> int:
        """Filters of the model's first convolution; a model of one's own without them: 64."""
        return int((self.card.get("architecture") or {}).get("args", {}).get("width", 64))

    @property
    def batch_pixels(self) -> int:
        """Most tile pixels per inference batch: what --tile_memory_mb holds for this model."""
        return int(tiling.pixels_for_budget(self.tile_memory_mb << 20, width=self.model_width))

    @property
    def scale(self) -> int:
        return int(self.card["scale"])

    @property
    def size_multiple(self) -> int:
        return int(self.card.get("size_multiple", 1))

    @property
    def receptive_field_radius(self) -> int:
        return int(self.card["receptive_field_radius"])

    @property
    def purpose(self) -> str | None:
        return self.card.get("purpose")

    @property
    def takes_noise_level(self) -> bool:  # a denoiser told the sigma to remove (FFDNet's map)
        return bool(self.card.get("takes_noise_level"))

    # --- derived ----------------------------------------------------------------------------
    @property
    def task(self) -> str:
        """The task the scores follow: the degradation's in paired mode, else the model's."""
        return self.degrade.task if self.degrade else self.model_task

    @property
    def sr_factor(self) -> int:
        """Border pixels the super-resolution scores crop."""
        return self.degrade.sr_factor if self.degrade else self.scale

    @functools.cached_property  # computed once per process, not once per image
    def key(self) -> str:
        """Identifies what a restored output and its scores depend on besides the input's bytes."""
        return self.key_for(self.model_id, self.weights_sha256)

    def key_for(self, model_id: str, weights_sha256: str = "", *, noise_sigma: float | None = None) -> str:
        """The key of an image restored by ``model_id`` with these weights (with --model auto,
        each image's own; "copy" for an image written unchanged), told ``noise_sigma`` if a level model."""
        parts = {
            "model_id": model_id,  # the card's: a copied card does not vouch for other weights
            "weights_sha256": weights_sha256,
            "tile_size": self.tile_size,
            "overlap": self.overlap,
            "format": self.output_format,
            "degrade": self.degrade and to_plain(self.degrade),
            "seed": self.seed if self.degrade else None,
            "reference": self.reference,
            "write_images": self.write_images,
        }
        if self.precision != "f32":  # f32 keys stay those of runs from before the flag existed
            parts["precision"] = self.precision
        if self.strength != 1.0 and model_id != routing.COPY:  # likewise; a copy is a copy at any strength
            parts["strength"] = self.strength
        if noise_sigma is not None:
            parts["noise_sigma"] = noise_sigma
        if self.keep_colors and model_id != routing.COPY:
            parts["keep_colors"] = True
        if self.fills:
            parts["fill"] = {"sampler": "repaint-heun", "steps": self.fill_steps, "resample": self.fill_resample}
        return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def new_run_id() -> str:
    """The UTC start time (the report sorts runs by it) and a random suffix."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


def resolve_settings(options, *, job: str = "restore") -> Settings:
    """Checks the flags against the model before anything runs (ConfigError or FlagError)."""
    flags = options.view_as(job_options.RestoreOptions)
    keep_colors = job == "stylize" and options.view_as(job_options.StylizeOptions).keep_colors
    common = options.view_as(job_options.InputOptions)
    job_options.check_output_folder(common.output)
    # A bundled name stays a name: the workers find it in their own installed package.
    model_dir = flags.model or models.default_model(common.output.rstrip("/"))
    degrade = recipes.load(flags.degrade) if flags.degrade else None
    if model_dir == routing.AUTO and os.path.isdir(routing.AUTO):
        raise ConfigError("--model auto is the automatic choice, but a folder ./auto is here too: for the "
                          "folder pass --model ./auto")
    if not 0.0 <= flags.strength <= 1.0:
        raise ConfigError(f"--strength {flags.strength}: must lie within 0..1 (0 = inputs unchanged, 1 = full)")
    auto_models = models.auto_models() if model_dir == routing.AUTO else {}
    settings = Settings(
        model_dir=model_dir, card=models.read_card(zoo.DEFAULT if auto_models else model_dir),
        weights_sha256="" if auto_models else models.weights_sha256(model_dir), strength=flags.strength,
        auto_models=auto_models, output=common.output.rstrip("/"), run_id=new_run_id(),
        tile_size=flags.tile_size, overlap=flags.overlap, batch_size=flags.batch_size, tf_threads=flags.tf_threads,
        output_format=_output_format(flags.format), degrade=degrade, seed=common.seed, reference=flags.reference,
        max_pixels=common.max_pixels, write_images=flags.write_images == "all", force=flags.force,
        masks=flags.masks and flags.masks.rstrip("/"), max_bytes=common.max_bytes, engine=flags.engine,
        precision=flags.precision, tile_memory_mb=flags.tile_memory_mb, job=job, keep_colors=keep_colors,
        png_compress_level=flags.png_compress_level, fill_steps=flags.fill_steps, fill_resample=flags.fill_resample,
    )
    if settings.overlap < 0:  # the flag's -1: the measured seam-free overlap
        settings = dataclasses.replace(settings, overlap=models.seam_free_overlap(settings))
    if not settings.tile_size:  # the flag's 0: the largest tile that fits --tile_memory_mb alone
        settings = dataclasses.replace(settings, tile_size=budget_tile_size(settings))
    if not settings.tf_threads:
        settings = dataclasses.replace(settings, tf_threads=default_tf_threads(options))
    _check_against_model(settings)
    _check_companions(settings)
    settings = _resolved_precision(settings, here=job_options.is_local(options))
    _check_precision(settings, here=job_options.is_local(options))
    if not settings.auto:  # the bundled models auto picks from are checked by their own tests
        models.check_model_loads(settings.model_dir, settings.tf_threads, in_process=job_options.in_process(options),
                                 engine=settings.engine, card=settings.card)
    return settings


def budget_tile_size(s: Settings) -> int:
    """The side of the largest tile that fits ``--tile_memory_mb`` alone (see
    ``model.tiling.size_for_budget``); batches then take as many tiles as fit (batch_pixels)."""
    return tiling.size_for_budget(s.tile_memory_mb << 20, width=s.model_width, batch=1, overlap=s.overlap,
                                  multiple=s.size_multiple)


def input_specs(options) -> list[sources.InputSpec]:
    """The --input flags, each checked to exist, listed once and never reading --output."""
    common = options.view_as(job_options.InputOptions)
    specs = input_scope.resolve_inputs(common.input, common.output)
    for spec in specs:
        sources.check_exists(spec)
    return specs


def _output_format(given: str) -> str:
    fmt = given if given == "keep" else given.upper()
    if fmt != "keep" and fmt not in outputs.WRITABLE_FORMATS:
        raise ConfigError(f"--format {given}: choose keep or one of {', '.join(outputs.WRITABLE_FORMATS)}")
    return fmt


def _check_against_model(s: Settings) -> None:
    models.check_model_kind(s)
    if s.strength not in (0.0, 1.0) and (s.scale != 1 or s.takes_mask):
        raise ConfigError(f"--strength {s.strength} blends the input with the output, which needs a model that "
                          f"keeps the size and takes no mask (this one: scale {s.scale}, task {s.model_task})")
    if s.auto and s.masks:
        raise ConfigError("--model auto does not inpaint: restore masked images with --model inpaint --masks DIR")
    if s.degrade is not None and s.degrade.scale != s.scale:
        raise ConfigError(f"--degrade {s.degrade.name} shrinks images by {s.degrade.scale} but the model scales by "
                          f"{s.scale}")
    if s.tile_size - 2 * s.overlap < s.size_multiple:
        raise ConfigError(
            f"--tile_size {s.tile_size} leaves no tile core: it must be at least twice the overlap "
            f"({s.overlap}) plus the model's size multiple ({s.size_multiple})"
        )
    seam_free = models.seam_free_overlap(s)
    if s.overlap < seam_free:
        log.warning("overlap %d is below the model's seam-free overlap %d: tiles may show seams", s.overlap, seam_free)


def _resolved_precision(s: Settings, *, here: bool) -> Settings:
    """--precision auto on this machine (local runs) -> what it runs, so the key says so; with
    --model auto it stays auto: each of its models resolves it on its own card."""
    if s.precision != "auto" or not here or s.auto:
        return s
    return dataclasses.replace(s, precision=engines.resolve_precision("auto", s.card, s.engine))


def _check_precision(s: Settings, *, here: bool) -> None:
    if s.precision in ("f32", "auto"):  # auto falls back to f32 wherever bf16 is refused
        return
    cards = {name: models.read_card(name) for name in routing.AUTO_MODELS} if s.auto else {"": s.card}
    hint = "; --precision auto runs each of auto's models in bf16 where it may" if s.auto else ""
    for name, card in cards.items():
        refusal = engines.bf16_refusal(card, s.engine, here=here)
        if refusal:
            raise ConfigError(f"--precision {s.precision}: {name + ': ' if name else ''}{refusal}{hint}")


def _check_companions(s: Settings) -> None:
    """--masks, --reference and --degrade against each other and the model."""
    if s.masks and not s.takes_mask:
        raise ConfigError(f"--masks is for inpainting models; the model's task is {s.model_task}")
    if s.masks and s.degrade is not None:
        raise ConfigError("--degrade makes its own masks; drop --masks")
    if s.takes_mask and not s.masks and (s.degrade is None or not s.degrade.has_mask):
        raise ConfigError("this inpainting model needs masks: pass --masks DIR (masks matched to the inputs by "
                          "relative path and file stem), or --degrade with an inpaint recipe")
    if s.degrade is not None and s.reference:
        raise ConfigError("--degrade scores against the inputs themselves; drop --reference")
    for flag, folder in (("--masks", s.masks), ("--reference", s.reference)):
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
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        return max(1, cores // job_options.worker_count(options))
    if "no_use_multiple_sdk_containers" in (options.view_as(DebugOptions).experiments or []):
        return 0
    return 1
