"""What the style benchmark (``bench.jobs.style``) leaves: its tables (printed, and appended to
bench/RESULTS.md on request), the sheets of outputs, and the figures in the models' cards."""

from __future__ import annotations

import dataclasses
import datetime
import math
import statistics
from pathlib import Path

import numpy as np
from PIL import Image

from bench.common import ROOT, record_in_card
from bench.jobs.style_methods import output_path, read_rgb
from tools.sheet import sheet

SCORES = (("style_distance", "style distance ↓", 4), ("colour", "colour W1 ↓", 1), ("edge_ssim", "edge SSIM ↑", 3),
          ("content_features", "content features ↓", 3))
MAX_SHEET_BYTES = 1_000_000  # a sheet in the repository stays under this
LABEL_CHAR_PX = 8  # about the width of one character of tools.sheet's labels
LABELS = {"ours": "ours (stylize)", "anchor": "anchor (Magenta)", "gatys": "Gatys"}


@dataclasses.dataclass(frozen=True)
class Summary:
    rows: list  # per (content, style, method): the scores of bench.jobs.style_metrics
    speeds: dict  # (style, method) -> MP/s; (style, "ours/anchor") -> ratio
    gatys_limit: int
    size: int
    rounds: int
    cores: int
    machine: str
    command: str


def means(rows: list[dict], style: str, method: str, contents: set[str] | None = None) -> dict[str, float]:
    chosen = [r for r in rows if r["style"] == style and r["method"] == method
              and (contents is None or r["content"] in contents)]
    found = {key: statistics.fmean(r[key] for r in chosen) if chosen else math.nan for key, _, _ in SCORES}
    return {**found, "images": len(chosen)}


def table(summary: Summary, contents: set[str] | None, *, speed: bool) -> list[str]:
    header = "| style | method | images | " + " | ".join(title for _, title, _ in SCORES)
    lines = [header + (" | MP/s (whole run) |" if speed else " |"),
             "|---|---|---|" + "---|" * (len(SCORES) + speed)]
    for style in dict.fromkeys(r["style"] for r in summary.rows):
        for method in dict.fromkeys(r["method"] for r in summary.rows if r["style"] == style):
            figures = means(summary.rows, style, method, contents)
            cells = [f"{figures[key]:.{digits}f}" for key, _, digits in SCORES]
            if speed:
                mp = summary.speeds.get((style, method))
                cells.append("-" if mp is None else f"{mp:.3f}")
            lines.append(f"| {style} | {LABELS[method]} | {figures['images']} | " + " | ".join(cells) + " |")
    return lines


def markdown(summary: Summary) -> str:
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    lines = [f"## Style synthesis against Magenta's arbitrary-style networks and Gatys "
             f"(`python -m bench.jobs.style`, issue 24), {today}", "",
             f"Command: `{summary.command}`", f"Machine: {summary.machine}.",
             f"Content: Kodak24 at a longer side of {summary.size or 'its own'} px; ours and the anchor timed over "
             f"{summary.rounds} round(s) in alternating order on {summary.cores} cores (median MP/s of each whole run); "
             f"Gatys on the first {summary.gatys_limit} image(s).", ""]
    lines += table(summary, None, speed=True)
    ratios = {style: r for (style, key), r in summary.speeds.items() if key == "ours/anchor"}
    if ratios:
        lines += ["", "ours/anchor speed (median of same-round ratios): "
                  + ", ".join(f"{style} {r:.2f}×" for style, r in ratios.items())]
    gatys = {r["content"] for r in summary.rows if r["method"] == "gatys"}
    if gatys:
        lines += ["", f"On the {len(gatys)} image(s) Gatys ran on:", ""] + table(summary, gatys, speed=False)
    return "\n".join(lines) + "\n"


def append_results(text: str) -> None:
    path = ROOT / "bench" / "RESULTS.md"
    with path.open("a") as f:
        f.write("\n" + text)
    print(f"appended the tables to {path}")


