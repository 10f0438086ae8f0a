"""The restore job's outputs about quality: the Parquet scores table and summaries.

``SCHEMA`` is the one definition of ``scores/<run>/*.parquet``: one row per input image and
run, with ``status`` "restored" or "skipped" (already done for the same content, model and
settings; its scores are in the run that restored it). Scores come in pairs:
``<metric>_degraded`` (the input as given, or as degraded in paired mode) and
``<metric>_restored``; full-reference ones are null without a reference. ``crop_path`` is a
small side-by-side PNG (degraded | restored) of the image's centre, for the report.

``build_report`` (and ``restoreflow report OUT``) turns every run's Parquet files into one
self-contained ``OUT/report.html``; see its docstring for what the page shows and its caps.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import hashlib
import html
import importlib.resources
import json
import logging
import math
import random
import re
import string

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from restoreflow import commands
from restoreflow.configs import ConfigError
from restoreflow.console import user_errors

logger = logging.getLogger(__name__)

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
        ("crop_path", pa.string()),
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
    scores = {name: _stats(columns.get(name, [])) for name in SCORE_COLUMNS}
    gains = {}
    for name in ("psnr_db", "ssim"):
        pairs = zip(columns.get(f"{name}_restored", []), columns.get(f"{name}_degraded", []))
        gains[name] = _stats([a - b for a, b in pairs if a is not None and b is not None])
    sizes = zip(statuses, columns.get("width_in", []), columns.get("height_in", []))
    megapixels = sum(w * h for status, w, h in sizes if status == "restored" and w and h) / 1e6
    now = datetime.datetime.now(datetime.timezone.utc)
    started = run_started(run_id)
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_id,
        "model_id": model_id,
        "created_utc": now.isoformat(timespec="seconds"),
        "counts": counts,
        "wall_seconds": round((now - started).total_seconds(), 1) if started else None,
        "megapixels_restored": round(megapixels, 4),
        "seconds": _stats(columns.get("seconds", [])),
        "scores": {k: v for k, v in scores.items() if v is not None},
        "gains": {k: v for k, v in gains.items() if v is not None},
    }


def _write_json(path: str, value) -> None:
    with FileSystems.create(path) as f:
        f.write((json.dumps(value, indent=2, sort_keys=True) + "\n").encode())


def write_run_summary(output: str, run_id: str, model_id: str, *, advise=None) -> dict:
    """Summarizes one run's scores and errors into runs/<run>/summary.json and summary.json;
    ``advise(summary)`` gives the notes kept under "guidance" (see pipelines.guidance)."""
    table = read_table(FileSystems.join(output, "scores", run_id))
    errors = read_errors(FileSystems.join(output, "errors", run_id))
    summary = summarize(table, errors, run_id=run_id, model_id=model_id)
    summary["guidance"] = advise(summary) if advise else []
    _write_json(FileSystems.join(output, "runs", run_id, "summary.json"), summary)
    _write_json(FileSystems.join(output, "summary.json"), summary)
    try:
        build_report(output)
    except Exception:  # the run's results are written: a report problem must not fail the run
        logger.warning("could not build %s; rebuild it with: restoreflow report %s",
                       FileSystems.join(output, REPORT_FILE), output, exc_info=True)
    return summary


def read_run_summary(output: str, run_id: str) -> dict:
    with FileSystems.open(FileSystems.join(output, "runs", run_id, "summary.json")) as f:
        return json.loads(f.read())


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
    psnr = summary["scores"].get("psnr_db_restored")
    if psnr:
        gain = summary["gains"].get("psnr_db")
        parts.append(f"mean PSNR {psnr['mean']:.2f} dB" + (f" ({gain['mean']:+.2f} dB)" if gain else ""))
    output = output.rstrip("/")
    parts.append(f"report {output}/{REPORT_FILE}")
    if errors:
        parts.append(f"rejected inputs and reasons in {output}/errors/{summary['run_id']}/")
    return "; ".join(parts)


# ---------------------------------------------------------------------------------------------
# The HTML report

REPORT_FILE = "report.html"
TEMPLATE = "report_template.html"
"""Package data beside this module: the page's HTML, CSS and JavaScript."""

