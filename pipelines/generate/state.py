"""What a rerun may skip: ``OUT/generated.json`` records, per image file, the settings key it
was made under and its SHA-256. An index is skipped only when the record is for the same key
*and* the file there still has that hash; a missing or changed file is made again. The record
is written (to a temporary name, then renamed) only after a run finished, so a killed run's
files vouch for nothing."""

from __future__ import annotations

import json

from apache_beam.io.filesystems import FileSystems

from pipelines.restore.rerun import sha256_of
from pipelines.runtime import files

STATE_FILE = "generated.json"
IMAGES_FOLDER = "generated"
FORMAT = 1


def image_name(index: int) -> str:
    """Files sort by index (zero-padded) up to a million images."""
    return f"{index:06d}.png"


def image_path(output: str, index: int) -> str:
    return FileSystems.join(output, IMAGES_FOLDER, image_name(index))


def read(output: str) -> dict:
    """The state of ``output``: {"key": ..., "images": {name: {"index", "sha256", ...}}} or empty."""
    path = FileSystems.join(output, STATE_FILE)
    if not FileSystems.exists(path):
        return {"key": None, "images": {}}
    with FileSystems.open(path) as f:
        data = json.loads(f.read().decode())
    return data if data.get("format") == FORMAT else {"key": None, "images": {}}


def to_make(output: str, key: str, count: int, state: dict) -> tuple[list[int], dict]:
    """(indices to make, the recorded images still vouched for)."""
    kept = {}
    if state.get("key") == key:
        for name, entry in state["images"].items():
            if sha256_of(image_path(output, entry["index"])) == entry["sha256"]:
                kept[name] = entry
    done = {entry["index"] for entry in kept.values()}
    return [i for i in range(count) if i not in done], kept


def remove_partials(output: str) -> int:
    """Deletes the PNGs a killed run left half-written (``pipelines.runtime.files``); called by
    the run that holds the output's lock. Returns how many."""
    run_id_like = "[0-9]" * 8 + "T*Z-*"  # the run id's shape (as pipelines.restore.rerun)
    pattern = FileSystems.join(output, IMAGES_FOLDER, f"*{files.PARTIAL_MARK}{run_id_like}")
    found = [m.path for m in FileSystems.match([pattern])[0].metadata_list]
    if found:
        FileSystems.delete(found)
    return len(found)


def write(output: str, key: str, settings: dict, kept: dict, made: list[dict]) -> dict:
    images = {**kept, **{row["name"]: {k: row[k] for k in ("index", "sha256", "seconds")} for row in made}}
    state = {"format": FORMAT, "key": key, "settings": settings,
             "images": dict(sorted(images.items(), key=lambda item: item[1]["index"]))}
    files.write_atomically(FileSystems.join(output, STATE_FILE), json.dumps(state, indent=1).encode(), root=output)
    return state
