"""The HTML report: which rows it shows, that it is self-contained and escaped, and that it
renders in headless Chromium without script errors (sorting and filtering included)."""

from __future__ import annotations

import base64
import hashlib
import html
import html.parser
import json
import math
import re
import shutil
import subprocess
from pathlib import Path

import markupsafe
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.report import build, crops as report_crops, data as report_data, page as report_page, summaries
from restoreflow import scores
from restoreflow.scores import ScoreRow
from tests.helpers import browser
from tests.helpers.images import photo, png_bytes

RUN1 = "20261120T101500Z-aaaaaa"
RUN2 = "20261121T204224Z-4e0f6b"
KEY = "settings-k1"
EVIL = "<script>alert(1)</script>.png"
EVIL_REASON = 'cannot decode: <img src=x onerror="alert(2)"> & more'
CROP_SIZE = (24, 20)  # height, width of each half
ADVICE = "the inputs show little noise <b>(median 1.0)</b>. `restoreflow models` lists the bundled models."

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--enable-logging=stderr", "--v=0",
]


# --- a fake restore output -------------------------------------------------------------------


def crop_png(seed: int) -> bytes:
    """degraded | restored, as the restore job writes them (a noisy and a clean photo)."""
    clean = photo("camera", CROP_SIZE)
    noise = np.random.default_rng(seed).normal(0, 20, clean.shape)
    noisy = np.clip(clean + noise, 0, 255).astype(np.uint8)
    gap = np.full((CROP_SIZE[0], 4, 1), 255, np.uint8)
    return png_bytes(np.concatenate([noisy, gap, clean], axis=1))


def restored(out: Path, image_id: str, run: str, psnr: tuple, noise: tuple, crop_path: str | None = None):
    if crop_path is None:
        path = out / "crops" / KEY / (image_id + ".png")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(crop_png(len(image_id)))
        crop_path = str(path)
    return ScoreRow(
        image_id=image_id, source=f"/in/{image_id}", status="restored", run_id=run, settings_key=KEY,
        model_id="dncnn-s25", task="denoise", crop_path=crop_path, output_path=str(out / "restored" / image_id),
        tiles=1, seconds=0.25,
        psnr_db_degraded=psnr[0], psnr_db_restored=psnr[1], ssim_degraded=0.5, ssim_restored=0.8,
        noise_sigma_degraded=noise[0], noise_sigma_restored=noise[1],
        sharpness_degraded=900.0, sharpness_restored=400.0, blockiness_degraded=1.0, blockiness_restored=float("nan"),
    ).to_dict()


def skipped(out: Path, image_id: str, run: str):
    return ScoreRow(
        image_id=image_id, source=f"/in/{image_id}", status="skipped", run_id=run, settings_key=KEY,
        model_id="dncnn-s25", task="denoise", crop_path=str(out / "crops" / KEY / (image_id + ".png")),
    ).to_dict()


def write_parquet(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=scores.SCHEMA), str(path))


def write_errors(path: Path, errors: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(e) + "\n" for e in errors))