MAX_TABLE_ROWS = 5000
"""The images table embeds at most this many images (the first by image id), about 2 MB of
JSON; the summary, the histograms and the crops still use every image."""
CROPS_PER_GROUP = 4
"""Crops embedded for the best, the worst and a random sample each: at most 12 images."""
MAX_CROP_BYTES = 1 << 20
"""A larger crop file is left out (crops are small by design; this bounds the page)."""
MAX_ERRORS = 1000
"""Error lines listed (the count covers them all)."""
SAMPLE_SEED = 0
"""The random sample of crops is seeded, so rebuilding a report shows the same images."""
HISTOGRAM_BINS = 24

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclasses.dataclass(frozen=True)
class _Metric:
    name: str
    label: str
    digits: int
    better: int  # +1: a higher score is better; -1: lower is better; 0: neither, it describes


_METRICS = (
    _Metric("psnr_db", "PSNR dB", 2, +1),
    _Metric("ssim", "SSIM", 4, +1),
    _Metric("ms_ssim", "MS-SSIM", 4, +1),
    _Metric("noise_sigma", "noise \u03c3", 2, -1),
    # Laplacian variance: deblurring raises it, denoising lowers it (noise is "sharp" too).
    _Metric("sharpness", "sharpness", 1, 0),
    _Metric("blockiness", "blockiness", 3, -1),
)
_BETTER = {+1: "higher is better", -1: "lower is better", 0: "neither better nor worse: it describes"}


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

    @property
    def latest_run(self) -> str | None:
        return self.runs[-1] if self.runs else self.errors_run


@dataclasses.dataclass(frozen=True)
class _Criterion:
    """How the crops rank images: ``sign`` * (restored - degraded) of ``metric``."""

    metric: _Metric
    sign: int
    label: str

    def value(self, image: ImageState) -> float | None:
        gain = _gain(image.scores, self.metric.name) if image.scores else None
        return None if gain is None else self.sign * gain


def _criterion(images: list[ImageState]) -> _Criterion:
    """PSNR gain when any image has a reference; else the reduction of the estimated noise
    sigma (degraded - restored), which denoising (the commonest task), JPEG deblocking and
    blind restoration all lower. For deblurring and super-resolution it is a weak proxy: run
    those with references (paired mode) to rank by PSNR."""
    metrics = {m.name: m for m in _METRICS}
    if any(i.scores and i.scores.get("psnr_db_degraded") is not None for i in images):
        return _Criterion(metrics["psnr_db"], +1, "PSNR gain (dB)")
    return _Criterion(metrics["noise_sigma"], -1, "noise \u03c3 reduction")


# --- reading ---------------------------------------------------------------------------------


def _matches(output: str, *parts: str) -> list[str]:
    return sorted(m.path for m in FileSystems.match([FileSystems.join(output, *parts)])[0].metadata_list)


def _run_folder(path: str) -> str:
    """The run id of ``scores/<run>/part.parquet`` or ``errors/<run>/errors.jsonl``."""
    return path.replace("\\", "/").rstrip("/").split("/")[-2]


def _conform(table: pa.Table) -> pa.Table:
    """``table`` with exactly SCHEMA's columns: files from before a column existed get nulls."""
    columns = [
        table.column(f.name).cast(f.type) if f.name in table.column_names else pa.nulls(len(table), f.type)
        for f in SCHEMA
    ]
    return pa.Table.from_arrays(columns, schema=SCHEMA)


