"""The scores table contract: typed rows, the schema in one place, versions read or refused."""

from __future__ import annotations

import math
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from restoreflow import scores
from restoreflow.scores import ScoreRow, ScoresVersionError

REQUIRED = {"image_id": "a.png", "source": "/in/a.png", "status": "restored", "run_id": "20260101T000000Z-abc",
            "settings_key": "k", "model_id": "m", "task": "denoise"}


def write(path, rows, *, version=scores.SCHEMA_VERSION, drop=()):
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist([row.to_dict() for row in rows], schema=scores.SCHEMA).drop_columns(list(drop))
    metadata = None if version is None else {scores.VERSION_KEY: str(version).encode()}
    pq.write_table(table.replace_schema_metadata(metadata), path)
    return str(path)


def test_rows_are_typed_and_undefined_scores_are_null():
    row = ScoreRow(**REQUIRED, psnr_db_restored=float("nan"), ssim_restored=math.inf, width_in=3)
    assert row.psnr_db_restored is None and row.ssim_restored == math.inf and row.channels is None
    assert list(row.to_dict()) == scores.SCHEMA.names
    with pytest.raises(TypeError, match="psnr_db_restord"):
        ScoreRow(**REQUIRED, psnr_db_restord=1.0)
    with pytest.raises(TypeError, match="model_id"):
        ScoreRow(**{k: v for k, v in REQUIRED.items() if k != "model_id"})
    assert scores.SCHEMA.field("width_in").type == pa.int32() and scores.SCHEMA.field("channels").type == pa.int8()
    assert scores.SCHEMA.metadata == {scores.VERSION_KEY: str(scores.SCHEMA_VERSION).encode()}


def test_one_reader_for_every_run_of_an_output(tmp_path):
    write(tmp_path / "scores" / "20260101T000000Z-a" / "part-0.parquet", [ScoreRow(**REQUIRED)])
    write(tmp_path / "scores" / "20260102T000000Z-b" / "part-0.parquet", [ScoreRow(**{**REQUIRED, "status": "skipped"})])
    write(tmp_path / "scores" / "20260102T000000Z-b" / "beam-temp" / "x.parquet", [ScoreRow(**REQUIRED)])
    assert [scores.run_of(p) for p in scores.files(str(tmp_path))] == ["20260101T000000Z-a", "20260102T000000Z-b"]
    assert scores.read(str(tmp_path)).column("status").to_pylist() == ["restored", "skipped"]
    assert scores.read(str(tmp_path), "20260102T000000Z-b").num_rows == 1
    assert scores.read(str(tmp_path / "nothing")).schema.equals(scores.SCHEMA)
    assert [scores.run_of(p) for p in scores.newest_run(scores.files(str(tmp_path)))] == ["20260102T000000Z-b"]


def test_older_versions_are_read_with_nulls_for_the_columns_they_lacked(tmp_path):
    older = write(tmp_path / "v1.parquet", [ScoreRow(**REQUIRED, crop_path="c.png")], version=1,
                  drop=("output_sha256", "mask_sha256", "redone", "note"))
    table = scores.read_file(older)
    assert table.schema.equals(scores.SCHEMA)
    assert table.to_pylist()[0]["crop_path"] == "c.png" and table.to_pylist()[0]["output_sha256"] is None


def test_a_newer_version_or_a_foreign_table_is_a_clear_error(tmp_path):
    newer = write(tmp_path / "new.parquet", [ScoreRow(**REQUIRED)], version=scores.SCHEMA_VERSION + 1)
    with pytest.raises(ScoresVersionError, match=f"new.parquet has scores schema version {scores.SCHEMA_VERSION + 1}, "
                                                 f"newer than this restoreflow reads \\({scores.SCHEMA_VERSION}\\)"):
        scores.read_file(newer)
    with pytest.raises(ScoresVersionError, match="new.parquet"):
        scores.check_versions([newer])
    foreign = write(tmp_path / "foreign.parquet", [ScoreRow(**REQUIRED)], version=None)
    with pytest.raises(ScoresVersionError, match="foreign.parquet is not a restoreflow scores table"):
        scores.read_file(foreign)


@pytest.mark.slow
def test_the_report_of_an_output_a_newer_version_wrote_is_refused_in_one_line(tmp_path):
    write(tmp_path / "scores" / "20260101T000000Z-a" / "part-0.parquet", [ScoreRow(**REQUIRED)], version=99)
    result = subprocess.run([sys.executable, "-m", "restoreflow.cli", "report", str(tmp_path)], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "has scores schema version 99" in result.stderr


def test_the_contract_loads_no_tensorflow():
    code = "import sys, restoreflow.scores; print('tensorflow' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"
