"""The restore job's outputs about quality: the Parquet scores table and summaries.

``SCHEMA`` is the one definition of ``scores/*.parquet`` (one row per restored image).
Scores come in pairs: ``<metric>_degraded`` (the input as given, or as degraded in paired
mode) and ``<metric>_restored``; full-reference ones are null without a reference.
"""

from __future__ import annotations

import datetime
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

SCHEMA_VERSION = 1

_SCORES = ("psnr_db", "ssim", "ms_ssim", "noise_sigma", "sharpness", "blockiness")
SCORE_COLUMNS = tuple(f"{name}_{role}" for name in _SCORES for role in ("degraded", "restored"))

SCHEMA = pa.schema(
    [
        ("image_id", pa.string()),
        ("source", pa.string()),
        ("status", pa.string()),
        ("run_id", pa.string()),
        ("settings_key", pa.string()),
        ("model_id", pa.string()),
        ("task", pa.string()),
        ("content_sha256", pa.string()),
        ("width_in", pa.int32()),
        ("height_in", pa.int32()),
        ("width_out", pa.int32()),
        ("height_out", pa.int32()),
        ("channels", pa.int8()),
        ("bit_depth", pa.int8()),
        ("has_alpha", pa.bool_()),
        ("source_mode", pa.string()),
        ("format_in", pa.string()),
        ("format_out", pa.string()),
        ("output_path", pa.string()),
        ("reference", pa.string()),
        ("tiles", pa.int32()),
        ("seconds", pa.float64()),
        *[(name, pa.float64()) for name in SCORE_COLUMNS],
    ],
    metadata={"restoreflow.schema_version": str(SCHEMA_VERSION)},
)


def row(**values) -> dict:
    """A scores row with every schema column present (missing scores are null) and no extras."""
    unknown = set(values) - set(SCHEMA.names)
    if unknown:
        raise KeyError(f"not in the scores schema: {sorted(unknown)}")
    out = {name: values.get(name) for name in SCHEMA.names}
    for name in SCORE_COLUMNS:
        value = out[name]
        out[name] = None if value is None or np.isnan(value) else float(value)  # inf: identical images
    return out


def read_table(folder: str) -> pa.Table:
    """All ``*.parquet`` under ``folder`` (local, gs://, s3://) as one table."""
    matches = FileSystems.match([FileSystems.join(folder, "*.parquet")])[0].metadata_list
    tables = []
    for meta in sorted(matches, key=lambda m: m.path):
        with FileSystems.open(meta.path) as f:
            tables.append(pq.read_table(f))
    return pa.concat_tables(tables) if tables else SCHEMA.empty_table()


def read_errors(folder: str) -> list[dict]:
    matches = FileSystems.match([FileSystems.join(folder, "*.jsonl")])[0].metadata_list
    errors = []
    for meta in sorted(matches, key=lambda m: m.path):
        with FileSystems.open(meta.path) as f:
            errors.extend(json.loads(line) for line in f.read().decode().splitlines() if line.strip())
    return errors


def _stats(values) -> dict | None:
    finite = np.array([v for v in values if v is not None and np.isfinite(v)], dtype=np.float64)
    if finite.size == 0:
        return None
    p5, p50, p95 = np.percentile(finite, [5, 50, 95])
    return {"mean": float(finite.mean()), "p5": float(p5), "p50": float(p50), "p95": float(p95), "count": int(finite.size)}


def summarize(table: pa.Table, errors: list[dict], *, run_id: str, model_id: str) -> dict:
    """Counts by status, and mean/percentiles of every score and of its gain."""
    columns = table.to_pydict()
    statuses = columns.get("status", [])
    counts = {status: statuses.count(status) for status in sorted(set(statuses))}
    counts["error"] = len(errors)
    scores = {name: _stats(columns.get(name, [])) for name in SCORE_COLUMNS}
    gains = {}
    for name in ("psnr_db", "ssim"):
        pairs = zip(columns.get(f"{name}_restored", []), columns.get(f"{name}_degraded", []))
        gains[name] = _stats([a - b for a, b in pairs if a is not None and b is not None])
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_id,
        "model_id": model_id,
        "created_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "counts": counts,
        "seconds": _stats(columns.get("seconds", [])),
        "scores": {k: v for k, v in scores.items() if v is not None},
        "gains": {k: v for k, v in gains.items() if v is not None},
    }


def _write_json(path: str, value) -> None:
    with FileSystems.create(path) as f:
        f.write((json.dumps(value, indent=2, sort_keys=True) + "\n").encode())


def write_run_summary(output: str, run_id: str, model_id: str) -> dict:
    """Summarizes one run's scores and errors into runs/<run>/summary.json and summary.json."""
    table = read_table(FileSystems.join(output, "scores", run_id))
    errors = read_errors(FileSystems.join(output, "errors", run_id))
    summary = summarize(table, errors, run_id=run_id, model_id=model_id)
    _write_json(FileSystems.join(output, "runs", run_id, "summary.json"), summary)
    _write_json(FileSystems.join(output, "summary.json"), summary)
    return summary


def read_run_summary(output: str, run_id: str) -> dict:
    with FileSystems.open(FileSystems.join(output, "runs", run_id, "summary.json")) as f:
        return json.loads(f.read())


def summary_line(summary: dict) -> str:
    counts = ", ".join(f"{n} {status}" for status, n in summary["counts"].items())
    parts = [f"restore run {summary['run_id']}: {counts}"]
    psnr = summary["scores"].get("psnr_db_restored")
    if psnr:
        gain = summary["gains"].get("psnr_db")
        parts.append(f"mean PSNR {psnr['mean']:.2f} dB" + (f" ({gain['mean']:+.2f} dB)" if gain else ""))
    return "; ".join(parts)
