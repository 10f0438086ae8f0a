"""How long `restoreflow SUBCOMMAND --help` takes, in a fresh process each time, for this
checkout and (optionally) other checkouts, alternating them.

    python -m bench.jobs.help [--rounds 3] [--other /path/to/another/checkout]

Each figure is the median wall time of the whole command (interpreter start included).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.common import ROOT, machine
from restoreflow.cli import COMMANDS


def seconds(checkout: Path, name: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "restoreflow.cli", name, "--help"], cwd=checkout, check=True,
                   env={"PYTHONPATH": str(checkout), "PATH": "/usr/bin:/bin"}, capture_output=True)
    return time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--other", type=Path, action="append", default=[], help="Another checkout to compare.")
    args = parser.parse_args()
    checkouts = [ROOT, *args.other]
    times = {(str(c), name): [] for c in checkouts for name in COMMANDS}
    for _ in range(args.rounds):
        for name in COMMANDS:
            for checkout in checkouts:  # alternating: the machine's load hits both sides alike
                times[(str(checkout), name)].append(seconds(checkout, name))
    print(json.dumps({"machine": machine(), "rounds": args.rounds}))
    for (checkout, name), values in times.items():
        print(json.dumps({"checkout": checkout, "command": name, "median_s": round(statistics.median(values), 2)}))


if __name__ == "__main__":
    main()
