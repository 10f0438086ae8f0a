"""Job 1's plan: the flags, recipe, patch settings and inputs, resolved and checked before the
pipeline is built, and what the manifest says of them."""

from __future__ import annotations

import dataclasses
import datetime
import logging
import math
import os
import posixpath

from apache_beam.io.filesystems import FileSystems

from pipelines.degrade import pairs, recipe as recipes
from pipelines.inputs import scope as input_scope, sources
from pipelines.runtime import lock, options as job_options
from restoreflow import records
from restoreflow.configs import ConfigError, to_plain
from restoreflow.manifest import SPLITS, Counts, Dtypes, Limits, Patches, PerSplit, ShardFiles, Sharding, ShardManifest
from restoreflow.provenance import code_version

TARGET_SHARD_BYTES = 128 * 1024 * 1024
log = logging.getLogger("restoreflow.shards")


@dataclasses.dataclass(frozen=True)
class ShardsPlan:
    specs: tuple[sources.InputSpec, ...]
    output: str  # without a trailing slash
    recipe: recipes.Recipe
    settings: pairs.PatchSettings
    seed: int
    val_fraction: float
    compression: str  # "gzip" or "none"
    max_pixels: int
    max_bytes: int
    input_files_listed: int
    sharding: Sharding
    code_version: str  # the launcher's: workers may run from an installed package without git

    @property
    def writer_groups(self) -> int:
        """Writers per split on each worker (1 with an explicit --num_shards)."""
        return max(1, self.sharding.writers_per_worker)

    def manifest(self, summary: dict, error_count: int, shard_files: dict[str, list[str]]) -> ShardManifest:
        """The manifest of the finished job: this plan plus what the job counted and wrote."""
        images, records_made = PerSplit(**summary["images"]), PerSplit(**summary["records"])
        return ShardManifest(
            recipe=to_plain(self.recipe), task=self.recipe.task, scale=self.recipe.scale,
            has_mask=self.recipe.has_mask, seed=self.seed, patch=Patches(**to_plain(self.settings)),
            val_fraction=self.val_fraction, compression=self.compression, sharding=self.sharding,
            inputs=tuple(s.given for s in self.specs), output=self.output,
            input_files_listed=self.input_files_listed,
            limits=Limits(max_pixels=self.max_pixels, max_bytes=self.max_bytes),
            schema_version=records.SCHEMA_VERSION, code_version=self.code_version,
            created_utc=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            counts=Counts(images=images, records=records_made, errors=error_count,
                          inputs_accounted=images.total() + error_count),
            channels=tuple(summary["channels"]),
            dtypes=Dtypes(clean=tuple(summary["clean_dtypes"]), degraded=tuple(summary["degraded_dtypes"])),
            content_digest=summary["digest"],
            shards=ShardFiles(**{split: tuple(sorted(path[len(self.output):].lstrip("/") for path in shard_files[split]))
                                 for split in SPLITS}),
        )


def plan_job(options) -> tuple[ShardsPlan, list[sources.InputFile]]:
    """Checks the flags, the recipe and the output folder and lists the inputs; returns the
    plan and the files listed (the progress line counts them)."""
    flags = options.view_as(job_options.ShardsOptions)
    common = options.view_as(job_options.InputOptions)
    recipe = recipes.load(flags.recipe)
    settings = pairs.PatchSettings(patch_size=flags.patch_size, stride=flags.stride, max_patches=flags.max_patches)
    settings.validate_for(recipe)
    if not 0.0 <= flags.val_fraction < 1.0:
        raise ConfigError("--val_fraction must lie within [0, 1)")
    output = checked_output(common.output)
    specs = tuple(input_scope.resolve_inputs(common.input, output))
    files = [f for spec in specs for f in sources.list_files(spec).files]
    sharding = choose_sharding(files, settings, recipe, flags.num_shards, job_options.worker_count(options))
    log.info("shards: %d input files, about %d shards per split, recipe %s",
             len(files), sharding.estimated_shards, recipe.name)
    plan = ShardsPlan(specs=specs, output=output, recipe=recipe, settings=settings, seed=common.seed,
                      val_fraction=flags.val_fraction, compression=flags.compression, max_pixels=common.max_pixels,
                      max_bytes=common.max_bytes, input_files_listed=len(files), sharding=sharding,
                      code_version=code_version())
    return plan, files


def checked_output(output: str, *, name_a_holder: bool = True) -> str:
    """--output must be a folder and empty but for the lock file: stale shards, index or error
    files (even of a run that crashed), or links planted there, would mix with new ones."""
    job_options.check_output_folder(output)
    output = output.rstrip("/")
    if "://" in output:
        found = FileSystems.match([FileSystems.join(output, "**")], limits=[2])[0].metadata_list
        entries = [m.path for m in found]
    else:  # an empty real folder (what a run interrupted before writing leaves) holds nothing to mix
        entries = [entry for entry in (os.listdir(output) if os.path.isdir(output) else [])
                   if not _empty_folder(os.path.join(output, entry))]
    if any(posixpath.basename(entry) != lock.LOCK_FILE for entry in entries):
        if name_a_holder:  # a run still writing there is named as the reason
            lock.check_free(output)
        raise ConfigError(f"--output {output} is not empty; shards go to a new folder")
    return output


def _empty_folder(path: str) -> bool:
    return os.path.isdir(path) and not os.path.islink(path) and not os.listdir(path)


def choose_sharding(files, settings: pairs.PatchSettings, recipe: recipes.Recipe, num_shards: int,
                    workers: int) -> Sharding:
    """Auto sharding (no --num_shards) writes each worker's records where they are made (Beam's
    per-bundle writes): no record crosses a shuffle, and each worker spreads its records over
    enough files that all workers together write at least the estimate per split. An explicit
    --num_shards gives exactly that many files per split, at the price of shuffling every record."""
    estimated = num_shards or auto_num_shards(files, settings, recipe, workers)
    return Sharding(num_shards=num_shards, estimated_shards=estimated, workers=workers,
                    writers_per_worker=0 if num_shards else math.ceil(estimated / workers))


def auto_num_shards(files, settings: pairs.PatchSettings, recipe: recipes.Recipe, workers: int) -> int:
    """About one shard per 128 MB of estimated output, and never fewer than 2 x workers.

    The estimate is rough by design (image headers are not read at construction time):
    decoded pixels ~ 3 x file bytes, times the patch overlap (patch / stride)^2, times 2
    for the clean and degraded halves of each pair.
    """
    input_bytes = sum(f.size_bytes for f in files)
    overlap = (settings.patch_size / settings.stride) ** 2 if settings.patch_size else 1.0
    estimate = input_bytes * 3 * overlap * 2 / (recipe.scale**2 if recipe.scale > 1 else 1)
    return max(2 * workers, math.ceil(estimate / TARGET_SHARD_BYTES))
