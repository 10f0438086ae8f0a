"""Incremental reruns: the time of a second nightly run over an unchanged bucket against the
first run, and a third run after K new images arrive.

    python -m bench.jobs.nightly [--copies 2] [--new 5]

Bucket: BSD68 and Set12 (copied --copies times under different names); model: DnCNN-17 with
the authors' sigma 25 weights; each run is `restoreflow nightly --config nightly.yaml` in a
fresh process, as a scheduler starts it, so the figures include importing TensorFlow and Beam,
building the pipeline and rebuilding the report.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from bench.common import machine, nightly_bucket, shared_path


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--copies", type=int, default=2)
    parser.add_argument("--new", type=int, default=5)
    args = parser.parse_args()

    from bench.common import ROOT, import_dncnn

    scratch = Path(tempfile.mkdtemp(prefix="bench-nightly-"))
    bucket = nightly_bucket(scratch / "bucket", args.copies)
    count = len(list(bucket.rglob("*.png")))
    model = import_dncnn("sigma=25.mat", scratch / "model")
    output = scratch / "out"
    config = scratch / "nightly.yaml"
    config.write_text(yaml.safe_dump({"input": [str(bucket)], "output": str(output), "model": model}))

    def timed_run():
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "restoreflow.cli", "nightly", "--config", str(config)], cwd=ROOT,
                       check=True, capture_output=True)
        seconds = time.perf_counter() - start
        newest = sorted((output / "runs").iterdir())[-1]
        return seconds, json.loads((newest / "summary.json").read_text())

    first, s1 = timed_run()
    second, s2 = timed_run()
    extra = sorted(shared_path("data", "train400").glob("*.png"))[: args.new]
    for path in extra:
        shutil.copy(path, bucket / f"new-{path.name}")
    third, s3 = timed_run()

    print(f"machine: {machine()}")
    print(f"bucket: {count} images (BSD68 + Set12 x {args.copies}), DnCNN-17 sigma 25 weights, 512 px tiles\n")
    print("| run | restored | skipped | seconds (fresh process) | vs first run |")
    print("|---|---|---|---|---|")
    for label, seconds, summary in (("first", first, s1), ("second, unchanged bucket", second, s2),
                                    (f"third, {args.new} new images", third, s3)):
        counts = summary["counts"]
        print(f"| {label} | {counts.get('restored', 0)} | {counts.get('skipped', 0)} | {seconds:.1f} | "
              f"**{seconds / first:.1%}** |")


if __name__ == "__main__":
    main()
