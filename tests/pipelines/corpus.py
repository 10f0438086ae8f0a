"""Helpers of the archive-integrity corpus tests: every input is accounted for exactly once,
and what OUT/restored/ holds is what the newest row says."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow.parquet as pq

from pipelines import restore


def run_restore(inputs, output, model, *extra):
    args = [f"--input={i}" for i in inputs] + [f"--output={output}", f"--model={model}"]
    return restore.run(args + list(extra))


def rows_of(output: Path, run_id: str) -> list[dict]:
    return [row for f in sorted((output / "scores" / run_id).glob("*.parquet")) for row in pq.read_table(f).to_pylist()]


def errors_of(output: Path, run_id: str) -> list[dict]:
    return [json.loads(line) for f in sorted((output / "errors" / run_id).glob("*.jsonl"))
            for line in f.read_text().splitlines() if line]


def errors_by_id(output: Path, run_id: str) -> dict[str, str]:
    return {e["image_id"]: e["reason"] for e in errors_of(output, run_id)}


def assert_accounted_once(output: Path, summary: dict, expected_ids) -> None:
    """Every expected input is in exactly one row or error of the run, and nothing else is."""
    run_id = summary["run_id"]
    seen = [r["image_id"] for r in rows_of(output, run_id)] + [e["image_id"] for e in errors_of(output, run_id)]
    assert sorted(seen) == sorted(expected_ids)
    assert sum(summary["counts"].values()) == len(list(expected_ids))


def sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def assert_outputs_match_newest_rows(output: Path) -> None:
    """Each image's newest restored row names a distinct file that has the recorded hash."""
    newest = {}
    for f in sorted(output.glob("scores/*/*.parquet")):
        for row in pq.read_table(f).to_pylist():
            if row["status"] == "restored" and row["run_id"] >= newest.get(row["image_id"], {}).get("run_id", ""):
                newest[row["image_id"]] = row
    paths = [row["output_path"] for row in newest.values()]
    assert len(set(paths)) == len(paths), "two images share an output file"
    for row in newest.values():
        assert sha256(row["output_path"]) == row["output_sha256"], row["image_id"]
