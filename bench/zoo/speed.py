"""bench/zoo's speed section: every model's megapixels per second through the restore job
(what a user runs: start-up, decoding, tiling, inference, writing the images and the report),
one model at a time, in rounds that alternate the order (the machine is shared and noisy).
"""

from __future__ import annotations

import statistics
from pathlib import Path

from bench.common import restore_job
from bench.zoo.repair import inpaint_recipe
from bench.zoo.runs import SHARED_DISPLAY, Bench, Table, Throughput, fmt, recipe_display
from restoreflow.card import CARD_FILE, ModelCard

SPEED_SET = "cbsd68"  # 68 colour images of 481x321 (bsd68-sized)
STARTER, DEFAULT = "denoise-gray", "restore"


def speed_flags(card: ModelCard, bench: Bench) -> list[str]:
    """An inpainting model needs masks: they come from the inpaint benchmark's recipe."""
    return [f"--degrade={inpaint_recipe(bench.scratch)}", "--seed=0"] if card.takes_mask else []


def timed_runs(bench: Bench, cards: dict[str, ModelCard], rounds: int) -> dict[str, list[float]]:
    """Wall seconds of each model's restore job, ``rounds`` times, alternating the order."""
    names = sorted(cards)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    for round_index in range(rounds):
        for name in names if round_index % 2 == 0 else reversed(names):
            out = bench.out(f"speed-{name}")
            summary = restore_job(bench.folder(SPEED_SET), bench.models[name], out, *speed_flags(cards[name], bench))
            if summary["counts"].get("error"):
                raise RuntimeError(f"the speed run of {name} had errors: see {out}/errors")
            seconds[name].append(summary["wall_seconds"])
    return seconds


def speed(bench: Bench, rounds: int = 2, only: list[str] | None = None) -> None:
    """Every model's MP/s, or only those named in ``only`` (with the gray starter, the yardstick)."""
    megapixels = bench.megapixels(SPEED_SET)
    timed = {name: model_dir for name, model_dir in bench.models.items()
             if only is None or name in only or name == STARTER}
    cards = {name: ModelCard.from_json((Path(model_dir) / CARD_FILE).read_text(), model_dir)
             for name, model_dir in timed.items()}
    seconds = timed_runs(bench, cards, rounds)
    table = Table(f"speed: the restore job on {SPEED_SET} ({megapixels:.2f} input MP), one model at a time",
                  ["model", "task", "channels", "scale", "parameters", "MP/s (input)", "seconds (median)",
                   f"vs {STARTER}", "target"],
                  note=f"Median of {rounds} round(s) in alternating order; wall time of the whole job (pipeline start, "
                       "model load, decoding, inference, writing the images and the report).")
    rates = {name: megapixels / statistics.median(seconds[name]) for name in sorted(cards)}
    for name, rate in rates.items():
        card = cards[name]
        ratio = rate / rates[STARTER] if STARTER in rates else None
        target = "-"
        if name == DEFAULT:
            target = "≥ starter: " + ("not measured (no starter)" if ratio is None else "met" if ratio >= 1.0
                                      else "**missed**")
        table.row(name, card.task, card.channels, card.scale, f"{card.params:,}", f"**{rate:.3f}**",
                  fmt(statistics.median(seconds[name]), 1), fmt(ratio), target)
        masks = f" --degrade {recipe_display(inpaint_recipe(bench.scratch))} --seed 0" if card.takes_mask else ""
        bench.throughputs.append(Throughput(
            model=name, model_id=card.model_id, mp_per_s=round(rate, 3),
            images=_count(bench),
            command=f"restoreflow restore --input {SHARED_DISPLAY}/{SPEED_SET} --model {name} --output OUT{masks}",
        ))


def _count(bench: Bench) -> int:
    from bench.common import image_files

    return len(image_files(bench.folder(SPEED_SET)))
