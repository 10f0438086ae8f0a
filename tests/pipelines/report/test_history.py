import json

import pyarrow as pa

from pipelines.report import history, summaries
from restoreflow import scores


def run_summary(run_id, *, restored, wall, megapixels, seconds_in_flight=18.3):
    return {
        "run_id": run_id, "model_id": "m", "counts": {"restored": restored, "skipped": 1, "error": 2},
        "wall_seconds": wall, "megapixels_restored": megapixels, "seconds": {"mean": seconds_in_flight},
        "scores": {"psnr_db_restored": {"mean": 30.0}}, "gains": {"psnr_db": {"mean": 2.5}},
    }


def test_speed_is_wall_time_over_the_restored_images_not_time_in_flight():
    old = {"run_id": "20260101T000000Z-old", "counts": {"restored": 3}, "scores": {}, "gains": {}}  # no wall time kept
    rows = history.trend_rows([old, run_summary("20260102T000000Z-new", restored=20, wall=72.0, megapixels=36.0)])
    assert rows[0]["wall_seconds_per_image"] is None and rows[0]["mp_per_s"] is None
    assert rows[1]["wall_seconds_per_image"] == 3.6 and rows[1]["mp_per_s"] == 0.5
    table = history.format_table(rows).splitlines()
    assert table[0].split()[-4:] == ["wall", "s", "s/image", "MP/s"]
    assert table[3].split()[-3:] == ["72.0", "3.60", "0.500"] and table[2].split()[-3:] == ["-", "-", "-"]


def test_history_reads_every_run(tmp_path, capsys):
    for run_id in ("20260102T000000Z-b", "20260101T000000Z-a"):
        (tmp_path / "runs" / run_id).mkdir(parents=True)
        (tmp_path / "runs" / run_id / "summary.json").write_text(
            json.dumps(run_summary(run_id, restored=4, wall=8.0, megapixels=2.0)))
    assert history.main([str(tmp_path), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["run_id"] for r in rows] == ["20260101T000000Z-a", "20260102T000000Z-b"]
    assert rows[0]["wall_seconds_per_image"] == 2.0 and rows[0]["mp_per_s"] == 0.25


def test_summary_records_wall_time_and_megapixels_restored():
    table = pa.Table.from_pylist([
        {"image_id": "a", "status": "restored", "run_id": "r", "width_in": 2000, "height_in": 1000},
        {"image_id": "b", "status": "restored", "run_id": "r", "width_in": 1000, "height_in": 1000},
        {"image_id": "c", "status": "skipped", "run_id": "r"},
    ], schema=scores.SCHEMA)
    summary = summaries.summarize(table, [], run_id="20200101T000000Z-abcdef", model_id="m")
    assert summary["megapixels_restored"] == 3.0 and summary["wall_seconds"] > 0
    assert summaries.summarize(table, [], run_id="not-a-time", model_id="m")["wall_seconds"] is None


def test_summary_line_names_the_report_and_the_errors_folder():
    line = summaries.summary_line(run_summary("R1", restored=20, wall=72.0, megapixels=36.0), "gs://b/out/")
    assert line.startswith("restore run R1: 20 restored, 1 skipped, 2 rejected in 72.0 s (0.5 MP/s)")
    assert "mean PSNR 30.00 dB (+2.50 dB)" in line
    assert "report gs://b/out/report.html" in line and "rejected inputs and reasons in gs://b/out/errors/R1/" in line
    clean = run_summary("R2", restored=1, wall=1.0, megapixels=1.0)
    clean["counts"]["error"] = 0
    assert "errors/" not in summaries.summary_line(clean, "out")
