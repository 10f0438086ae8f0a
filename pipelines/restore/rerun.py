"""What a rerun may skip: only an image whose output on disk verifiably is what was recorded.

The newest "restored" row of an image id (over every earlier finished run, whatever its
settings) says what ``OUT/restored/`` should hold for it, down to the output's SHA-256. An
image is skipped only when that row is for the same input bytes, mask and settings *and* the
file there still has that hash. A file that is missing or different (deleted, overwritten by
hand, by a killed run or by a run with other settings) is redone, and counted as such. Rows
without an output hash (from before hashes were recorded) vouch for nothing.

Rows exist only for runs that finished: a killed run wrote no Parquet, so whatever it wrote
into ``restored/`` fails the hash check of the row that still vouches for that file.
"""

from __future__ import annotations

import dataclasses
import hashlib

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from pipelines.runtime.files import PARTIAL_MARK
from restoreflow import scores
from restoreflow.diagnosis import COLUMN_PREFIX as DIAGNOSIS_PREFIX, Diagnosis

STATE_COLUMNS = (
    "image_id", "run_id", "content_sha256", "mask_sha256", "settings_key", "status", "output_path",
    "output_sha256", "crop_path",
    # --model auto recomputes an image's choice from the diagnosis stored for its bytes
    *(f"{DIAGNOSIS_PREFIX}{f.name}" for f in dataclasses.fields(Diagnosis)),
)
MISSING = "missing output"
CHANGED = "changed output"
REPLACED = scores.REPLACED


def sha256_of(path: str) -> str | None:
    """The file's SHA-256, or None when it cannot be read (missing, or a folder)."""
    digest = hashlib.sha256()
    try:
        with FileSystems.open(path) as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
    except Exception:  # noqa: BLE001 - each filesystem has its own "not found"
        return None
    return digest.hexdigest()


def decide(previous: dict | None, *, content_sha256: str, mask_sha256: str | None,
           settings_key: str) -> tuple[bool, str | None]:
    """(skip?, why the image is written again: MISSING or CHANGED (redone), REPLACED (other
    bytes under a name whose earlier output is still there, e.g. a new scan in a nightly
    incoming folder: that output is overwritten, and the summary says so), else None)."""
    same_work = previous is not None and (previous["content_sha256"], previous.get("mask_sha256"),
                                          previous["settings_key"]) == (content_sha256, mask_sha256, settings_key)
    if not same_work:
        replaced = (previous is not None and previous["content_sha256"] != content_sha256
                    and previous["output_path"] is not None and FileSystems.exists(previous["output_path"]))
        return False, REPLACED if replaced else None
    if previous["output_path"] is None:  # --write_images none: scores only, no file to check
        return True, None
    actual = sha256_of(previous["output_path"])
    if actual is None:
        return False, MISSING
    return (True, None) if actual == previous.get("output_sha256") else (False, CHANGED)


def read_state(path: str) -> list[dict]:
    """One scores file's restored rows, with the state columns (null where the file predates
    a column)."""
    rows = scores.read_file(path).select(list(STATE_COLUMNS)).to_pylist()
    return [row for row in rows if row["status"] == "restored"]


def remove_partials(output: str) -> int:
    """Deletes the temporary files killed runs left (``pipelines.runtime.files``) under
    restored/, crops/ and runs/ and beside summary.json and report.html; called by the run that
    holds the output's lock, so no other run is writing them. Returns how many."""
    run_id_like = "[0-9]" * 8 + "T*Z-*"  # the run id's shape, so an image named a.partial-b.png is not one
    patterns = [FileSystems.join(output, folder, f"**{PARTIAL_MARK}{run_id_like}")
                for folder in ("restored", "crops", "runs")]
    patterns.append(FileSystems.join(output, f"*{PARTIAL_MARK}{run_id_like}"))
    found = [m.path for result in FileSystems.match(patterns) for m in result.metadata_list]
    if found:
        FileSystems.delete(found)
    return len(found)


def _newest(rows):
    return max(rows, key=lambda r: r["run_id"])


class PreviousResults(beam.PTransform):
    """The pipeline -> (image_id, newest restored row) over ``scores_files``; a side input for
    ``decide`` (``beam.pvalue.AsDict``)."""

    def __init__(self, scores_files: list[str]):
        super().__init__()
        self._files = scores_files

    def expand(self, pipeline):
        return (
            pipeline
            | "Scores files" >> beam.Create(self._files)
            | "Restored rows" >> beam.FlatMap(read_state)
            | "By image id" >> beam.Map(lambda r: (r["image_id"], r))
            | "Newest per image" >> beam.CombinePerKey(_newest)
        )
