"""The generate job: indices | Generate (sample, write PNG) | rows and errors | state, report.

    restoreflow generate --model runs/gen/model --count 100 --seed 0 --output out/gen [--steps 25]

Output: ``OUT/generated/<index>.png`` (image i from the noise of (seed, i)),
``OUT/generated.json`` (the settings key and each file's SHA-256: what a rerun may skip),
``OUT/report.html`` (a sheet of samples), ``OUT/errors/<run>/errors.jsonl``.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
import time

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from pipelines.generate import report, settings as job_settings, state as states
from pipelines.generate.sample import Generate
from pipelines.report.summaries import read_errors
from pipelines.runtime import files, flags, lock, options as job_options, progress
from restoreflow.console import user_errors

log = logging.getLogger("restoreflow.generate")


def build_pipeline(options, settings, indices: list[int], tracker: progress.Tracker) -> beam.Pipeline:
    """The pipeline over ``indices``; on a local runner ``tracker`` follows the images as they finish."""
    pipeline = beam.Pipeline(options=options)
    rows, rejected = (pipeline | "Indices" >> beam.Create(indices)) | "Generate" >> Generate(settings)
    if job_options.is_local(options):
        height, width, _ = settings.image_shape
        tracker.follow(rows, rejected, total=len(indices), megapixels=functools.partial(_same, height * width / 1e6))
    run_folder = FileSystems.join(settings.output, "runs", settings.run_id)
    _ = (rows | "Rows as JSON" >> beam.Map(json.dumps, sort_keys=True)
         | "Write rows" >> beam.io.WriteToText(FileSystems.join(run_folder, "made"), file_name_suffix=".jsonl"))
    _ = (rejected | "Errors as JSON" >> beam.Map(json.dumps, sort_keys=True)
         | "Write errors" >> beam.io.WriteToText(FileSystems.join(settings.output, "errors", settings.run_id, "errors"),
                                                 file_name_suffix=".jsonl", num_shards=1))
    return pipeline


def run(argv: list[str]) -> dict:
    options = job_options.parse(argv, job_options.GenerateOptions, required=("output", "model"),
                                borrowed=("model",))  # --count: checked by settings (0 is a value, not missing)
    settings = job_settings.resolve(options)
    started = time.time()
    with lock.held(settings.output, settings.run_id):
        files.refuse_linked_folders(settings.output, (states.IMAGES_FOLDER, "runs", "errors"))  # Beam's sinks follow links
        states.remove_partials(settings.output)
        previous = states.read(settings.output)
        indices, kept = states.to_make(settings.output, settings.key, settings.count, previous)
        if indices:
            tracker = progress.Tracker("generate")
            pipeline = build_pipeline(options, settings, indices, tracker)
            with tracker:
                pipeline.run().wait_until_finish()
        made = read_errors(FileSystems.join(settings.output, "runs", settings.run_id))  # any folder of JSON lines
        errors = len(read_errors(FileSystems.join(settings.output, "errors", settings.run_id)))
        state = states.write(settings.output, settings.key, settings.describe(), kept, made)
        page = report.write(state, settings.output, errors)
    return {"made": len(made), "skipped": settings.count - len(indices), "errors": errors, "report": page,
            "seconds": round(time.time() - started, 2), "output": settings.output}


def _same(value: float, element) -> float:
    return value  # every image of a run has one size


def summary_line(summary: dict) -> str:
    rate = summary["made"] / max(summary["seconds"], 1e-9)
    line = (f"generate: {summary['made']} made, {summary['skipped']} already there, in {summary['seconds']:.1f} s "
            f"({rate:.2f} images/s); images {summary['output']}/generated/, report {summary['report']}")
    if summary["errors"]:
        line += f"; {summary['errors']} failed, see {summary['output']}/errors/"
    return line


@user_errors("restoreflow generate", job_options.FlagError, failures=(lock.OutputLocked,))
def main(argv: list[str]) -> int:
    argv = flags.start_job("generate", argv)
    if argv is None:
        return 0
    summary = run(argv)
    print(summary_line(summary))
    return 1 if summary["errors"] and not summary["made"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
