"""What the report page shows, read from a restore output folder: every run's Parquet rows,
each image once (its newest restored row), the newest run's errors and every run's summary.
"""

from __future__ import annotations

import dataclasses
import math

from apache_beam.io.filesystems import FileSystems

from pipelines.report import summaries
from restoreflow import scores
from restoreflow.configs import ConfigError

COLUMNS = ["image_id", "status", "run_id", "model_id", "task", "crop_path", "output_path", "reference", "seconds",
           *scores.SCORE_COLUMNS]
"""The Parquet columns the page reads."""


@dataclasses.dataclass
class ImageState:
    """One image id as the report shows it."""

    image_id: str
    status: str  # in the newest run that saw the image: "restored" or "skipped"
    seen_run: str  # that run
    scores: dict | None  # its newest "restored" row (by run_id): the scores and the crop shown


@dataclasses.dataclass
class ReportData:
    output: str
    runs: list[str]  # run ids with a scores folder, oldest first
    rows: list[dict]  # every run's rows
    images: list[ImageState]  # sorted by image id
    errors_run: str | None  # the newest run with an errors folder
    errors: list[dict]  # that run's errors
    summaries: list[dict]  # every run's runs/<run>/summary.json, oldest first

    @property
    def latest_run(self) -> str | None:
        return self.runs[-1] if self.runs else self.errors_run

    @property
    def has_reference(self) -> bool:
        """Whether any image was scored against a reference (paired mode or --reference)."""
        return any(i.scores and i.scores.get("psnr_db_degraded") is not None for i in self.images)


def gain(row: dict, name: str) -> float | None:
    """restored - degraded, or None when either is missing or the difference is undefined."""
    before, after = row.get(f"{name}_degraded"), row.get(f"{name}_restored")
    if before is None or after is None:
        return None
    change = after - before
    return None if math.isnan(change) else change


def _matches(output: str, *parts: str) -> list[str]:
    return sorted(m.path for m in FileSystems.match([FileSystems.join(output, *parts)])[0].metadata_list)


def read_latest_errors(output: str) -> tuple[str | None, list[dict]]:
    """The newest run with an ``errors/<run>/`` folder, and its error lines."""
    runs = {scores.run_of(path) for path in _matches(output, "errors", "*", "*.jsonl")}
    if not runs:
        return None, []
    run = max(runs)
    return run, summaries.read_errors(FileSystems.join(output, "errors", run))


def latest_images(rows: list[dict]) -> list[ImageState]:
    """Per image id, sorted by id: the status in its newest run and its newest "restored" row
    (run ids sort chronologically). A "skipped" row has no scores: the run that restored the
    same content has them, so the table shows those."""

    def recency(r):  # within one run (not expected), a "restored" row wins
        return r["run_id"] or "", r["status"] == "restored"

    newest, restored = {}, {}
    for r in rows:
        key = r["image_id"] or ""
        if key not in newest or recency(r) > recency(newest[key]):
            newest[key] = r
        if r["status"] == "restored" and (key not in restored or recency(r) > recency(restored[key])):
            restored[key] = r
    return [
        ImageState(key, newest[key]["status"], newest[key]["run_id"], restored.get(key)) for key in sorted(newest)
    ]


def collect(output: str) -> ReportData:
    paths = scores.files(output)
    runs = sorted({scores.run_of(path) for path in paths})
    errors_run, errors = read_latest_errors(output)
    if not runs and errors_run is None:
        raise ConfigError(
            f"{output}: holds no scores/<run>/*.parquet nor errors/<run>/*.jsonl: "
            "not a restore job's --output, or no run has finished there"
        )
    rows = scores.read_files(paths).select(COLUMNS).to_pylist()
    return ReportData(output, runs, rows, latest_images(rows), errors_run, errors, summaries.read_run_summaries(output))
