"""Job 3 as a pipeline: read inputs | RestoreImages | write scores | write errors | summary;
then, once the pipeline has finished, the report page from the run's files.

    restoreflow restore --input IN --model MODEL_DIR --output OUT [--reference REF]
    restoreflow restore --input BENCH --model MODEL_DIR --output OUT --degrade RECIPE --seed N
    python -m pipelines.restore ...   (the same, as Dataflow launchers expect)
"""

from __future__ import annotations

import logging
import sys

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from pipelines.inputs import sources
from pipelines.report import build, summaries
from pipelines.restore import companions, rerun
from pipelines.restore.results import WriteErrors, WriteScores, WriteSummary
from pipelines.restore.settings import Settings, input_specs, resolve_settings
from pipelines.restore.transform import RestoreImages
from pipelines.runtime import failures, files as output_files, flags, lock, options as job_options, progress
from restoreflow.console import user_errors

log = logging.getLogger("restoreflow.restore")
OUTPUT_FOLDERS = ("restored", "crops", "scores", "errors", "runs")  # what the job writes under --output
# job -> (its options, its required flags): stylize is this job with a style model and restore's
# flags plus its own (pipelines.restore.stylize)
JOBS = {"restore": (job_options.RestoreOptions, ("input", "output")),
        "stylize": ((job_options.RestoreOptions, job_options.StylizeOptions), ("input", "output", "model"))}


def build_pipeline(argv: list[str], *, tracker: progress.Tracker | None = None,
                   job: str = "restore") -> tuple[beam.Pipeline, Settings]:
    """Checks the flags, model and inputs and constructs job 3's pipeline without running it;
    on a local runner, ``tracker`` follows the images as they finish."""
    options_classes, required = JOBS[job]
    options = job_options.parse(argv, options_classes, required=required)
    settings = resolve_settings(options, job=job)
    specs = input_specs(options)
    if settings.auto:
        log.info("%s: model auto: each image diagnosed, then %s by its damage, or copied", job,
                 ", ".join(settings.auto_models))
    else:
        log.info("%s: model %s (%s, weights sha256 %s)%s", job, settings.model_dir, settings.model_id,
                 settings.weights_sha256[:12], f": {settings.purpose}" if settings.purpose else "")
    log.info("%s: run %s, tiles %d px with %d px overlap", job, settings.run_id, settings.tile_size, settings.overlap)

    # A local run lists its inputs here, once: the progress line counts them. A remote runner's
    # worker lists them instead (a bucket of any size; Dataflow's page shows the counts).
    listing = sources.list_inputs(specs) if tracker is not None and job_options.is_local(options) else None
    pipeline = beam.Pipeline(options=options)
    images, input_errors = pipeline | "Read inputs" >> sources.ReadImages(
        specs, settings.max_bytes, settings.output_format, listing=listing)
    rows, rejected = images | "Restore images" >> RestoreImages(settings)
    errors = (input_errors, rejected) | "All errors" >> beam.Flatten()
    scores_written = rows | "Write scores" >> WriteScores(settings)
    errors_written = errors | "Write errors" >> WriteErrors(settings)
    unused_masks = None
    if settings.masks:
        ids = (images | "Image ids" >> beam.Map(lambda item: item.image_id),
               input_errors | "Unread ids" >> beam.Map(lambda error: error["image_id"])) | "Ids" >> beam.Flatten()
        unused_masks = ids | "Unused masks" >> companions.Unmatched(settings.masks)
    _ = pipeline | "Write summary" >> WriteSummary(settings, scores_written, errors_written,
                                                   unused_masks=unused_masks)

    if listing is not None:
        total = progress.count_images(listing.files) + len(listing.problems)
        tracker.follow(rows, errors, total=total, megapixels=_input_megapixels)
    return pipeline, settings


def _input_megapixels(row_or_error) -> float:
    """A row's input size; an error record (a dict) counts as nothing."""
    return (getattr(row_or_error, "width_in", None) or 0) * (getattr(row_or_error, "height_in", None) or 0) / 1e6


def run(argv=None, *, job: str = "restore") -> dict:
    """Runs job 3 to completion (with a progress line on local runners), holding the output's
    lock, then builds ``OUT/report.html``; returns the run's summary, its "output" folder, the
    Beam counters of the run under "counters" (e.g. images_restored, images_skipped,
    images_redone, tiles, num_inferences) and "warnings"."""
    tracker = progress.Tracker(job)
    pipeline, settings = build_pipeline(list(sys.argv[1:] if argv is None else argv), tracker=tracker, job=job)
    temps = [FileSystems.join(settings.output, folder, settings.run_id) for folder in ("scores", "errors")]
    with lock.held(settings.output, settings.run_id), tracker:
        output_files.refuse_linked_folders(settings.output, OUTPUT_FOLDERS)
        if rerun.remove_partials(settings.output):
            log.info("removed the temporary files of a run killed before it finished")
        with failures.ends_in_one_line(job, settings.output, temps, finished=lambda: _finished(tracker)):
            result = pipeline.run()
            result.wait_until_finish()
        build.try_build_report(settings.output)
    summary = summaries.read_run_summary(settings.output, settings.run_id)
    counters = _counters(result)
    return {**summary, "output": settings.output, "counters": counters, "warnings": _warnings(settings, counters)}


def _finished(tracker: progress.Tracker) -> str:
    done, total = tracker.finished()
    return (f"{done} of {total} images were finished but none is recorded as done (a run records its work when it "
            "completes), so the same command run again does them all")


def _warnings(settings: Settings, counters: dict) -> list[str]:
    if settings.reference and counters.get("images_prepared") and not counters.get("references_matched"):
        return [f"no input matched a reference in {settings.reference} (references match by relative path and file "
                f"stem: a/b.jpg <-> {settings.reference}/a/b.png)"]
    return []


def _counters(result) -> dict:
    from apache_beam.metrics.metric import MetricsFilter

    counters = {}
    for counter in result.metrics().query(MetricsFilter().with_namespace("restoreflow"))["counters"]:
        name = counter.key.metric.name
        counters[name] = counters.get(name, 0) + (counter.committed or counter.attempted or 0)
    return counters


def exit_status(summary: dict) -> int:
    """0 for a completed run; 1 when it restored nothing and rejected everything."""
    counts = summary["counts"]
    return 1 if counts.get("error") and not counts.get("restored") and not counts.get("skipped") else 0


@user_errors("restoreflow restore", job_options.FlagError, sources.InputError, failures=(lock.OutputLocked, failures.RunFailed))
def main(argv: list[str]) -> int:
    argv = flags.start_job("restore", argv)
    if argv is None:
        return 0
    return finish(run(argv), "restore")


def finish(summary: dict, job: str) -> int:
    """Prints a finished run's warnings, summary line and advice; returns its exit status."""
    for warning in summary["warnings"]:
        print(f"restoreflow {job}: warning: {warning}", file=sys.stderr)
    print(summaries.summary_line(summary, summary["output"], job))
    for advice in summary.get("guidance", []):
        print(f"note: {advice}")
    return exit_status(summary)