def read_all_scores(output: str) -> tuple[pa.Table, list[str]]:
    """Every run's rows, from ``scores/*/*.parquet`` only (deeper files, such as Beam's
    temporary ones, are not a finished run's), and the run ids found, oldest first."""
    paths = _matches(output, "scores", "*", "*.parquet")
    tables = []
    for path in paths:
        with FileSystems.open(path) as f:
            tables.append(_conform(pq.read_table(f)))
    table = pa.concat_tables(tables) if tables else SCHEMA.empty_table()
    return table, sorted({_run_folder(path) for path in paths})


def read_latest_errors(output: str) -> tuple[str | None, list[dict]]:
    """The newest run with an ``errors/<run>/`` folder, and its error lines."""
    runs = {_run_folder(path) for path in _matches(output, "errors", "*", "*.jsonl")}
    if not runs:
        return None, []
    run = max(runs)
    return run, read_errors(FileSystems.join(output, "errors", run))


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
    table, runs = read_all_scores(output)
    errors_run, errors = read_latest_errors(output)
    if not runs and errors_run is None:
        raise ConfigError(
            f"{output}: holds no scores/<run>/*.parquet nor errors/<run>/*.jsonl: "
            "not a restore job's --output, or no run has finished there"
        )
    wanted = ["image_id", "status", "run_id", "model_id", "task", "crop_path", "seconds", *SCORE_COLUMNS]
    rows = table.select(wanted).to_pylist()
    return ReportData(output, runs, rows, latest_images(rows), errors_run, errors)


def _gain(row: dict, name: str) -> float | None:
    """restored - degraded, or None when either is missing or the difference is undefined."""
    before, after = row.get(f"{name}_degraded"), row.get(f"{name}_restored")
    if before is None or after is None:
        return None
    gain = after - before
    return None if math.isnan(gain) else gain


# --- formatting helpers ----------------------------------------------------------------------


def _e(value) -> str:
    """Text from data (image ids, reasons, paths) made safe for HTML text and attributes."""
    return html.escape("" if value is None else str(value), quote=True)


def _number(value, digits: int, signed: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "\u2013"
    if math.isinf(value):
        return "\u221e" if value > 0 else "\u2212\u221e"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def _run_date(run_id: str | None) -> str:
    try:
        when = datetime.datetime.strptime((run_id or "")[:16], "%Y%m%dT%H%M%SZ")
    except ValueError:
        return "date unknown"
    return when.strftime("%Y-%m-%d %H:%M:%S UTC")


def _dl(items) -> str:
    return "<dl>" + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in items) + "</dl>"


def _json_value(value):
    """JSON has no Infinity or NaN: infinite scores (identical images) travel as "inf"."""
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return float(f"{value:.6g}")  # six digits are plenty on screen and keep the page small
    return value


