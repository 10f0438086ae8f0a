"""``OUT/report.html``: the values the page shows, rendered by a Jinja2 template with
autoescaping (``template.html``), so text from the data is always escaped.

One self-contained page (inline CSS and JavaScript, crops as data: URIs, a security policy
that forbids any fetch): the newest run and every image once, the trend over runs, histograms
of the score changes, crops (see ``report_crops``), a sortable and filterable table linking
each image to its full-size output, and the newest run's errors. Sizes stay bounded:
``MAX_TABLE_ROWS`` table rows, 3 x ``CROPS_PER_GROUP`` crops and ``MAX_ERRORS`` error lines.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import re
import urllib.parse
from pathlib import Path

import jinja2
import markupsafe

from pipelines.report import charts, crops, history, summaries, template
from pipelines.report.data import ImageState, ReportData, gain
from pipelines.report.metrics import METRICS

"""Package data beside this module: the page's HTML, CSS and JavaScript."""

MAX_TABLE_ROWS = 5000
"""The images table embeds at most this many images (the first by image id), about 2 MB of
JSON; the summary, the histograms and the crops still use every image."""
MAX_ERRORS = 1000
"""Error lines listed (the count covers them all)."""

# Trend charts: (history.trend_rows key, title, digits)
TREND_SERIES = (
    ("psnr_db", "mean PSNR after (dB)", 2),
    ("psnr_gain_db", "mean PSNR gain (dB)", 2),
    ("noise_sigma_after", "mean noise \u03c3 after", 2),
    ("mp_per_s", "megapixels per wall second", 3),
    ("restored", "images restored", 0),
)


def run_date(run_id: str | None) -> str:
    started = summaries.run_started(run_id)
    return started.strftime("%Y-%m-%d %H:%M:%S UTC") if started else "date unknown"


def output_href(path: str | None, output: str) -> str | None:
    """A link from OUT/report.html to a restored image: relative under OUT, file: elsewhere on
    this machine; none for a bucket (a browser cannot open gs:// or s3://)."""
    if not path:
        return None
    for base, target in ((output, path), (os.path.abspath(output), os.path.abspath(path))):
        if "://" in target and "://" not in base:
            break
        prefix = base.rstrip("/") + "/"
        if target.startswith(prefix):
            return urllib.parse.quote(target[len(prefix):])
    return Path(path).as_uri() if "://" not in path and os.path.isabs(path) else None


def code_spans(text: str) -> markupsafe.Markup:
    """Plain text with `backquoted` commands shown as code (everything else escaped)."""
    return markupsafe.Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(markupsafe.escape(text))))


def _json_value(value):
    """JSON has no Infinity or NaN: infinite scores (identical images) travel as "inf"."""
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return float(f"{value:.6g}")  # six digits are plenty on screen and keep the page small
    return value


