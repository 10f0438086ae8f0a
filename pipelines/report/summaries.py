"""A restore run's summary (``runs/<run>/summary.json``, ``summary.json``): counts, score
statistics and speed, from the run's Parquet rows and error files; and reading them back.

The bottom of the report package: the page (``pipelines.report.page``) and ``history`` read
what is written here. The scores table itself is ``restoreflow.scores``.
"""

from __future__ import annotations

import datetime
import json
import logging

import numpy as np
import pyarrow as pa
from apache_beam.io.filesystems import FileSystems

from pipelines.runtime.files import partial_name, write_atomically
from restoreflow import scores

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


SUMMARY_FILE = "summary.json"
# The keys every reader of a summary indexes: a file without them is damaged.
SUMMARY_KEYS = {"run_id": str, "counts": dict, "scores": dict, "gains": dict}


def _write_json(output: str, path: str, value, run_id: str) -> None:
    data = (json.dumps(value, indent=2, sort_keys=True) + "\n").encode()
    write_atomically(path, data, root=output, temporary=partial_name(path, run_id))


def write_run_summary(output: str, run_id: str, model_id: str, *, advise=None, extra=None) -> dict:
    """Summarizes one run's scores and errors into runs/<run>/summary.json and summary.json;
    ``advise(summary)`` gives the notes kept under "guidance" (see pipelines.restore.guidance);
    ``extra`` adds fields (e.g. "unused_masks")."""
    table = scores.read(output, run_id)
    errors = read_errors(FileSystems.join(output, "errors", run_id))
    summary = summarize(table, errors, run_id=run_id, model_id=model_id)
    summary["guidance"] = advise(summary) if advise else []
    summary.update(extra or {})
    _write_json(output, FileSystems.join(output, "runs", run_id, SUMMARY_FILE), summary, run_id)
    _write_json(output, FileSystems.join(output, SUMMARY_FILE), summary, run_id)
    return summary


def read_run_summary(output: str, run_id: str) -> dict:
    with FileSystems.open(FileSystems.join(output, "runs", run_id, SUMMARY_FILE)) as f:
        return json.loads(f.read())


def _readable_summary(path: str) -> dict | None:
    """A summary file, or None after a one-line warning naming it when it is damaged (a run
    killed by a full disk, a hand edit): the reports go on without it."""
    try:
        with FileSystems.open(path) as f:
            summary = json.loads(f.read())
        if not isinstance(summary, dict):
            raise ValueError("not a JSON object")
        wrong = [key for key, kind in SUMMARY_KEYS.items() if not isinstance(summary.get(key), kind)]
        if wrong:
            raise ValueError(f"no valid {', '.join(wrong)}")
    except (OSError, ValueError) as e:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        logger.warning("skipped %s: damaged (%s); its run is summarized from its Parquet files", path,
                       str(e).splitlines()[0] if str(e) else type(e).__name__)
        return None
    return summary


def read_latest_summary(output: str) -> dict | None:
    """The output's last run's summary: summary.json, or where that is damaged the newest of
    runs/*/; None for an output no run has finished."""
    path = FileSystems.join(output, SUMMARY_FILE)
    if not FileSystems.exists(path):
        return None
    latest = _readable_summary(path)
    if latest is None:
        recorded = read_run_summaries(output)
        latest = recorded[-1] if recorded else None
    return latest


def summary_from_files(output: str, run_id: str) -> dict:
    """A run's summary rebuilt from its Parquet rows and error files, for a run whose
    summary.json is damaged or missing; its wall time is unknown (None)."""
    table = scores.read(output, run_id)
    models = sorted({m for m in table.to_pydict().get("model_id", []) if m})
    summary = summarize(table, read_errors(FileSystems.join(output, "errors", run_id)), run_id=run_id,
                        model_id=models[0] if len(models) == 1 else None)
    return {**summary, "created_utc": None, "wall_seconds": None, "guidance": []}


def read_run_summaries(output: str) -> list[dict]:
    """Every recorded run's summary, oldest first (run ids sort by time): its summary.json, or,
    when that is damaged, one rebuilt from the run's Parquet files (when it has any)."""
    found = FileSystems.match([FileSystems.join(output, "runs", "*", SUMMARY_FILE)])[0].metadata_list
    summaries, damaged = {}, set()
    for meta in found:
        summary = _readable_summary(meta.path)
        if summary is None:
            damaged.add(scores.run_of(meta.path))
        else:
            summaries[summary["run_id"]] = summary
    with_rows = {scores.run_of(path) for path in scores.files(output)}
    for run_id in sorted((damaged & with_rows) - set(summaries)):
        summaries[run_id] = summary_from_files(output, run_id)
    return [summaries[run_id] for run_id in sorted(summaries)]


REPORT_FILE = "report.html"


def throughput(summary: dict) -> tuple[float | None, float | None]:
    """(wall seconds per restored image, restored megapixels per wall second), or None each
    when the summary cannot tell (no image restored, or a summary from before they were kept)."""
    wall, restored = summary.get("wall_seconds"), summary["counts"].get("restored", 0)
    megapixels = summary.get("megapixels_restored")
    if not wall or not restored:
        return None, None
    return wall / restored, (megapixels / wall if megapixels else None)


def summary_line(summary: dict, output: str, job: str = "restore") -> str:
    """One line for the end of a run: counts, time and speed, mean PSNR, and where to look.
    ``job``: restore, or stylize (the same job with a style model)."""
    counts = summary["counts"]
    errors = counts.get("error", 0)
    done = "stylized" if job == "stylize" else "restored"
    head = f"{job} run {summary['run_id']}: {counts.get('restored', 0)} {done}, {counts.get('skipped', 0)} skipped"
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