def _script_json(value) -> str:
    """JSON safe inside <script>: no "</script>", "<!--" or line separators can occur."""
    text = json.dumps(value, separators=(",", ":"), allow_nan=False, ensure_ascii=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                          ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return text


# --- sections --------------------------------------------------------------------------------


def _summary_html(data: ReportData) -> str:
    latest = data.latest_run
    latest_rows = [r for r in data.rows if r["run_id"] == latest]
    scored = [i.scores for i in data.images if i.scores]

    def count(rows, status):
        return sum(1 for r in rows if r["status"] == status)

    errors_label = "errors" if data.errors_run == latest else f"errors (run {data.errors_run})"
    run_card = [
        ("run id", latest),
        ("date", _run_date(latest)),
        ("model", ", ".join(sorted({r["model_id"] or "?" for r in latest_rows})) or "\u2013"),
        ("task", ", ".join(sorted({r["task"] or "?" for r in latest_rows})) or "\u2013"),
        ("restored", count(latest_rows, "restored")),
        ("skipped (done before)", count(latest_rows, "skipped")),
        (errors_label, len(data.errors)),
    ]
    all_card = [
        ("runs", len(data.runs)),
        ("images", len(data.images)),
        ("newest status restored", sum(1 for i in data.images if i.status == "restored")),
        ("newest status skipped", sum(1 for i in data.images if i.status == "skipped")),
        ("images with scores", len(scored)),
        ("models", ", ".join(sorted({r["model_id"] or "?" for r in scored})) or "\u2013"),
        ("first run", data.runs[0] if data.runs else "\u2013"),
    ]
    cards = (
        '<div class="cards">'
        f'<div class="card"><h3>Newest run</h3>{_dl(run_card)}</div>'
        f'<div class="card"><h3>All runs (each image once)</h3>{_dl(all_card)}</div>'
        "</div>"
    )
    return cards + _means_html(scored)


def _means_html(scored: list[dict]) -> str:
    if not scored:
        return '<p class="note">No image has scores yet.</p>'
    lines = []
    for m in _METRICS:
        before = _stats([r[f"{m.name}_degraded"] for r in scored])
        after = _stats([r[f"{m.name}_restored"] for r in scored])
        gain = _stats([_gain(r, m.name) for r in scored])
        if before is None and after is None:
            continue  # e.g. full-reference scores without references
        lines.append(
            f'<tr><th title="{_e(_BETTER[m.better])}">{_e(m.label)}</th>'
            f'<td class="num">{_number(before and before["mean"], m.digits)}</td>'
            f'<td class="num">{_number(after and after["mean"], m.digits)}</td>'
            f'<td class="num">{_number(gain and gain["mean"], m.digits, signed=True)}</td>'
            f'<td class="num">{_number(gain and gain["p50"], m.digits, signed=True)}</td>'
            f'<td class="num">{gain["count"] if gain else 0}</td><td>{_e(_BETTER[m.better])}</td></tr>'
        )
    return (
        f"<h3>Mean scores over the {len(scored)} images with scores</h3>"
        '<p class="note">Each image counts once, with its newest restored row. Infinite values '
        "(an output identical to its reference) are left out of means.</p>"
        "<table><thead><tr><th>score</th><th class=num>degraded</th><th class=num>restored</th>"
        "<th class=num>mean gain</th><th class=num>median gain</th><th class=num>images</th>"
        "<th>direction</th></tr></thead><tbody>" + "".join(lines) + "</tbody></table>"
    )


def _histogram_svg(values: list[float], metric: _Metric) -> str:
    """An inline SVG histogram of the finite gains; a dashed line marks zero (no change)."""
    width, height, left, bottom, top_pad, right = 320, 140, 34, 20, 8, 8
    lo, hi = float(min(values)), float(max(values))
    if lo == hi:  # every image changed by the same amount: one bar around it
        lo, hi = lo - 0.5, hi + 0.5
    counts, edges = np.histogram(values, bins=HISTOGRAM_BINS, range=(lo, hi))
    plot_w, plot_h = width - left - right, height - bottom - top_pad
    tallest = int(counts.max())
    step = plot_w / HISTOGRAM_BINS

    def x_of(value):
        return left + (value - lo) / (hi - lo) * plot_w

    parts = []
    for i, n in enumerate(counts):
        if n:
            bar_h = plot_h * n / tallest
            label = f"{_number(edges[i], metric.digits, True)} to {_number(edges[i + 1], metric.digits, True)}: {n}"
            parts.append(
                f'<rect class="bar" x="{left + i * step:.1f}" y="{top_pad + plot_h - bar_h:.1f}" '
                f'width="{max(step - 1, 1):.1f}" height="{bar_h:.1f}"><title>{_e(label)}</title></rect>'
            )
    if lo < 0 < hi:
        parts.append(f'<line class="zero" x1="{x_of(0):.1f}" x2="{x_of(0):.1f}" y1="{top_pad}" y2="{top_pad + plot_h}"/>')
    base = top_pad + plot_h
    parts += [
        f'<line class="axis" x1="{left}" x2="{left + plot_w}" y1="{base}" y2="{base}"/>',
        f'<text x="{left}" y="{height - 5}">{_number(lo, metric.digits, True)}</text>',
        f'<text x="{left + plot_w}" y="{height - 5}" text-anchor="end">{_number(hi, metric.digits, True)}</text>',
        f'<text x="{left - 4}" y="{top_pad + 8}" text-anchor="end">{tallest}</text>',
        f'<text x="{left - 4}" y="{base}" text-anchor="end">0</text>',
    ]
    name = f"{metric.label} gain"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{_e("histogram of " + name)}">{"".join(parts)}</svg>'
    )