def script_json(value) -> markupsafe.Markup:
    """JSON safe inside <script>: no "</script>", "<!--" or line separators can occur."""
    text = json.dumps(value, separators=(",", ":"), allow_nan=False, ensure_ascii=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                          ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return markupsafe.Markup(text)


# --- sections --------------------------------------------------------------------------------


def cards(data: ReportData) -> list[tuple[str, list[tuple[str, object]]]]:
    latest = data.latest_run
    latest_rows = [r for r in data.rows if r["run_id"] == latest]
    scored = [i.scores for i in data.images if i.scores]
    summary = next((s for s in data.summaries if s["run_id"] == latest), None)

    def count(rows, status):
        return sum(1 for r in rows if r["status"] == status)

    errors_label = "errors" if data.errors_run == latest else f"errors (run {data.errors_run})"
    run_card = [
        ("run id", latest),
        ("date", run_date(latest)),
        ("model", ", ".join(sorted({r["model_id"] or "?" for r in latest_rows})) or "\u2013"),
        ("task", ", ".join(sorted({r["task"] or "?" for r in latest_rows})) or "\u2013"),
        ("restored", count(latest_rows, "restored")),
        *([("by model", ", ".join(f"{n} {m}" for m, n in sorted(summary["by_model"].items(), key=lambda kv: -kv[1])))]
          if summary and summary.get("by_model") else []),
        ("skipped (done before)", count(latest_rows, "skipped")),
        (errors_label, len(data.errors)),
    ]
    if summary and summary.get("wall_seconds") is not None:
        per_image, mp_per_s = summaries.throughput(summary)
        run_card.append(("wall time", f"{summary['wall_seconds']:.1f} s"))
        if per_image:
            run_card.append(("speed", f"{per_image:.2f} s per image, {mp_per_s or 0:.3g} MP/s"))
    all_card = [
        ("runs", len(data.runs)),
        ("images", len(data.images)),
        ("newest status restored", sum(1 for i in data.images if i.status == "restored")),
        ("newest status skipped", sum(1 for i in data.images if i.status == "skipped")),
        ("images with scores", len(scored)),
        ("models", ", ".join(sorted({r["model_id"] or "?" for r in scored})) or "\u2013"),
        ("first run", data.runs[0] if data.runs else "\u2013"),
    ]
    return [("Newest run", run_card), ("All runs (each image once)", all_card)]


def means(scored: list[dict]) -> list[dict]:
    lines = []
    for m in METRICS:
        before = summaries.stats([r[f"{m.name}_degraded"] for r in scored])
        after = summaries.stats([r[f"{m.name}_restored"] for r in scored])
        change = summaries.stats([gain(r, m.name) for r in scored])
        if before is None and after is None:
            continue  # e.g. full-reference scores without references
        lines.append({
            "metric": m,
            "before": charts.number(before and before["mean"], m.digits),
            "after": charts.number(after and after["mean"], m.digits),
            "mean_change": charts.number(change and change["mean"], m.digits, signed=True),
            "median_change": charts.number(change and change["p50"], m.digits, signed=True),
            "count": change["count"] if change else 0,
        })
    return lines


def histograms(images: list[ImageState]) -> list[tuple[charts.Chart, str]]:
    figures = []
    for m in METRICS:
        changes = [g for g in (gain(i.scores, m.name) for i in images if i.scores) if g is not None]
        finite = [g for g in changes if math.isfinite(g)]
        if not finite:
            continue
        left_out = len(changes) - len(finite)
        note = f"; {left_out} infinite not shown" if left_out else ""
        chart = charts.histogram(finite, digits=m.digits, title=f"histogram of the {m.label} change")
        figures.append((chart, f"{m.label}: restored \u2212 degraded ({len(finite)} images{note}; {m.reading})"))
    return figures


def trend(data: ReportData) -> dict:
    rows = history.trend_rows(data.summaries)
    runs = [r["run_id"] for r in rows]
    figures = []
    for key, title, digits in TREND_SERIES:
        chart = charts.trend([r[key] if r[key] is None else float(r[key]) for r in rows], runs, digits=digits,
                             title=f"{title} over runs")
        if chart:
            figures.append((chart, title))
    return {"rows": rows, "figures": figures, "dates": {run: run_date(run) for run in runs}}


def crop_groups(data: ReportData, order: crops.Ranking) -> list[tuple[str, list[crops.Crop]]]:
    return [
        (title, [crops.crop(image, data.output, output_href(image.scores.get("output_path"), data.output))
                 for image in images])
        for title, images in crops.pick(data.images, order) if images
    ]


def table_data(data: ReportData, order: crops.Ranking) -> dict:
    """Columns and rows (lists, to keep the JSON small; each row ends with the link to its
    restored image) of the images table, for the page's script; the first MAX_TABLE_ROWS
    images by id."""
    scored = [i.scores for i in data.images if i.scores]
    shown = [m for m in METRICS if any(r[f"{m.name}_degraded"] is not None or r[f"{m.name}_restored"] is not None
                                       for r in scored)]
    columns = [
        {"key": "image_id", "label": "image id", "type": "text", "title": "links to the restored image"},
        {"key": "status", "label": "status", "type": "text", "title": "in the newest run that saw the image"},
        {"key": "run_id", "label": "scores from run", "type": "text", "title": "the newest run that restored it"},
    ]
    if any(r.get("chosen_model") for r in scored):  # --model auto: what it found and chose
        columns += [
            {"key": "diagnosis_label", "label": "damage found", "type": "text",
             "title": "the diagnosis: undamaged (no damage the models repair), noise, jpeg, blur, soft or mixed"},
            {"key": "diagnosis_noise_sigma", "label": "noise σ found", "type": "num", "digits": 1,
             "title": "estimated Gaussian noise sigma, 0-255"},
            {"key": "diagnosis_jpeg_quality", "label": "JPEG quality found", "type": "num", "digits": 0,
             "title": "estimated quality; empty when no JPEG blocking was found"},
            {"key": "chosen_model", "label": "model chosen", "type": "text",
             "title": "copy: written unchanged"},
        ]
    elif len({r["model_id"] for r in scored}) > 1:
        columns.append({"key": "model_id", "label": "model", "type": "text"})
    for m in shown:
        columns += [
            {"key": f"{m.name}_degraded", "label": f"{m.label} before", "type": "num", "digits": m.digits,
             "title": m.reading},
            {"key": f"{m.name}_restored", "label": f"{m.label} after", "type": "num", "digits": m.digits,
             "title": m.reading},
            {"key": f"{m.name}_gain", "label": f"{m.label} \u0394", "type": "num", "digits": m.digits, "signed": True,
             "better": 1 if m.full_reference else 0, "title": f"restored \u2212 degraded; {m.reading}"},
        ]
    columns.append({"key": "seconds", "label": "seconds", "type": "num", "digits": 2,
                    "title": "the image's time in flight (overlaps with other images')"})
    rows = []
    for image in data.images[:MAX_TABLE_ROWS]:
        values = dict(image.scores or {})
        values.update({f"{m.name}_gain": gain(values, m.name) for m in shown})
        values.update(image_id=image.image_id, status=image.status)  # the newest run's status, not the scores'
        href = output_href(values.get("output_path"), data.output)
        rows.append([_json_value(values.get(c["key"])) for c in columns] + [href])
    keys = [c["key"] for c in columns]
    gain_key = f"{order.metric.name}_gain"
    return {
        "columns": columns,
        "rows": rows,
        # the filter: the crops' order; sign -1 turns a change into a reduction
        "criterion": {"column": keys.index(gain_key) if gain_key in keys else 0, "sign": order.sign},
    }


def errors(data: ReportData) -> dict:
    stages = {}
    for error in data.errors:
        stages[str(error.get("stage"))] = stages.get(str(error.get("stage")), 0) + 1
    shown = sorted(data.errors, key=lambda e: (str(e.get("stage")), str(e.get("image_id") or e.get("source"))))
    return {"run": data.errors_run, "count": len(data.errors), "by_stage": sorted(stages.items()),
            "shown": shown[:MAX_ERRORS], "capped": len(shown) > MAX_ERRORS}


# --- the page --------------------------------------------------------------------------------


def render_html(data: ReportData) -> str:
    source = template.source()
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
                                     lstrip_blocks=True)
    order = crops.ranking(data)
    latest = next((s for s in data.summaries if s["run_id"] == data.latest_run), {})
    scored = [i.scores for i in data.images if i.scores]
    page = environment.from_string(source).render(
        number=charts.number,
        csp=template.content_security_policy(source),
        data=data,
        latest_date=run_date(data.latest_run),
        built=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        guidance=[code_spans(note) for note in latest.get("guidance", [])],
        cards=cards(data),
        means=means(scored),
        scored_count=len(scored),
        trend=trend(data),
        histograms=histograms(data.images),
        order=order,
        crop_groups=crop_groups(data, order),
        crops_per_group=crops.CROPS_PER_GROUP,
        sample_seed=crops.SAMPLE_SEED,
        table_rows_shown=min(len(data.images), MAX_TABLE_ROWS),
        table_json=script_json(table_data(data, order)),
        errors=errors(data),
        max_errors=MAX_ERRORS,
    )
    for tag in ("script", "style"):  # the policy allows exactly the template's own: same text
        if template.bodies(tag, page) != template.bodies(tag, source):
            raise RuntimeError(f"{template.TEMPLATE}: a <{tag}> changed while rendering; its hash would not match")
    return page