@pytest.fixture
def out(tmp_path) -> Path:
    """Run 1 restores five images; run 2 skips three of them, restores moon again (new
    scores) and one new image whose crop was recorded under a path since moved."""
    out = tmp_path / "out"
    run1 = [
        restored(out, "cat.png", RUN1, (20.0, 28.0), (20.0, 3.0)),
        restored(out, "dog.png", RUN1, (22.0, 21.0), (18.0, 9.0)),
        restored(out, "moon.png", RUN1, (19.0, 20.0), (25.0, 20.0)),
        restored(out, "same.png", RUN1, (30.0, math.inf), (1.0, 1.0)),
        restored(out, EVIL, RUN1, (18.0, 24.0), (30.0, 5.0)),
    ]
    write_parquet(out / "scores" / RUN1 / "part-00000-of-00001.parquet", run1)
    moved = restored(out, "new.png", RUN2, (21.0, 26.0), (22.0, 4.0))
    moved["crop_path"] = f"/gone/elsewhere/crops/{KEY}/new.png.png"
    run2 = [
        skipped(out, "cat.png", RUN2),
        skipped(out, "dog.png", RUN2),
        skipped(out, EVIL, RUN2),
        restored(out, "moon.png", RUN2, (19.0, 25.0), (25.0, 6.0)),
        moved,
    ]
    write_parquet(out / "scores" / RUN2 / "part-00000-of-00002.parquet", run2[:3])
    write_parquet(out / "scores" / RUN2 / "part-00001-of-00002.parquet", run2[3:])
    # Beam's temporary files lie deeper: not a finished run's rows.
    write_parquet(out / "scores" / RUN2 / "beam-temp-part-1" / "x.parquet",
                  [restored(out, "temp-only.png", RUN2, (1.0, 2.0), (1.0, 2.0))])
    write_errors(out / "errors" / RUN1 / "errors-00000-of-00001.jsonl",
                 [{"source": "/in/old.txt", "image_id": "old.txt", "stage": "decode", "reason": "old"}])
    write_errors(out / "errors" / RUN2 / "errors-00000-of-00001.jsonl", [
        {"source": f"/in/{EVIL}.tif", "image_id": EVIL + ".tif", "stage": "decode", "reason": EVIL_REASON},
        {"source": "/in/huge.png", "image_id": "huge.png", "stage": "decode", "reason": "too many pixels"},
    ])
    write_summary(out, RUN1, restored=5, skipped=0, errors=1, psnr=(22.0, 26.0), wall=20.0)
    write_summary(out, RUN2, restored=2, skipped=3, errors=2, psnr=(20.0, 25.5), wall=8.0, guidance=[ADVICE])
    return out


def write_summary(out: Path, run: str, *, restored, skipped, errors, psnr, wall, guidance=()):
    """runs/<run>/summary.json as the restore job writes it (the parts the page reads)."""
    path = out / "runs" / run / "summary.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "run_id": run, "model_id": "dncnn-s25", "counts": {"restored": restored, "skipped": skipped, "error": errors},
        "wall_seconds": wall, "megapixels_restored": 0.5 * restored,
        "scores": {"psnr_db_restored": {"mean": psnr[1]}, "noise_sigma_restored": {"mean": 4.0}},
        "gains": {"psnr_db": {"mean": psnr[1] - psnr[0]}}, "guidance": list(guidance),
    }))


# --- reading the page ------------------------------------------------------------------------


