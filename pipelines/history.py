"""``restoreflow history OUT``: the quality trend over the restore runs kept in OUT/runs/."""

from __future__ import annotations

import argparse
import json
import sys

from apache_beam.io.filesystems import FileSystems

from restoreflow.configs import ConfigError
from restoreflow.console import user_errors


def run_summaries(output: str) -> list[dict]:
    """Every run's summary.json, oldest first (run ids sort by time)."""
    pattern = FileSystems.join(output, "runs", "*", "summary.json")
    summaries = []
    for meta in FileSystems.match([pattern])[0].metadata_list:
        with FileSystems.open(meta.path) as f:
            summaries.append(json.loads(f.read()))
    return sorted(summaries, key=lambda s: s["run_id"])


def _mean(summary: dict, section: str, name: str):
    value = summary.get(section, {}).get(name)
    return None if value is None else value["mean"]


def trend_rows(summaries: list[dict]) -> list[dict]:
    return [
        {
            "run_id": s["run_id"],
            "model_id": s.get("model_id"),
            "restored": s["counts"].get("restored", 0),
            "skipped": s["counts"].get("skipped", 0),
            "errors": s["counts"].get("error", 0),
            "psnr_db": _mean(s, "scores", "psnr_db_restored"),
            "psnr_gain_db": _mean(s, "gains", "psnr_db"),
            "noise_sigma_after": _mean(s, "scores", "noise_sigma_restored"),
            "seconds_per_image": (s.get("seconds") or {}).get("mean"),
        }
        for s in summaries
    ]


def _cell(value, width, digits=2):
    if value is None:
        text = "-"
    elif isinstance(value, float):
        text = f"{value:.{digits}f}"
    else:
        text = str(value)
    return text.rjust(width)


def format_table(rows: list[dict]) -> str:
    header = f"{'run':<24} {'model':<24} {'restored':>8} {'skipped':>8} {'errors':>6} {'PSNR dB':>8} {'gain dB':>8} {'noise σ':>8} {'s/image':>8}"
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r['run_id']:<24} {(r['model_id'] or '-')[:24]:<24} {_cell(r['restored'], 8)} {_cell(r['skipped'], 8)} "
            f"{_cell(r['errors'], 6)} {_cell(r['psnr_db'], 8)} {_cell(r['psnr_gain_db'], 8)} "
            f"{_cell(r['noise_sigma_after'], 8)} {_cell(r['seconds_per_image'], 8)}"
        )
    return "\n".join(lines)


@user_errors("restoreflow history")
def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="restoreflow history", description=__doc__)
    parser.add_argument("output", help="A restore job's output folder.")
    parser.add_argument("--json", action="store_true", help="Print the rows as JSON lines.")
    args = parser.parse_args(argv)
    summaries = run_summaries(args.output)
    if not summaries:
        raise ConfigError(f"{args.output} has no recorded runs (no runs/*/summary.json)")
    rows = trend_rows(summaries)
    if args.json:
        for row in rows:
            print(json.dumps(row))
    else:
        print(format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
