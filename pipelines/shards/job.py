"""Job 1: clean images -> seeded degradations -> patch pairs -> sharded TFRecords + manifest.

    restoreflow shards --input DIR --output OUT --recipe denoise-gray-s25 [beam flags]
    python -m pipelines.shards ...   (the same, as Dataflow launchers expect)

Output: ``OUT/train/*.tfrecord[.gz]``, ``OUT/val/*.tfrecord[.gz]`` (split by a stable hash of
image_id), ``OUT/index/*.jsonl`` (one line per image: id, content hash, size, split, records),
``OUT/errors/*.jsonl`` (one line per rejected input, with its reason) and ``OUT/manifest.json``,
written last, once every shard is final. The transforms are in ``pipelines.shards``.
"""

from __future__ import annotations

import sys
import uuid

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from pipelines.inputs import sources
from pipelines.runtime import failures, flags, lock, options as job_options, progress
from pipelines.shards.degrade import ERRORS, INDEX, DegradeToRecords, writer_tags
from pipelines.shards.plan import ShardsPlan, checked_output, plan_job
from pipelines.shards.summary import WriteManifest, read_manifest
from pipelines.shards.write import WriteJsonLines, WriteShards
from restoreflow.console import user_errors
from restoreflow.manifest import ShardManifest


def add_job(pipeline, plan: ShardsPlan):
    """Job 1's data flow on ``pipeline``; returns (index lines, errors): one element per input."""
    images, input_errors = pipeline | "Read inputs" >> sources.ReadImages(list(plan.specs), plan.max_bytes)
    made = images | "Degrade into records" >> DegradeToRecords(
        recipe=plan.recipe, settings=plan.settings, seed=plan.seed, max_pixels=plan.max_pixels,
        val_fraction=plan.val_fraction, groups=plan.writer_groups)
    shard_files = {tag: made[tag] for tag in writer_tags(plan.writer_groups)} | "Write shards" >> WriteShards(
        plan.output, compression=plan.compression, groups=plan.writer_groups, num_shards=plan.sharding.num_shards)
    errors = (input_errors, made[ERRORS]) | "All errors" >> beam.Flatten()
    _ = errors | "Write errors" >> WriteJsonLines(FileSystems.join(plan.output, "errors", "errors"), num_shards=1)
    _ = made[INDEX] | "Write index" >> WriteJsonLines(FileSystems.join(plan.output, "index", "images"))
    _ = {"index": made[INDEX], "errors": errors, **shard_files} | "Write manifest" >> WriteManifest(plan)
    return made[INDEX], errors


def build_pipeline(argv: list[str], *, tracker: progress.Tracker | None = None) -> tuple[beam.Pipeline, ShardsPlan]:
    """Checks the flags and inputs and constructs job 1's pipeline without running it; on a
    local runner, ``tracker`` follows the images as they finish."""
    options = job_options.parse(argv, job_options.ShardsOptions, required=("input", "output", "recipe"))
    plan, files = plan_job(options)
    pipeline = beam.Pipeline(options=options)
    done = add_job(pipeline, plan)
    if tracker is not None and job_options.is_local(options):
        tracker.follow(*done, total=progress.count_images(files), megapixels=_clean_megapixels)
    return pipeline, plan


def _clean_megapixels(index_line_or_error: dict) -> float:
    return (index_line_or_error.get("width") or 0) * (index_line_or_error.get("height") or 0) / 1e6


def run(argv=None) -> ShardManifest:
    """Runs job 1 to completion, holding the output's lock (as restore does: two runs into one
    --output would mix their shards and lose one manifest), and returns its manifest."""
    tracker = progress.Tracker("shards")
    pipeline, plan = build_pipeline(list(sys.argv[1:] if argv is None else argv), tracker=tracker)
    temps = [FileSystems.join(plan.output, folder) for folder in ("train", "val", "errors", "index")]
    with lock.held(plan.output, f"shards-{uuid.uuid4().hex[:8]}"), tracker, \
            failures.ends_in_one_line("shards", plan.output, temps, finished=lambda: _finished(tracker)):
        # Again under the lock: a run that finished since the first check wrote there.
        checked_output(plan.output, name_a_holder=False)
        pipeline.run().wait_until_finish()
    return read_manifest(plan.output)


def _finished(tracker: progress.Tracker) -> str:
    done, total = tracker.finished()
    return (f"{done} of {total} images were sharded but nothing is final before manifest.json is written; "
            "the same command run again makes the shards afresh")


@user_errors("restoreflow shards", job_options.FlagError, sources.InputError,
             failures=(failures.RunFailed, lock.OutputLocked))
def main(argv: list[str]) -> int:
    argv = flags.start_job("shards", argv)
    if argv is None:
        return 0
    manifest = run(argv)
    counts = manifest.counts
    print(
        f"shards: {counts.images.total()} images -> {counts.records.train} train and {counts.records.val} val "
        f"records; {counts.errors} errors (see {FileSystems.join(manifest.output, 'errors')}); "
        f"manifest {FileSystems.join(manifest.output, 'manifest.json')}"
    )
    return 0 if counts.images.total() else 1  # every input rejected: a scheduler must notice


if __name__ == "__main__":
    sys.exit(main())