class Page(html.parser.HTMLParser):
    """What the tests read from a page: table rows, crops, summary pairs, script errors."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.rows, self.crops, self.pairs, self.js_errors, self.scripts = [], [], {}, [], 0
        self.root = {}
        self._stack, self._cell, self._dt, self._text = [], None, None, None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.root = attrs
        if tag == "script":
            self.scripts += 1
        if tag == "table":
            self._stack.append(attrs.get("id"))
        if tag == "tr" and self._stack[-1:] == ["images-table"]:
            self.rows.append([])
        if tag == "td" and self._stack[-1:] == ["images-table"]:
            self._cell = ""
        if tag == "img" and "crop" in attrs.get("class", ""):
            self.crops.append(attrs)
        if tag in ("dt", "dd", "li"):
            self._text = ""

    def handle_endtag(self, tag):
        if tag == "table" and self._stack:
            self._stack.pop()
        if tag == "td" and self._cell is not None:
            self.rows[-1].append(self._cell)
            self._cell = None
        if tag == "dt":
            self._dt, self._text = self._text, None
        if tag == "dd" and self._dt is not None:
            self.pairs.setdefault(self._dt, self._text)
            self._dt, self._text = None, None
        if tag == "li" and self._text is not None:
            self.js_errors.append(self._text)
            self._text = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data
        if self._text is not None:
            self._text += data

    @property
    def table(self) -> dict[str, list[str]]:
        return {cells[0]: cells for cells in self.rows if cells}


def embedded_data(page: str) -> dict:
    found = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S)
    return json.loads(found.group(1))


def render(path: Path, tmp_path: Path) -> tuple[str, str]:
    """The DOM after the page's scripts ran, and Chromium's log (console messages included)."""
    profile = tmp_path / f"chromium-profile-{path.stem}"
    done = subprocess.run(
        [browser.chromium_or_fail(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", path.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout, done.stderr


def console_messages(log: str) -> list[str]:
    """Chromium logs each console message (errors, CSP violations) as an INFO:CONSOLE line;
    the report itself logs nothing."""
    return [line for line in log.splitlines() if ":CONSOLE" in line]


# --- tests -----------------------------------------------------------------------------------


def test_latest_row_per_image(out):
    data = report_data.collect(str(out))
    assert data.runs == [RUN1, RUN2]
    images = {i.image_id: i for i in data.images}
    assert sorted(images) == sorted(["cat.png", "dog.png", "moon.png", "same.png", "new.png", EVIL])  # no temp-only
    assert (images["cat.png"].status, images["cat.png"].seen_run, images["cat.png"].scores["run_id"]) == (
        "skipped", RUN2, RUN1)
    assert images["moon.png"].status == "restored"
    assert images["moon.png"].scores["run_id"] == RUN2 and images["moon.png"].scores["psnr_db_restored"] == 25.0
    assert images["same.png"].seen_run == RUN1
    assert data.errors_run == RUN2 and [e["image_id"] for e in data.errors] == [EVIL + ".tif", "huge.png"]


def test_latest_images_without_a_restored_row():
    rows = [
        {"image_id": "a", "status": "skipped", "run_id": "2"},
        {"image_id": "a", "status": "restored", "run_id": "1"},
        {"image_id": "b", "status": "skipped", "run_id": "3"},
    ]
    a, b = report_data.latest_images(rows)
    assert (a.status, a.seen_run, a.scores["run_id"]) == ("skipped", "2", "1")
    assert (b.image_id, b.status, b.scores) == ("b", "skipped", None)


def test_page_is_self_contained_and_escaped(out):
    path = build.build_report(str(out))
    assert path == str(out / "report.html")
    page = Path(path).read_text(encoding="utf-8")
    assert not re.search(r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?//""", page, re.I)
    assert "url(" not in page and "@import" not in page
    policy = html.unescape(re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', page).group(1))
    assert policy.startswith("default-src 'none'; img-src data:;")  # no fetch in the browser either
    # Data never reaches the page raw: only the template's three scripts exist.
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert page.count("<script") == 3
    assert markupsafe.escape(EVIL) in page and markupsafe.escape(EVIL_REASON) in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.png" in page
    data = embedded_data(page)
    assert [row[0] for row in data["rows"]] == sorted(["cat.png", "dog.png", "moon.png", "same.png", "new.png", EVIL])
    same = dict(zip([c["key"] for c in data["columns"]], data["rows"][[r[0] for r in data["rows"]].index("same.png")]))
    assert same["psnr_db_restored"] == "inf" and same["psnr_db_gain"] == "inf" and same["blockiness_restored"] is None
    # Crops: best and worst by PSNR gain; the moved crop was found under this OUT.
    assert page.count('<img class="crop"') == 6
    assert "crop not found" not in page


@pytest.mark.slow
def test_report_renders_in_chromium(out, tmp_path):
    path = Path(build.build_report(str(out)))
    dom, log = render(path, tmp_path)
    page = Page(dom)
    assert page.root.get("data-report-ready") == "true", "the page's script did not finish"
    assert page.js_errors == [] and console_messages(log) == []
    # The script built one row per image, in id order, with formatted scores.
    table = page.table
    assert list(table) == sorted(["cat.png", "dog.png", "moon.png", "same.png", "new.png", EVIL])
    assert table[EVIL][:3] == [EVIL, "skipped", RUN1]
    assert table["moon.png"][:3] == ["moon.png", "restored", RUN2]
    assert "+6.00" in table["moon.png"] and "\u221e" in table["same.png"]
    # Every crop decoded to degraded | restored.
    width = 2 * CROP_SIZE[1] + 4
    assert len(page.crops) == 6
    assert {c["data-size"] for c in page.crops} == {f"{width}x{CROP_SIZE[0]}"}
    assert EVIL in {c["alt"] for c in page.crops}
    # Summary: the newest run, and all images each once.
    assert page.pairs["run id"] == RUN2 and page.pairs["date"] == "2026-11-21 20:42:24 UTC"
    assert (page.pairs["restored"], page.pairs["skipped (done before)"], page.pairs["errors"]) == ("2", "3", "2")
    assert (page.pairs["runs"], page.pairs["images"], page.pairs["images with scores"]) == ("2", "6", "6")
    assert page.pairs["model"] == "dncnn-s25"


HARNESS = """
(function () {
  "use strict";
  function button(label) {
    return Array.prototype.find.call(document.querySelectorAll("#images-table th button"),
      function (b) { return b.textContent === label; });
  }
  function ids() {
    return Array.prototype.map.call(document.querySelectorAll("#images-table tbody tr"),
      function (tr) { return tr.cells[0].textContent; });
  }
  function type(id, value) {
    var box = document.getElementById(id);
    box.value = value;
    box.dispatchEvent(new Event("input"));
  }
  var seen = {};
  button("PSNR dB \\u0394").click();
  seen.gainDescending = ids();
  button("PSNR dB \\u0394").click();
  seen.gainAscending = ids();
  button("image id").click();
  seen.idAscending = ids();
  type("filter-text", "SKIP");
  seen.skipped = ids();
  type("filter-text", "");
  type("filter-gain", "5.5");
  seen.gainAtLeast = ids();
  seen.count = document.getElementById("row-count").textContent;
  var box = document.createElement("pre");
  box.id = "harness";
  box.textContent = JSON.stringify(seen);
  document.body.appendChild(box);
})();
"""


def with_script(page: str, script: str, *, allow: bool) -> str:
    """``page`` with ``script`` appended, and allowed by its security policy if ``allow``."""
    if allow:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        page = page.replace("script-src ", f"script-src 'sha256-{digest}' ", 1)
    return page.replace("</body>", f"<script>{script}</script></body>")


@pytest.mark.slow
def test_sorting_and_filtering_in_chromium(out, tmp_path):
    page = Path(build.build_report(str(out))).read_text(encoding="utf-8")
    driven = tmp_path / "driven.html"
    driven.write_text(with_script(page, HARNESS, allow=True), encoding="utf-8")
    dom, log = render(driven, tmp_path)
    assert Page(dom).js_errors == [] and console_messages(log) == []
    seen = json.loads(html.unescape(re.search(r'<pre id="harness">(.*?)</pre>', dom, re.S).group(1)))
    # PSNR gains: same inf, cat 8, evil 6, moon 6 (run 2), new 5, dog -1.
    assert seen["gainDescending"] == ["same.png", "cat.png", EVIL, "moon.png", "new.png", "dog.png"]
    assert seen["gainAscending"] == ["dog.png", "new.png", EVIL, "moon.png", "cat.png", "same.png"]
    assert seen["idAscending"] == sorted(seen["idAscending"], key=str.lower)
    assert sorted(seen["skipped"]) == sorted(["cat.png", "dog.png", EVIL])
    assert sorted(seen["gainAtLeast"]) == sorted(["same.png", "cat.png", EVIL, "moon.png"])
    assert seen["count"] == "showing 4 of 6 images"


@pytest.mark.slow
def test_chromium_check_catches_injected_scripts_and_fetches(out, tmp_path):
    """The checks above would see an escaping mistake: the page's policy blocks a script that
    is not the template's, and any fetch, and the page and Chromium's log both report it."""
    page = Path(build.build_report(str(out))).read_text(encoding="utf-8")
    bad = tmp_path / "bad.html"
    injected = with_script(page, "document.title = 'pwned';", allow=False)
    bad.write_text(injected.replace("</body>", '<img src="https://example.invalid/x.png"></body>'), encoding="utf-8")
    dom, log = render(bad, tmp_path)
    errors = Page(dom).js_errors
    assert any("script-src" in e for e in errors) and any("example.invalid" in e for e in errors), errors
    assert len(console_messages(log)) >= 2
    assert not re.search(r"<title>[^<]*pwned", dom)


def test_caps_keep_the_page_bounded(out, monkeypatch):
    monkeypatch.setattr(report_page, "MAX_TABLE_ROWS", 3)
    monkeypatch.setattr(report_crops, "CROPS_PER_GROUP", 1)
    monkeypatch.setattr(report_page, "MAX_ERRORS", 1)
    page = Path(build.build_report(str(out))).read_text(encoding="utf-8")
    assert [row[0] for row in embedded_data(page)["rows"]] == sorted(["cat.png", "dog.png", EVIL])
    assert "first 3 of 6 images by id" in page
    assert page.count('<img class="crop"') == 3
    assert "(the first 1 listed)" in page


def test_without_a_reference_no_output_is_called_better(out):
    for path in (out / "scores").glob("*/*.parquet"):
        table = pq.read_table(path).to_pylist()
        for r in table:
            r["psnr_db_degraded"] = r["psnr_db_restored"] = r["ssim_degraded"] = r["ssim_restored"] = None
        write_parquet(path, table)
    page = Path(build.build_report(str(out))).read_text(encoding="utf-8")
    assert "Best by" not in page and "Worst by" not in page
    largest = page.split("<h3>Largest noise \u03c3 reduction</h3>", 1)[1].split("<h3>Smallest", 1)[0]
    assert 'alt="cat.png"' in largest  # noise 20 -> 3: the largest reduction
    # ... shown beside the other signals, sharpness 900 -> 400 included, with no winner declared.
    cat = largest.split('alt="cat.png"', 1)[1].split("</figure>", 1)[0]
    assert "noise \u03c3 20.00 \u2192 3.00" in cat and "sharpness 900.0 \u2192 400.0" in cat and "PSNR" not in cat
    columns = embedded_data(page)["columns"]
    assert "PSNR dB before" not in {c["label"] for c in columns}
    assert not any(c.get("better") for c in columns), "only scores against a reference are coloured"


def test_missing_crops_are_noted_not_fatal(out):
    shutil.rmtree(out / "crops")
    page = Path(build.build_report(str(out))).read_text(encoding="utf-8")
    assert "crop not found" in page and '<img class="crop"' not in page


def test_write_run_summary_writes_the_run_and_the_latest_summary(out):
    summary = summaries.write_run_summary(str(out), RUN2, "dncnn-s25")
    assert summary["run_id"] == RUN2 and summary["counts"] == {"restored": 2, "skipped": 3, "error": 2}
    assert json.loads((out / "summary.json").read_text()) == summary
    assert summaries.read_run_summary(str(out), RUN2) == summary


def test_a_report_problem_after_a_run_is_a_warning(out, monkeypatch, caplog):
    def broken(data):
        raise RuntimeError("boom")

    monkeypatch.setattr(report_page, "render_html", broken)
    assert build.try_build_report(str(out)) is None
    assert "restoreflow report" in caplog.text and not (out / "report.html").exists()


def test_files_from_before_a_column_existed(out):
    path = out / "scores" / RUN1 / "part-00000-of-00001.parquet"
    pq.write_table(pq.read_table(path).drop_columns(["crop_path"]), path)
    page = Path(build.build_report(str(out))).read_text(encoding="utf-8")
    images = {i.image_id: i for i in report_data.collect(str(out)).images}
    assert images["cat.png"].scores["crop_path"] is None and images["moon.png"].scores["crop_path"]
    assert page.count('<img class="crop"') == 2  # moon and new, from run 2


def test_cli(out, tmp_path, capsys):
    assert build.main([str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out / "report.html")
    assert build.main(["--help"]) == 0
    assert "OUT" in capsys.readouterr().out
    (tmp_path / "empty").mkdir()
    for argv in ([], [str(tmp_path / "missing")], [str(tmp_path / "empty")], [str(out), "--bogus"]):
        assert build.main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("restoreflow report: error: ") and err.count("\n") == 1, err


def test_cli_dispatcher_runs_report(out, capsys):
    from restoreflow import cli

    assert cli.main(["report", str(out)]) == 0
    assert (out / "report.html").exists()


def test_trend_over_runs_is_plotted_and_listed(out):
    page = Path(build.build_report(str(out))).read_text(encoding="utf-8")
    trend = page.split('<section id="trend">', 1)[1].split("</section>", 1)[0]
    chart = trend.split('aria-label="mean PSNR gain (dB) over runs"', 1)[1].split("</svg>", 1)[0]
    assert chart.count("<circle") == 2 and f"{RUN1}: 4.00" in chart and f"{RUN2}: 5.50" in chart
    assert 'aria-label="megapixels per wall second over runs"' in trend
    runs = re.findall(r"<tr><td><code>([^<]+)</code>", trend)
    assert runs == [RUN2, RUN1], "newest first"
    assert "<td class=\"num\">4.00</td>" in trend and "<td class=\"num\">0.125</td>" in trend  # 8 s / 2, 1 MP / 8 s

    shutil.rmtree(out / "runs" / RUN2)
    one = Path(build.build_report(str(out))).read_text(encoding="utf-8")
    assert "One run so far" in one and "over runs" not in one


def test_advice_on_the_inputs_is_shown_escaped(out):
    page = Path(build.build_report(str(out))).read_text(encoding="utf-8")
    assert "About the inputs:" in page and "<b>(median" not in page
    assert "little noise &lt;b&gt;(median 1.0)&lt;/b&gt;. <code>restoreflow models</code> lists" in page


def test_images_link_to_their_full_size_outputs(out):
    page = Path(build.build_report(str(out))).read_text(encoding="utf-8")
    rows = {row[0]: row for row in embedded_data(page)["rows"]}
    assert rows["cat.png"][-1] == "restored/cat.png"
    assert rows[EVIL][-1] == "restored/%3Cscript%3Ealert%281%29%3C/script%3E.png"
    assert '<a href="restored/moon.png"><img class="crop"' in page


def test_output_links_are_relative_under_the_output_and_never_to_buckets(tmp_path):
    out = str(tmp_path / "out")
    assert report_page.output_href(f"{out}/restored/a b#1?.png", out) == "restored/a%20b%231%3F.png"
    assert report_page.output_href(f"{out}/restored/x.png", out + "/") == "restored/x.png"
    assert report_page.output_href("/elsewhere/x.png", out) == "file:///elsewhere/x.png"
    assert report_page.output_href("gs://bucket/out/restored/x.png", "gs://bucket/out") == "restored/x.png"
    assert report_page.output_href("gs://bucket/other/x.png", "gs://bucket/out") is None
    assert report_page.output_href(None, out) is None


def test_crops_with_a_reference_say_so(out):
    path = out / "scores" / RUN2 / "part-00001-of-00002.parquet"
    rows = pq.read_table(path).to_pylist()
    for row in rows:
        row["reference"] = "paired"
    write_parquet(path, rows)
    page = Path(build.build_report(str(out))).read_text(encoding="utf-8")
    moon = page.split('alt="moon.png"', 1)[1].split("</figure>", 1)[0]
    assert "degraded | restored | reference" in moon and "PSNR dB 19.00 \u2192 25.00 (+6.00)" in moon
    cat = page.split('alt="cat.png"', 1)[1].split("</figure>", 1)[0]
    assert "degraded | restored<" in cat


LAYOUT_PROBE = """(function () {
  var table = document.querySelector("#images .scroll");
  return {
    ready: document.documentElement.getAttribute("data-report-ready"),
    jsErrors: document.getElementById("js-errors").querySelectorAll("li").length,
    page: document.documentElement.scrollWidth,
    viewport: window.innerWidth,
    tableScrolls: table.scrollWidth > table.clientWidth,
    rows: document.querySelectorAll("#images-table tbody tr").length,
    sticking_out: Array.prototype.filter.call(document.querySelectorAll("body *"), function (e) {
      return e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest(".scroll, .wide");
    }).map(function (e) { return e.tagName + "." + e.className; }).slice(0, 5),
  };
})()"""


@pytest.mark.slow
@pytest.mark.parametrize("width", [1400, 390])
def test_the_page_fits_a_desktop_and_a_phone(out, tmp_path, width):
    """Nothing sticks out of the page at either width: wide tables scroll inside their box."""
    path = Path(build.build_report(str(out)))
    with browser.Chromium(tmp_path / "profile") as chromium:
        chromium.open(path, width=width, height=900, mobile=width < 600)
        seen = chromium.evaluate(LAYOUT_PROBE)
    assert seen["ready"] == "true" and seen["jsErrors"] == 0 and seen["rows"] == 6
    assert seen["viewport"] == width
    assert seen["page"] <= width and seen["sticking_out"] == [], seen
    if width < 600:
        assert seen["tableScrolls"], "the images table scrolls sideways on a phone"
