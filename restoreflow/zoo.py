"""The bundled models: one folder each under ``model/zoo/`` (model.keras, model.json,
config.yaml), trained by jobs 1 and 2 of this project; their cards say how.

``--model`` (and a training config's ``model.init_from``) takes a bundled name or a model
directory. A job keeps the name, not the path: each worker finds the folder in its own
installed package, which on Dataflow is not where the launcher has it. Nothing here imports
TensorFlow: listing and resolving models is instant.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from restoreflow import commands
from restoreflow.card import CARD_FILE, GENERATOR_TASK, MAX_BF16_COST_DB, STYLE_TASK, ModelCard
from restoreflow.configs import ConfigError, suggest
from restoreflow.console import user_errors
from restoreflow.routing import AUTO_MODELS

DEFAULT = "restore"  # the bundled general restorer: auto's reference geometry, the demo's comparison


def zoo_dir() -> Path:
    # find_spec locates the package without importing it (importing `model` loads TensorFlow).
    return Path(importlib.util.find_spec("model").submodule_search_locations[0]) / "zoo"


def names() -> list[str]:
    """The bundled models' names."""
    root = zoo_dir()
    return sorted(d.name for d in root.iterdir() if (d / CARD_FILE).is_file()) if root.is_dir() else []


def restorers() -> list[str]:
    """The bundled models that restore images (the others estimate damage, ``diagnose``, are
    styles for ``restoreflow stylize``, or generators for ``restoreflow generate``)."""
    return [name for name in names() if read_card(name).task not in ("diagnose", STYLE_TASK, GENERATOR_TASK)]


def styles() -> list[str]:
    """The bundled styles (``restoreflow stylize --model NAME``)."""
    return [name for name in names() if read_card(name).task == STYLE_TASK]


def generators() -> list[str]:
    """The bundled generators (``restoreflow generate --model NAME``)."""
    return [name for name in names() if read_card(name).task == GENERATOR_TASK]


def resolve(ref: str | None) -> str:
    """The model directory for ``ref``: a bundled name, a model directory (local or a bucket),
    or None for the default model."""
    ref = ref or DEFAULT
    if ref in names():
        return str(zoo_dir() / ref)
    if "://" in ref or "/" in ref or Path(ref).exists():
        return ref
    known = names()
    raise ConfigError(
        f"unknown model {ref!r}{suggest(ref, known)}: not a bundled model and no such directory; "
        f"bundled models: {', '.join(known) or 'none (the package is incomplete)'}"
    )


def read_card(name: str) -> ModelCard:
    """A bundled model's card (without loading the model)."""
    path = zoo_dir() / name / CARD_FILE
    return ModelCard.from_json(path.read_text(), source=str(path))


def size_on_disk(name: str) -> int:
    return sum(f.stat().st_size for f in (zoo_dir() / name).iterdir() if f.is_file())


def describe(name: str) -> dict:
    """What `restoreflow models` shows of one bundled model."""
    card = read_card(name)
    return {
        "name": name,
        "auto": name in AUTO_MODELS,  # one of the models --model auto (restore's default) picks from
        "task": card.task,
        "channels": {1: "gray", 3: "colour"}.get(card.channels, str(card.channels)),
        "scale": card.scale,
        "params": card.params,
        "megabytes": size_on_disk(name) / 1e6,
        "mp_per_s": card.mp_per_s,
        "bf16_cost_db": card.bf16_cost_db,
        "headline": card.headline,
        "purpose": card.purpose,
    }


def _table(rows: list[dict]) -> list[str]:
    header = ("name", "task", "channels", "scale", "params", "size", "CPU MP/s", "bf16", "headline scores")
    cells = [header] + [
        (
            row["name"] + (" *" if row["auto"] else ""),
            row["task"],
            row["channels"],
            f"x{row['scale']}",
            f"{row['params'] / 1e6:.2f} M" if row["params"] else "-",
            f"{row['megabytes']:.1f} MB",
            f"{row['mp_per_s']:.2f}" if row["mp_per_s"] else "-",
            _bf16_cell(row["bf16_cost_db"]),
            "; ".join(row["headline"]) or "-",
        )
        for row in rows
    ]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    table = ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in cells]
    return table + [""] + [f"{row['name']}: {row['purpose']}" for row in rows]


def _bf16_cell(cost_db: float | None) -> str:
    """Whether --precision bf16 may run the model, with its measured PSNR cost."""
    if cost_db is None:
        return "-"
    return f"{'yes' if cost_db <= MAX_BF16_COST_DB else 'no'} ({-cost_db:+.2f} dB)"


@user_errors("restoreflow models")
def main(argv: list[str]) -> int:
    """``restoreflow models``."""
    args = commands.models().parse_args(argv)
    rows = [describe(name) for name in names()]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print("\n".join(_table(rows)))
        print(f"\n* --model auto: each image is diagnosed by 'diagnose' and goes to {', '.join(AUTO_MODELS)} by "
              "its damage; undamaged ones are copied unchanged (restoreflow diagnose shows the choice alone). "
              "It is restore's default for a new output; an output keeps the model of its last run.")
    return 0
