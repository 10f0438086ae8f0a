"""A run's summary.json damaged (a full disk, a kill before the rename existed, a hand edit):
``report`` and ``history`` go on with a one-line warning naming it, the run is summarized from
its Parquet files, and the next restore writes whole summaries again."""

import json
import logging

import pytest

from pipelines.report import build, history, summaries
from pipelines.restore import rerun
from tests.helpers.images import photo, write_image
from tests.helpers.restore import make_model, run_restore

pytestmark = pytest.mark.slow  # a real restore run, twice


@pytest.fixture(scope="module")
def restored_once(tmp_path_factory):
    folder = tmp_path_factory.mktemp("damaged")
    inputs = folder / "in"
    for name in ("camera", "moon"):
        write_image(inputs / f"{name}.png", photo(name, (40, 48)))
    model = make_model(folder / "model")
    out = folder / "out"
    first = run_restore([inputs], out, model)
    return inputs, model, out, first


def truncate(path):
    text = path.read_text()
    path.write_text(text[: len(text) // 2])


def test_a_damaged_summary_is_skipped_with_a_warning_and_rebuilt_from_the_files(restored_once, caplog, capsys):
    inputs, model, out, first = restored_once
    run_file = out / "runs" / first["run_id"] / "summary.json"
    truncate(run_file)
    truncate(out / "summary.json")

    with caplog.at_level(logging.WARNING):
        assert build.main([str(out)]) == 0
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and str(run_file) in warnings[0] and "\n" not in warnings[0]
    assert (out / "report.html").stat().st_size > 0

    caplog.clear()
    capsys.readouterr()
    assert history.main([str(out), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["run_id"], r["restored"]) for r in rows] == [(first["run_id"], 2)]
    assert rows[0]["wall_seconds_per_image"] is None  # the run's end is not in its files
    assert any(str(run_file) in r.getMessage() for r in caplog.records)

    again = run_restore([inputs], out, model)
    assert again["counts"] == {"skipped": 2, "error": 0}
    assert json.loads((out / "summary.json").read_text())["run_id"] == again["run_id"]
    assert [s["run_id"] for s in summaries.read_run_summaries(str(out))] == [first["run_id"], again["run_id"]]


def test_summaries_are_renamed_into_place_and_a_killed_write_is_cleaned_up(restored_once):
    _, _, out, first = restored_once
    left = [out / "runs" / first["run_id"] / f"summary.json.partial-{first['run_id']}",
            out / f"summary.json.partial-{first['run_id']}",
            out / "report.html.partial-20260101T000000Z-report"]
    assert not list(out.rglob("*.partial-*")), "the runs themselves leave none"
    for path in left:
        path.write_text("{")
    assert rerun.remove_partials(str(out)) == 3
    assert not list(out.rglob("*.partial-*"))
