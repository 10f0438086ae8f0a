"""Writes what bench/zoo measured into the model cards (``model.json``): ``scores`` (per
benchmark and setting), ``headline`` (1-3 short strings) and ``throughput``. Every other key
of a card stays as it is; a card whose model changed since it was measured is refused.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

from bench.zoo.runs import Measured, Throughput
from restoreflow.card import CARD_FILE, ModelCard

MAX_HEADLINES = 3


def _finite(value: float | None, digits: int) -> float | None:
    """Rounded, or None for a score that does not exist (e.g. an input identical to its reference)."""
    return None if value is None or not math.isfinite(value) else round(value, digits)


def score_entry(measured: Measured, machine: str) -> dict:
    score = measured.score
    entry = {
        "psnr_db": _finite(score.psnr_db, 3),
        "ssim": _finite(score.ssim, 4),
        "psnr_db_degraded": _finite(score.psnr_db_degraded, 3),
        "images": score.images,
        "command": measured.command,
        "machine": machine,
    }
    if measured.recipe:
        entry["recipe"] = measured.recipe
    if measured.baselines:
        entry["baselines_psnr_db"] = measured.baselines
    return entry


def updated_card(card: ModelCard, measured: list[Measured], headlines: list[str], throughput: Throughput | None,
                 machine: str) -> ModelCard:
    """``card`` with these measurements merged in (a new card; the argument is not changed)."""
    entries = {"scores": copy.deepcopy(card.provenance.get("scores", {}))}
    for item in measured:
        if item.model_id != card.model_id:
            raise ValueError(f"measured {item.model_id} but the card is {card.model_id}: the model changed")
        entries["scores"].setdefault(item.benchmark, {})[item.setting] = score_entry(item, machine)
    if not entries["scores"]:
        del entries["scores"]
    if headlines:
        entries["headline"] = headlines[:MAX_HEADLINES]
    if throughput is not None:
        if throughput.model_id != card.model_id:
            raise ValueError(f"timed {throughput.model_id} but the card is {card.model_id}: the model changed")
        entries["throughput"] = {"mp_per_s": throughput.mp_per_s, "images": throughput.images, "machine": machine,
                                 "command": throughput.command}
    return card.with_provenance(**entries)


def write_cards(models: dict[str, str], measured: list[Measured], headlines: dict[str, list[str]],
                throughputs: list[Throughput], machine: str) -> list[Path]:
    """Updates the card of every model that was measured; returns the files written."""
    written = []
    for name, model_dir in sorted(models.items()):
        mine = [m for m in measured if m.model == name]
        timed = next((t for t in throughputs if t.model == name), None)
        if not mine and timed is None:
            continue
        path = Path(model_dir) / CARD_FILE
        card = updated_card(ModelCard.from_json(path.read_text(), str(path)), mine, headlines.get(name, []), timed,
                            machine)
        path.write_text(card.to_json())
        written.append(path)
    return written
