"""``restoreflow history OUT``: the quality and speed trend over the restore runs kept in OUT/runs/.

Speed is wall time: from a run's start to its summary, over the images it restored, and the
megapixels it restored per wall second, which is what capacity planning needs (each image's
own time in flight overlaps with the others' and overstates the cost per image)."""

from __future__ import annotations

import json
import sys

from pipelines.report import summaries
from restoreflow import commands
from restoreflow.configs import ConfigError
from restoreflow.console import user_errors


def _mean(summary: dict, section: str, name: str):
    value = summary.get(section, {}).get(name)
    return None if value is None else value["mean"]


def trend_rows(recorded: list[dict]) -> list[dict]:
    rows = []
    for s in recorded:
        seconds_per_image, mp_per_s = summaries.throughput(s)
        rows.append({
            "run_id": s["run_id"],
            "model_id": s.get("model_id"),
            "restored": s["counts"].get("restored", 0),
            "skipped": s["counts"].get("skipped", 0),
            "errors": s["counts"].get("error", 0),
            "psnr_db": _mean(s, "scores", "psnr_db_restored"),
            "psnr_gain_db": _mean(s, "gains", "psnr_db"),
            "noise_sigma_after": _mean(s, "scores", "noise_sigma_restored"),
            "wall_seconds": s.get("wall_seconds"),
            "wall_seconds_per_image": seconds_per_image,
            "mp_per_s": mp_per_s,
        })
    return rows


def _cell(value, width, digits=2):
    if value is None:
        text = "-"
    elif isinstance(value, float):
        text = f"{value:.{digits}f}"
    else:
        text = str(value)
    return text.rjust(width)


# (key, header, width, digits)
_COLUMNS = (
    ("restored", "restored", 8, 0), ("skipped", "skipped", 8, 0), ("errors", "errors", 6, 0),
    ("psnr_db", "PSNR dB", 8, 2), ("psnr_gain_db", "gain dB", 8, 2), ("noise_sigma_after", "noise σ", 8, 2),
    ("wall_seconds", "wall s", 8, 1), ("wall_seconds_per_image", "s/image", 8, 2), ("mp_per_s", "MP/s", 7, 3),
)


def format_table(rows: list[dict]) -> str:
    """One line per run; s/image and MP/s are wall time over the images the run restored
    (start-up included, as a scheduler sees it), not each image's time in flight."""
    header = f"{'run':<24} {'model':<24} " + " ".join(f"{title:>{width}}" for _, title, width, _ in _COLUMNS)
    lines = [header, "-" * len(header)]
    for r in rows:
        cells = " ".join(_cell(r[key], width, digits) for key, _, width, digits in _COLUMNS)
        lines.append(f"{r['run_id']:<24} {(r['model_id'] or '-')[:24]:<24} {cells}")
    return "\n".join(lines)


@user_errors("restoreflow history")
def main(argv: list[str]) -> int:
    args = commands.history().parse_args(argv)
    recorded = summaries.read_run_summaries(args.output)
    if not recorded:
        raise ConfigError(f"{args.output} has no recorded runs (no runs/*/summary.json)")
    rows = trend_rows(recorded)
    if args.json:
        for row in rows:
            print(json.dumps(row))
    else:
        print(format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