def _histograms_html(images: list[ImageState]) -> str:
    figures = []
    for m in _METRICS:
        gains = [g for g in (_gain(i.scores, m.name) for i in images if i.scores) if g is not None]
        finite = [g for g in gains if math.isfinite(g)]
        if not finite:
            continue
        left_out = len(gains) - len(finite)
        note = f"; {left_out} infinite not shown" if left_out else ""
        figures.append(
            f"<figure>{_histogram_svg(finite, m)}<figcaption>{_e(m.label)}: restored \u2212 degraded "
            f"({len(finite)} images{note}; {_e(_BETTER[m.better])})</figcaption></figure>"
        )
    if not figures:
        return '<p class="note">No image has scores yet.</p>'
    return '<div class="histograms">' + "".join(figures) + "</div>"


def _pick_crops(images: list[ImageState], criterion: _Criterion) -> list[tuple[str, list[ImageState]]]:
    """The best and the worst images by ``criterion`` and a seeded random sample of the rest,
    ``CROPS_PER_GROUP`` each, among images with a crop; no image twice."""
    with_crop = [i for i in images if i.scores and i.scores.get("crop_path")]
    ranked = sorted((i for i in with_crop if criterion.value(i) is not None), key=lambda i: (criterion.value(i), i.image_id))
    best = ranked[::-1][:CROPS_PER_GROUP]
    chosen = {i.image_id for i in best}
    worst = [i for i in ranked if i.image_id not in chosen][:CROPS_PER_GROUP]
    chosen |= {i.image_id for i in worst}
    rest = [i for i in with_crop if i.image_id not in chosen]
    sample = sorted(random.Random(SAMPLE_SEED).sample(rest, min(CROPS_PER_GROUP, len(rest))), key=lambda i: i.image_id)
    return [
        (f"Best by {criterion.label}", best),
        (f"Worst by {criterion.label}", worst),
        ("Random sample", sample),
    ]


def _crop_candidates(path: str, output: str) -> list[str]:
    """The recorded crop path, then the same file under this OUT (for an output folder that
    was copied or moved since the run, e.g. from gs:// to a laptop)."""
    candidates = [path]
    marker = "/crops/"
    if marker in path:
        candidates.append(FileSystems.join(output, "crops", path.split(marker, 1)[1]))
    return candidates


def _crop_data_uri(path: str, output: str) -> tuple[str | None, str]:
    """The crop PNG as a data: URI, or (None, why not)."""
    problem = "crop not found"
    for candidate in _crop_candidates(path, output):
        try:
            if not FileSystems.exists(candidate):
                continue
            with FileSystems.open(candidate) as f:
                data = f.read(MAX_CROP_BYTES + 1)
        except (OSError, ValueError) as e:  # ValueError: e.g. gs:// without the gcp extra
            problem = f"crop unreadable: {e}"
            continue
        if len(data) > MAX_CROP_BYTES:
            return None, f"crop larger than {MAX_CROP_BYTES} bytes, not embedded"
        if not data.startswith(_PNG_MAGIC):
            return None, "crop is not a PNG"
        return "data:image/png;base64," + base64.b64encode(data).decode("ascii"), ""
    return None, problem


