"""The diagnose job: read inputs | Diagnose | write table | write errors | summary.

    restoreflow diagnose --input gs://archive/scans --output gs://archive/triage

Output: ``OUT/diagnosis/<run>/part-*.parquet`` (one row per image: its size, content hash,
``restoreflow.diagnosis.Diagnosis`` as ``diagnosis_*`` columns, and the model ``--model auto``
would pick), ``OUT/diagnosis/<run>/summary.json`` (counts per kind of damage and per model),
``OUT/errors/<run>/errors.jsonl``.
"""

from __future__ import annotations

import collections
import hashlib
import json
import logging
import sys
import time

import apache_beam as beam
import pyarrow as pa
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from model.export import read_card
from pipelines.diagnose.diagnoser import DIAGNOSIS_MODEL, Diagnoser
from pipelines.imaging import images
from pipelines.inputs import scope as input_scope, sources
from pipelines.report.summaries import read_errors
from pipelines.restore.settings import new_run_id
from pipelines.runtime import errors, files as output_files, flags, lock, options as job_options
from restoreflow import routing, scores, zoo
from restoreflow.configs import ConfigError
from restoreflow.console import user_errors

log = logging.getLogger("restoreflow.diagnose")
TABLE_COLUMNS = ("image_id", "source", "content_sha256", "width_in", "height_in", "seconds", "chosen_model",
                 "choice_reason", *(f.name for f in scores.SCHEMA if f.name.startswith("diagnosis_")))
SCHEMA = pa.schema([scores.SCHEMA.field(name) for name in TABLE_COLUMNS],
                   metadata={b"restoreflow.diagnosis_table_version": b"1"})


class DiagnoseImages(beam.DoFn):
    """ImageBytes -> one table row (a dict of TABLE_COLUMNS). Raises on an unreadable image."""

    def __init__(self, model: str, max_pixels: int):
        self._model, self._max_pixels = model, max_pixels
        self._diagnosed = Metrics.counter("restoreflow", "images_diagnosed")

    def setup(self):
        self._diagnoser = Diagnoser(self._model)

    def process(self, item: sources.ImageBytes):
        started = time.time()
        decoded = images.decode(item.data, max_pixels=self._max_pixels)
        diagnosis = self._diagnoser.diagnose(decoded.pixels)
        choice = routing.choose(diagnosis)
        self._diagnosed.inc()
        yield {"image_id": item.image_id, "source": item.source,
               "content_sha256": hashlib.sha256(item.data).hexdigest(),
               "width_in": decoded.pixels.shape[1], "height_in": decoded.pixels.shape[0],
               "seconds": round(time.time() - started, 4), "chosen_model": choice.model,
               "choice_reason": choice.reason, **diagnosis.to_columns()}


def build_pipeline(argv: list[str]) -> tuple[beam.Pipeline, str, str]:
    """(pipeline, output folder, run id), flags and inputs checked first."""
    options = job_options.parse(argv, job_options.DiagnoseOptions)
    common = options.view_as(job_options.InputOptions)
    job_options.check_output_folder(common.output)
    own = options.view_as(job_options.DiagnoseOptions)
    _check_model(own.diagnosis_model)
    specs = input_scope.resolve_inputs(common.input, common.output)  # never reads --output
    for spec in specs:
        sources.check_exists(spec)
    output, run_id = common.output.rstrip("/"), new_run_id()
    pipeline = beam.Pipeline(options=options)
    images_in, input_errors = pipeline | "Read inputs" >> sources.ReadImages(specs, common.max_bytes)
    diagnosed = images_in | "Diagnose" >> beam.ParDo(
        DiagnoseImages(own.diagnosis_model, common.max_pixels)).with_exception_handling()
    rejected = diagnosed.bad | "Diagnosis errors" >> errors.Rejections("decode", (images.ImageError,))
    _ = diagnosed.good | "Write table" >> beam.io.WriteToParquet(
        FileSystems.join(output, "diagnosis", run_id, "part"), SCHEMA, file_name_suffix=".parquet")
    _ = ((input_errors, rejected) | "All errors" >> beam.Flatten()
         | "As JSON" >> beam.Map(json.dumps, sort_keys=True)
         | "Write errors" >> beam.io.WriteToText(FileSystems.join(output, "errors", run_id, "errors"),
                                                 file_name_suffix=".jsonl", num_shards=1))
    return pipeline, output, run_id


def _check_model(model: str) -> None:
    try:
        task = read_card(zoo.resolve(model))["task"]
    except ConfigError as e:
        raise ConfigError(f"--diagnosis_model: {e}") from None
    if task != "diagnose":
        raise ConfigError(f"--diagnosis_model {model} is a {task} model, not a damage-diagnosis one: `restoreflow diagnose` "
                          f"runs the bundled {DIAGNOSIS_MODEL!r} or a model trained like it")


def summarize(output: str, run_id: str, seconds: float) -> dict:
    """Counts per kind of damage and per model from the run's table; written beside it."""
    import pyarrow.parquet as pq

    folder = FileSystems.join(output, "diagnosis", run_id)
    paths = sorted(m.path for m in FileSystems.match([FileSystems.join(folder, "*.parquet")])[0].metadata_list)
    columns = ["diagnosis_label", "chosen_model", "width_in", "height_in"]
    rows = []
    for path in paths:  # through FileSystems (gs://, s3://), from bytes on one thread as scores.read_file
        with FileSystems.open(path) as f:
            rows += pq.read_table(pa.BufferReader(f.read()), columns=columns, use_threads=False).to_pylist()
    rejected = len(read_errors(FileSystems.join(output, "errors", run_id)))
    summary = {
        "run_id": run_id, "images": len(rows), "errors": rejected, "seconds": round(seconds, 2),
        "megapixels": round(sum(r["width_in"] * r["height_in"] for r in rows) / 1e6, 3),
        "by_damage": dict(collections.Counter(r["diagnosis_label"] for r in rows).most_common()),
        "by_model": dict(collections.Counter(r["chosen_model"] for r in rows).most_common()),
    }
    output_files.write_atomically(FileSystems.join(folder, "summary.json"), json.dumps(summary, indent=2).encode(),
                                  root=output)
    return summary


def summary_line(summary: dict, output: str) -> str:
    counts = ", ".join(f"{n} {label}" for label, n in summary["by_damage"].items()) or "no images"
    rate = summary["megapixels"] / max(summary["seconds"], 1e-9)
    line = (f"diagnose: {summary['images']} images in {summary['seconds']:.1f} s ({rate:.2f} MP/s): {counts}; "
            f"table {output}/diagnosis/{summary['run_id']}/")
    if summary["errors"]:
        line += f"; {summary['errors']} rejected, see {output}/errors/{summary['run_id']}/"
    return line


def run(argv: list[str]) -> dict:
    pipeline, output, run_id = build_pipeline(argv)
    started = time.time()
    with lock.held(output, run_id):
        pipeline.run().wait_until_finish()
    return {**summarize(output, run_id, time.time() - started), "output": output}


@user_errors("restoreflow diagnose", job_options.FlagError, sources.InputError, failures=(lock.OutputLocked,))
def main(argv: list[str]) -> int:
    argv = flags.start_job("diagnose", argv)
    if argv is None:
        return 0
    summary = run(argv)
    print(summary_line(summary, summary["output"]))
    return 1 if summary["errors"] and not summary["images"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
