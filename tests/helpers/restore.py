"""Helpers of the restore job's tests: tiny real models, settings, runs and what they leave.

Every input must be accounted for exactly once, and what OUT/restored/ holds must be what the
newest row says (``assert_accounted_once``, ``assert_outputs_match_newest_rows``)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from pipelines import restore
from pipelines.imaging import images
from pipelines.inputs import sources
from pipelines.runtime import options as job_options
from restoreflow import scores
from tests.helpers.images import photo, png_bytes, write_image

TINY_DNCNN = {"channels": 1, "depth": 3, "width": 8, "batch_norm": False}
UNET = {"channels": 1, "width": 4, "levels": 2, "blocks": 1}


def make_model(folder: Path, name="dncnn", args=None, task="denoise", seed=0, prepare=None) -> str:
    """A small randomly initialised (seeded) model directory; ``prepare(model)`` may change its
    weights before the export."""
    import keras

    from model import architectures
    from model.export import export_model

    args = dict(args or TINY_DNCNN)
    keras.utils.set_random_seed(seed)
    model = architectures.build(name, args)
    if prepare:
        prepare(model)
    card = {**architectures.describe(name, args), "task": task, "architecture": {"name": name, "args": args}}
    export_model(model, folder, card=card)
    return str(folder)


def random_tail(model):
    """An untrained U-Net is the identity (its tail is zero); give its tail weights."""
    tail = model.get_layer("tail")
    tail.set_weights([np.random.default_rng(1).normal(0, 0.3, w.shape).astype(np.float32) for w in tail.get_weights()])


def settings_for(output: Path, model: str, *flags: str) -> restore.Settings:
    """The job's settings for these flags, resolved as the job does (no --input needed)."""
    options = job_options.parse([f"--output={output}", f"--model={model}", *flags], job_options.RestoreOptions,
                                required=())
    return restore.resolve_settings(options)


def item(image_id: str, pixels: np.ndarray | None = None, *, data: bytes | None = None, **save) -> sources.ImageBytes:
    """An input as the job reads it: PNG bytes of ``pixels`` (or ``data`` as given)."""
    return sources.ImageBytes(image_id, png_bytes(pixels, **save) if data is None else data, f"/in/{image_id}")


def run_restore(inputs, output, model, *extra) -> dict:
    args = [f"--input={i}" for i in inputs] + [f"--output={output}", f"--model={model}"]
    return restore.run(args + list(extra))


def rows_of(output: Path, run_id: str = "*") -> list[dict]:
    return scores.read(str(output), run_id).to_pylist()


def errors_of(output: Path, run_id: str = "*") -> list[dict]:
    return [json.loads(line) for f in sorted(output.glob(f"errors/{run_id}/*.jsonl"))
            for line in f.read_text().splitlines() if line]


def errors_by_id(output: Path, run_id: str) -> dict[str, str]:
    return {e["image_id"]: e["reason"] for e in errors_of(output, run_id)}


def read_pixels(path) -> np.ndarray:
    return images.decode(Path(path).read_bytes()).pixels


def whole_image(model_dir: str, model_input: np.ndarray) -> np.ndarray:
    """The model's float output for a whole float image (no tiles)."""
    from model.export import load_model

    model, _ = load_model(model_dir)
    return model(model_input[None]).numpy()[0]


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
    for row in rows_of(output):
        if row["status"] == "restored" and row["run_id"] >= newest.get(row["image_id"], {}).get("run_id", ""):
            newest[row["image_id"]] = row
    paths = [row["output_path"] for row in newest.values()]
    assert len(set(paths)) == len(paths), "two images share an output file"
    for row in newest.values():
        assert sha256(row["output_path"]) == row["output_sha256"], row["image_id"]


def ids_and_stages(error: dict) -> tuple[str, str]:
    return error["image_id"], error["stage"]


def by_image_id(check):
    """An assert_that matcher: ``check({image_id: element})`` on the whole output."""

    def matcher(elements):
        found = {getattr(e, "image_id", None) or e["image_id"]: e for e in elements}
        assert len(found) == len(elements), "one element per image"
        check(found)

    return matcher


COLOUR_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")


def colour_folder(folder: Path, count: int) -> list[str]:
    ids = []
    for i in range(count):
        write_image(folder / f"{i:02d}.png", photo(COLOUR_PHOTOS[i % len(COLOUR_PHOTOS)], (20 + i % 3, 24)))
        ids.append(f"{i:02d}.png")
    return ids