def _crops_html(data: ReportData, criterion: _Criterion) -> str:
    groups = _pick_crops(data.images, criterion)
    if not any(images for _, images in groups):
        return '<p class="note">No image has a crop yet.</p>'
    parts = [
        f'<p class="note">Each crop shows the centre of the image: degraded (left) | restored (right). '
        f"Ranked by {_e(criterion.label)}; at most {CROPS_PER_GROUP} per group, the random sample "
        f"seeded ({SAMPLE_SEED}) so a rebuilt report shows the same images.</p>"
    ]
    for title, images in groups:
        if not images:
            continue
        figures = []
        for image in images:
            uri, problem = _crop_data_uri(image.scores["crop_path"], data.output)
            value = criterion.value(image)
            caption = f"{_e(image.image_id)}<br>{_e(criterion.label)}: {_number(value, criterion.metric.digits, True)}"
            if uri is None:
                figures.append(f'<figure><p class="note">{_e(problem)}</p><figcaption>{caption}</figcaption></figure>')
            else:
                figures.append(
                    f'<figure><img class="crop" src="{uri}" alt="{_e(image.image_id)}">'
                    f"<figcaption>{caption}</figcaption></figure>"
                )
        parts.append(f'<h3>{_e(title)}</h3><div class="crops">{"".join(figures)}</div>')
    return "".join(parts)


def _table_data(images: list[ImageState], criterion: _Criterion) -> dict:
    """Columns and rows (lists, to keep the JSON small) of the images table, for the page's
    script; at most MAX_TABLE_ROWS images, the first by id."""
    scored = [i.scores for i in images if i.scores]
    metrics = [m for m in _METRICS if any(r[f"{m.name}_degraded"] is not None or r[f"{m.name}_restored"] is not None for r in scored)]
    several_models = len({r["model_id"] for r in scored}) > 1
    columns = [
        {"key": "image_id", "label": "image id", "type": "text"},
        {"key": "status", "label": "status", "type": "text", "title": "in the newest run that saw the image"},
        {"key": "run_id", "label": "scores from run", "type": "text", "title": "the newest run that restored it"},
    ]
    if several_models:
        columns.append({"key": "model_id", "label": "model", "type": "text"})
    for m in metrics:
        hint = _BETTER[m.better]
        columns += [
            {"key": f"{m.name}_degraded", "label": f"{m.label} before", "type": "num", "digits": m.digits, "title": hint},
            {"key": f"{m.name}_restored", "label": f"{m.label} after", "type": "num", "digits": m.digits, "title": hint},
            {"key": f"{m.name}_gain", "label": f"{m.label} \u0394", "type": "num", "digits": m.digits,
             "signed": True, "better": m.better, "title": f"restored \u2212 degraded; {hint}"},
        ]
    columns.append({"key": "seconds", "label": "seconds", "type": "num", "digits": 2})
    rows = []
    for image in images[:MAX_TABLE_ROWS]:
        values = {}
        if image.scores:
            values.update(image.scores)
            values.update({f"{m.name}_gain": _gain(image.scores, m.name) for m in metrics})
        values.update(image_id=image.image_id, status=image.status)  # the newest run's status, not the scores'
        rows.append([_json_value(values.get(c["key"])) for c in columns])
    keys = [c["key"] for c in columns]
    gain_key = f"{criterion.metric.name}_gain"
    return {
        "columns": columns,
        "rows": rows,
        # the min-gain filter: the crops' criterion; sign -1 turns a change into a reduction
        "criterion": {"column": keys.index(gain_key) if gain_key in keys else 0, "sign": criterion.sign},
    }


def _table_note(data: ReportData) -> str:
    shown = min(len(data.images), MAX_TABLE_ROWS)
    note = (
        "One row per image id: its status in the newest run that saw it, and the scores of its "
        "newest restored row. Click a header to sort."
    )
    if len(data.images) > shown:
        note += (
            f" <strong>The page embeds the first {shown} of {len(data.images)} images by id</strong> "
            "to stay small; the summary, histograms and crops use all of them, and "
            "<code>scores/*/*.parquet</code> holds every row."
        )
    return f'<p class="note">{note}</p>'