def square(image: np.ndarray, side: int) -> np.ndarray:
    """The centred square of an image, resized to ``side`` pixels (a tile of the sheet)."""
    height, width = image.shape[:2]
    edge = min(height, width)
    top, left = (height - edge) // 2, (width - edge) // 2
    tile = Image.fromarray(image[top: top + edge, left: left + edge]).resize((side, side), Image.LANCZOS)
    return np.asarray(tile)


def write_sheet(path: Path, styles, content: Path, scratch: Path, *, tile: int, per_style: int) -> None:
    """Rows: per style, its first ``per_style`` contents (among Gatys' when it ran); columns:
    content, style, then each method's output."""
    rows = []
    for index, style in enumerate(styles):
        names = sorted(p.name for p in content.iterdir())
        names = [n for n in names if output_path(scratch, style.name, "gatys", n).exists()] or names
        for name in (names[(index * per_style + k) % len(names)] for k in range(min(per_style, len(names)))):
            row = [(Path(name).stem, square(read_rgb(content / name), tile)),
                   (style.name[: tile // LABEL_CHAR_PX], square(read_rgb(style.path), tile))]
            for method in ("ours", "anchor", "gatys"):
                output = output_path(scratch, style.name, method, name)
                pixels = read_rgb(output) if output.exists() else np.full((tile, tile, 3), 200, np.uint8)
                row.append((LABELS[method] if output.exists() else f"{method}: none", square(pixels, tile)))
            rows.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    image = sheet(rows)
    image.save(path, optimize=True)
    note = ""
    if path.stat().st_size > MAX_SHEET_BYTES:  # photographs compress badly in PNG: 256 colours, dithered
        image.quantize(256, dither=Image.Dither.FLOYDSTEINBERG).save(path, optimize=True)
        note = ", 256 colours"
    print(f"wrote {path} ({image.width}x{image.height}{note}, {path.stat().st_size / 1e6:.2f} MB)")


def headline(summary: Summary, style: str, ours: dict, anchor: dict | None) -> list[str]:
    def versus(key: str, digits: int) -> str:
        return f"{ours[key]:.{digits}f}" + (f" (anchor {anchor[key]:.{digits}f})" if anchor else "")

    speed = summary.speeds.get((style, "ours"), math.nan)
    ratio = summary.speeds.get((style, "ours/anchor"))
    return [f"Kodak24 at {summary.size} px, style {style}: style distance {versus('style_distance', 4)}, colour W1 "
            f"{versus('colour', 1)}, edge SSIM {versus('edge_ssim', 3)}, content features {versus('content_features', 3)}",
            f"{speed:.2f} MP/s, the whole stylize job on {summary.cores} cores"
            + (f" ({ratio:.2f}× the anchor's)" if ratio else "")]


def write_cards(summary: Summary, models: dict[str, str]) -> None:
    """Records each style model's figures (and the anchor's and Gatys') in its card:
    scores.style_bench and a headline."""
    for style, directory in models.items():
        figures = {m: _rounded({**means(summary.rows, style, m), "mp_per_s": summary.speeds.get((style, m))})
                   for m in ("ours", "anchor", "gatys") if any(r["method"] == m and r["style"] == style for r in summary.rows)}
        entry = {**figures, "ours_speed_vs_anchor": summary.speeds.get((style, "ours/anchor")), "size_px": summary.size, "rounds": summary.rounds, "machine": summary.machine,
                 "command": summary.command}
        record_in_card(directory, scores={**_scores(directory), "style_bench": entry},
                       headline=headline(summary, style, figures["ours"], figures.get("anchor")))
        print(f"wrote the style benchmark's figures into {directory}")


def _rounded(figures: dict) -> dict:
    return {key: value if value is None or isinstance(value, int) else round(value, 4) for key, value in figures.items()}


def _scores(directory: str) -> dict:
    from restoreflow.card import CARD_FILE, ModelCard

    path = Path(directory) / CARD_FILE
    return ModelCard.from_json(path.read_text(), str(path)).provenance.get("scores", {})
