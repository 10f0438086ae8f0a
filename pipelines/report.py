"""The restore job's summaries of quality: per run (``summary.json``) and over runs (the report).

The scores table itself (``scores/<run>/*.parquet``) is ``restoreflow.scores``. ``build_report``
(and ``restoreflow report OUT``) turns every run's rows into one self-contained
``OUT/report.html`` (``pipelines.report_page``).
"""

from __future__ import annotations

import datetime
import json
import logging

import numpy as np
import pyarrow as pa
from apache_beam.io.filesystems import FileSystems

from pipelines import output_files
from restoreflow import commands, scores
from restoreflow.configs import ConfigError
from restoreflow.console import user_errors

logger = logging.getLogger(__name__)


def read_errors(folder: str) -> list[dict]:
    matches = FileSystems.match([FileSystems.join(folder, "*.jsonl")])[0].metadata_list
    errors = []
    for meta in sorted(matches, key=lambda m: m.path):
        with FileSystems.open(meta.path) as f:
            errors.extend(json.loads(line) for line in f.read().decode().splitlines() if line.strip())
    return errors


def stats(values) -> dict | None:
    finite = np.array([v for v in values if v is not None and np.isfinite(v)], dtype=np.float64)
    if finite.size == 0:
        return None
    p5, p50, p95 = np.percentile(finite, [5, 50, 95])
    return {"mean": float(finite.mean()), "p5": float(p5), "p50": float(p50), "p95": float(p95), "count": int(finite.size)}


def run_started(run_id: str | None) -> datetime.datetime | None:
    """When a run started: its id begins with the UTC time (``20261121T204224Z-4e0f6b``)."""
    try:
        when = datetime.datetime.strptime((run_id or "")[:16], "%Y%m%dT%H%M%SZ")
    except ValueError:
        return None
    return when.replace(tzinfo=datetime.timezone.utc)


def summarize(table: pa.Table, errors: list[dict], *, run_id: str, model_id: str) -> dict:
    """Counts by status, mean/percentiles of every score and of its gain, and the run's wall
    time (from its start, in its id, to now) with the megapixels it restored."""
    columns = table.to_pydict()
    statuses = columns.get("status", [])
    counts = {status: statuses.count(status) for status in sorted(set(statuses))}
    counts["error"] = len(errors)
    score_stats = {name: stats(columns.get(name, [])) for name in scores.SCORE_COLUMNS}
    gains = {}
    for name in ("psnr_db", "ssim"):
        pairs = zip(columns.get(f"{name}_restored", []), columns.get(f"{name}_degraded", []))
        gains[name] = stats([a - b for a, b in pairs if a is not None and b is not None])
    redone = [reason for reason in columns.get("redone", []) if reason]
    chosen = [model for status, model in zip(statuses, columns.get("chosen_model", [])) if model and status == "restored"]
    sizes = zip(statuses, columns.get("width_in", []), columns.get("height_in", []))
    megapixels = sum(w * h for status, w, h in sizes if status == "restored" and w and h) / 1e6
    now = datetime.datetime.now(datetime.timezone.utc)
    started = run_started(run_id)
    return {
        "schema_version": scores.SCHEMA_VERSION,
        "run_id": run_id,
        "model_id": model_id,
        "created_utc": now.isoformat(timespec="seconds"),
        "counts": counts,
        "redone": {reason: redone.count(reason) for reason in sorted(set(redone))},
        # --model auto / --strength: images restored per chosen model ("copy": written unchanged)
        "by_model": {model: chosen.count(model) for model in sorted(set(chosen))},
        "wall_seconds": round((now - started).total_seconds(), 1) if started else None,
        "megapixels_restored": round(megapixels, 4),
        "seconds": stats(columns.get("seconds", [])),
        "scores": {k: v for k, v in score_stats.items() if v is not None},
        "gains": {k: v for k, v in gains.items() if v is not None},
    }


def _write_json(output: str, path: str, value) -> None:
    data = (json.dumps(value, indent=2, sort_keys=True) + "\n").encode()
    output_files.write_atomically(path, data, root=output)