def _errors_html(data: ReportData) -> str:
    if data.errors_run is None:
        return '<p class="note">No errors folder: no run has recorded errors.</p>'
    run = f"<code>{_e(data.errors_run)}</code>"
    if not data.errors:
        return f"<p>No input was rejected in run {run}.</p>"
    stages = {}
    for error in data.errors:
        stages[str(error.get("stage"))] = stages.get(str(error.get("stage")), 0) + 1
    by_stage = ", ".join(f"{n} at {_e(stage)}" for stage, n in sorted(stages.items()))
    shown = sorted(data.errors, key=lambda e: (str(e.get("stage")), str(e.get("image_id") or e.get("source"))))
    more = f" (the first {MAX_ERRORS} listed)" if len(shown) > MAX_ERRORS else ""
    lines = "".join(
        f'<tr><td>{_e(e.get("stage"))}</td><td>{_e(e.get("image_id"))}</td><td>{_e(e.get("source"))}</td>'
        f'<td class="reason">{_e(e.get("reason"))}</td></tr>'
        for e in shown[:MAX_ERRORS]
    )
    return (
        f"<p>{len(data.errors)} inputs rejected in run {run}: {by_stage}{more}.</p>"
        "<table><thead><tr><th>stage</th><th>image id</th><th>source</th><th>reason</th></tr></thead>"
        f"<tbody>{lines}</tbody></table>"
    )


# --- the page --------------------------------------------------------------------------------


def _template() -> str:
    return importlib.resources.files(__package__).joinpath(TEMPLATE).read_text(encoding="utf-8")


def _content_security_policy(template: str) -> str:
    """Allows only this template's own scripts and styles (by hash, so text from the data can
    never run even if it escaped escaping) and data: images: no fetch of any kind."""

    def hashes(tag):
        bodies = re.findall(rf"<{tag}>(.*?)</{tag}>", template, re.S)
        return " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(b.encode()).digest()).decode()}'" for b in bodies)

    return (
        f"default-src 'none'; img-src data:; script-src {hashes('script')}; style-src {hashes('style')}; "
        "base-uri 'none'; form-action 'none'"
    )


def render_html(data: ReportData) -> str:
    template = _template()
    criterion = _criterion(data.images)
    built = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    subtitle = (
        f"Output <code>{_e(data.output)}</code> \u00b7 newest run <code>{_e(data.latest_run)}</code> "
        f"({_e(_run_date(data.latest_run))}) \u00b7 report built {built}"
    )
    return string.Template(template).substitute(
        csp=_content_security_policy(template),
        title=_e(f"restoreflow report: {data.latest_run}"),
        subtitle=subtitle,
        summary=_summary_html(data),
        histograms=_histograms_html(data.images),
        crops=_crops_html(data, criterion),
        table_note=_table_note(data),
        criterion_label=_e(criterion.label),
        errors=_errors_html(data),
        data=_script_json(_table_data(data.images, criterion)),
    )


def build_report(output: str) -> str:
    """Writes ``OUT/report.html`` from every run's Parquet files; returns its path.

    One self-contained page (inline CSS and JavaScript, crops as data: URIs, a security
    policy that forbids any fetch): the summary of the newest run and of all images; each
    image once, with its newest "restored" row (by run_id) in a sortable, filterable table;
    before | after crops of the best, the worst (by PSNR gain when references exist, else by
    noise sigma reduction) and a seeded random sample; histograms of the score gains; the
    errors of the newest run with an errors folder. Sizes stay bounded: at most
    ``MAX_TABLE_ROWS`` table rows, 3 x ``CROPS_PER_GROUP`` crops of up to ``MAX_CROP_BYTES``
    each, and ``MAX_ERRORS`` error lines.
    """
    page = render_html(collect(output))
    path = FileSystems.join(output, REPORT_FILE)
    with FileSystems.create(path, mime_type="text/html") as f:
        f.write(page.encode("utf-8"))
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
