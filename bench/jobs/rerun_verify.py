"""What verifying outputs on disk costs an unchanged rerun: this checkout's rerun (reads and
hashes every restored file, takes the output lock) against a baseline checkout's rerun (which
trusted its rows), in fresh processes, alternating the two.

    git archive <base commit> | tar -x -C /tmp/base
    python -m bench.jobs.rerun_verify --baseline /tmp/base [--copies 2] [--rounds 3]

Bucket: BSD68 + Set12 (copied --copies times); the DnCNN-17 sigma 25 weights. The first run
(this checkout) restores everything; every rerun after it skips everything.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, import_dncnn, machine, median, nightly_bucket


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--baseline", required=True, help="A checkout of the code to compare with.")
    parser.add_argument("--copies", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="bench-rerun-verify-"))
    bucket = nightly_bucket(scratch / "bucket", args.copies)
    model = import_dncnn("sigma=25.mat", scratch / "model")
    argv = ["-m", "pipelines.restore", f"--input={bucket}", f"--output={scratch / 'out'}", f"--model={model}"]

    def rerun(checkout: Path) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, *argv], cwd=checkout, env={**os.environ, "PYTHONPATH": str(checkout)},
                       check=True, capture_output=True)
        return time.perf_counter() - start

    first = rerun(ROOT)
    times = {"baseline": [], "this": []}
    for _ in range(args.rounds):
        times["baseline"].append(rerun(Path(args.baseline)))
        times["this"].append(rerun(ROOT))
    count = len(list(bucket.rglob("*.png")))
    print(f"machine: {machine()}")
    print(f"bucket: {count} images; first run {first:.1f} s; {args.rounds} alternating rounds of unchanged reruns\n")
    print("| rerun | median s | runs (s) |")
    print("|---|---|---|")
    for label, values in (("baseline (trusts rows)", times["baseline"]), ("this (verifies outputs)", times["this"])):
        print(f"| {label} | {median(values):.1f} | {', '.join(f'{v:.1f}' for v in values)} |")
    print(f"\nratio this / baseline: {median(times['this']) / median(times['baseline']):.2f}")


if __name__ == "__main__":
    main()
