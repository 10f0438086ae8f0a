"""What a restore run leaves besides the images: ``OUT/scores/<run>/*.parquet`` (the
``restoreflow.scores`` table), ``OUT/errors/<run>/*.jsonl``, and once both are written the
run's summary (``OUT/runs/<run>/summary.json``, ``OUT/summary.json``)."""

from __future__ import annotations

import functools
import json

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from pipelines.report import summaries
from pipelines.restore import guidance
from pipelines.restore.settings import Settings
from restoreflow import scores


class WriteScores(beam.PTransform):
    """ScoreRows -> the paths of the run's Parquet files."""

    def __init__(self, settings: Settings):
        super().__init__()
        self._prefix = FileSystems.join(settings.output, "scores", settings.run_id, "part")

    def expand(self, rows):
        return (
            rows
            | "As dicts" >> beam.Map(scores.ScoreRow.to_dict)
            | "Parquet" >> beam.io.WriteToParquet(self._prefix, scores.SCHEMA, file_name_suffix=".parquet")
        )


class WriteErrors(beam.PTransform):
    """Error records -> the path of the run's JSON-lines file."""

    def __init__(self, settings: Settings):
        super().__init__()
        self._prefix = FileSystems.join(settings.output, "errors", settings.run_id, "errors")

    def expand(self, errors):
        return (
            errors
            | "As JSON" >> beam.Map(json.dumps, sort_keys=True)
            | "Lines" >> beam.io.WriteToText(self._prefix, file_name_suffix=".jsonl", num_shards=1)
        )


class WriteSummary(beam.PTransform):
    """The pipeline -> the run's summary, once the files ``after`` lists are written;
    ``unused_masks``: the --masks files that matched no input (a PCollection of paths)."""

    def __init__(self, settings: Settings, *after, unused_masks=None):
        super().__init__()
        self._settings = settings
        self._after = after
        self._unused_masks = unused_masks

    def expand(self, pipeline):
        waits = {f"after_{i}": beam.pvalue.AsList(written) for i, written in enumerate(self._after)}
        if self._unused_masks is not None:
            waits["unused_masks"] = beam.pvalue.AsList(self._unused_masks)
        return (
            pipeline
            | "Once" >> beam.Create([None])
            | "Summarize" >> beam.Map(write_summary, settings=self._settings, **waits)
        )


def write_summary(_, settings: Settings, unused_masks=None, **written) -> dict:
    """The run's summary, with advice on the inputs (guidance) and the unused masks. The last
    step of the pipeline, so that a run nobody waits for (a Flex Template) leaves it too; the
    page is built after the pipeline, from the files (``pipelines.report.build``)."""
    advise = functools.partial(guidance.advise, card=settings.card, model=settings.model_dir,
                               paired=settings.degrade is not None)
    extra = {"model": settings.model_dir}  # the next run's model when it names none (models.default_model)
    if unused_masks is not None:
        extra["unused_masks"] = sorted(unused_masks)
    return summaries.write_run_summary(settings.output, settings.run_id, settings.model_id, advise=advise,
                                       extra=extra)