def write_run_summary(output: str, run_id: str, model_id: str, *, advise=None, extra=None) -> dict:
    """Summarizes one run's scores and errors into runs/<run>/summary.json and summary.json;
    ``advise(summary)`` gives the notes kept under "guidance" (see pipelines.restore.guidance);
    ``extra`` adds fields (e.g. "unused_masks")."""
    table = scores.read(output, run_id)
    errors = read_errors(FileSystems.join(output, "errors", run_id))
    summary = summarize(table, errors, run_id=run_id, model_id=model_id)
    summary["guidance"] = advise(summary) if advise else []
    summary.update(extra or {})
    _write_json(output, FileSystems.join(output, "runs", run_id, "summary.json"), summary)
    _write_json(output, FileSystems.join(output, "summary.json"), summary)
    try:
        build_report(output)
    except Exception:  # the run's results are written: a report problem must not fail the run
        logger.warning("could not build %s; rebuild it with: restoreflow report %s",
                       FileSystems.join(output, REPORT_FILE), output, exc_info=True)
    return summary


def read_run_summary(output: str, run_id: str) -> dict:
    with FileSystems.open(FileSystems.join(output, "runs", run_id, "summary.json")) as f:
        return json.loads(f.read())


def read_run_summaries(output: str) -> list[dict]:
    """Every run's summary.json, oldest first (run ids sort by time)."""
    pattern = FileSystems.join(output, "runs", "*", "summary.json")
    summaries = []
    for meta in FileSystems.match([pattern])[0].metadata_list:
        with FileSystems.open(meta.path) as f:
            summaries.append(json.loads(f.read()))
    return sorted(summaries, key=lambda s: s["run_id"])


def throughput(summary: dict) -> tuple[float | None, float | None]:
    """(wall seconds per restored image, restored megapixels per wall second), or None each
    when the summary cannot tell (no image restored, or a summary from before they were kept)."""
    wall, restored = summary.get("wall_seconds"), summary["counts"].get("restored", 0)
    megapixels = summary.get("megapixels_restored")
    if not wall or not restored:
        return None, None
    return wall / restored, (megapixels / wall if megapixels else None)


def summary_line(summary: dict, output: str) -> str:
    """One line for the end of a run: counts, time and speed, mean PSNR, and where to look."""
    counts = summary["counts"]
    errors = counts.get("error", 0)
    head = f"restore run {summary['run_id']}: {counts.get('restored', 0)} restored, {counts.get('skipped', 0)} skipped"
    head += f", {errors} rejected"
    wall = summary.get("wall_seconds")
    if wall is not None:
        _, mp_per_s = throughput(summary)
        head += f" in {wall:.1f} s" + (f" ({mp_per_s:.3g} MP/s)" if mp_per_s else "")
    parts = [head]
    redone = dict(summary.get("redone", {}))
    replaced = redone.pop(scores.REPLACED, 0)
    if redone:
        parts.append(f"{sum(redone.values())} redone: missing or changed output")
    if replaced:
        parts.append(f"{replaced} earlier outputs overwritten: new images under names restored before")
    by_model = dict(summary.get("by_model") or {})
    if by_model:
        copied = by_model.pop("copy", 0)
        models = ", ".join(f"{count} {model}" for model, count in sorted(by_model.items(), key=lambda kv: -kv[1]))
        parts.append(" and ".join(part for part in (models and f"by model: {models}",
                                                    copied and f"{copied} written unchanged") if part))
    psnr = summary["scores"].get("psnr_db_restored")
    if psnr:
        gain = summary["gains"].get("psnr_db")
        parts.append(f"mean PSNR {psnr['mean']:.2f} dB" + (f" ({gain['mean']:+.2f} dB)" if gain else ""))
    output = output.rstrip("/")
    parts.append(f"report {output}/{REPORT_FILE}")
    if errors:
        parts.append(f"rejected inputs and reasons in {output}/errors/{summary['run_id']}/")
    unused = summary.get("unused_masks")
    if unused:
        parts.append(f"{len(unused)} mask{'s' if len(unused) > 1 else ''} matched no input "
                     f"(e.g. {unused[0]}; all in {output}/summary.json)")
    return "; ".join(parts)


REPORT_FILE = "report.html"


def build_report(output: str) -> str:
    """Writes ``OUT/report.html`` from every run's Parquet files, errors and summaries (see
    ``pipelines.report_page``); returns its path."""
    from pipelines import report_data, report_page

    page = report_page.render_html(report_data.collect(output))
    path = FileSystems.join(output, REPORT_FILE)
    output_files.write_atomically(path, page.encode("utf-8"), root=output)
    return path


@user_errors("restoreflow report")
def main(argv: list[str]) -> int:
    output = commands.report().parse_args(argv).output
    try:
        FileSystems.get_filesystem(output)
    except ValueError as e:  # a scheme whose Beam extra is not installed, e.g. gs:// without [gcp]
        raise ConfigError(f"{output}: {e}") from None
    if "://" not in output and not FileSystems.exists(output):
        raise ConfigError(f"{output}: no such folder")
    print(build_report(output))
    return 0
