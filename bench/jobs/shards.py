"""Job 1 throughput: the Beam job on 2 local worker processes vs a plain single-process loop
doing the same work (decode, degrade, serialize, write TFRecords), on train400.

    python -m bench.jobs.shards [--repeats 3] [--recipe denoise-gray-s25]

Both sides run in this process after the imports; the job's time includes starting its two
worker processes. Runs alternate (loop, job, loop, job, ...) and medians are compared, so
background load hits both sides alike. Both compressions are measured, since the default is
chosen from the whole job.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from bench.common import machine, median, shared_path, timed


def plain_loop(files, output: Path, *, recipe_name: str, compression: str, seed: int = 0) -> int:
    import tensorflow as tf

    from pipelines.degrade import pairs, recipe as recipes
    from pipelines.imaging import images
    from restoreflow import records

    recipe = recipes.load(recipe_name)
    settings = pairs.PatchSettings()
    options = tf.io.TFRecordOptions(compression_type="GZIP" if compression == "gzip" else "")
    count = 0
    with tf.io.TFRecordWriter(str(output / "all.tfrecord"), options) as writer:
        for path in files:
            clean = pairs.prepare_clean(images.decode(path.read_bytes()).pixels, recipe)
            for pair in pairs.make_pairs(clean, recipe=recipe, settings=settings, seed=seed, image_id=path.name):
                writer.write(records.make_example(clean=pair.clean, degraded=pair.degraded, mask=pair.mask,
                                                  image_id=path.name, patch_index=pair.patch_index,
                                                  degradation=pair.degradation))
                count += 1
    return count


def beam_job(folder, output: Path, *, recipe_name: str, compression: str, workers: int) -> int:
    from pipelines.shards import job as make_shards

    manifest = make_shards.run([f"--input={folder}", f"--output={output}", f"--recipe={recipe_name}",
                                f"--compression={compression}", "--direct_running_mode=multi_processing",
                                f"--direct_num_workers={workers}"])
    return manifest.counts.records.total()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--recipe", default="denoise-gray-s25")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    folder = shared_path("data", "train400")
    files = sorted(folder.glob("*.png"))
    scratch = Path(tempfile.mkdtemp(prefix="bench-shards-"))
    print(f"machine: {machine()}")
    print(f"images: {len(files)} (train400), recipe {args.recipe}, patches 40 px stride 10, {args.workers} workers")
    rows = []
    for compression in ("gzip", "none"):
        loop_times, job_times = [], []
        for i in range(args.repeats):
            out = scratch / f"loop-{compression}-{i}"
            out.mkdir()
            seconds, loop_records = timed(plain_loop, files, out, recipe_name=args.recipe, compression=compression)
            loop_times.append(seconds)
            size = sum(f.stat().st_size for f in out.iterdir())
            shutil.rmtree(out)
            seconds, job_records = timed(beam_job, folder, scratch / f"job-{compression}-{i}", recipe_name=args.recipe,
                                         compression=compression, workers=args.workers)
            job_times.append(seconds)
            shutil.rmtree(scratch / f"job-{compression}-{i}")
            assert loop_records == job_records, (loop_records, job_records)
            print(f"  {compression} run {i}: loop {loop_times[-1]:.1f} s, job {job_times[-1]:.1f} s")
        loop, job = median(loop_times), median(job_times)
        rows.append((compression, loop, job, len(files) / loop, len(files) / job, loop / job, job_records, size))
    shutil.rmtree(scratch, ignore_errors=True)
    print()
    print("| compression | loop s | job s | loop images/s | job images/s | job / loop | records | bytes written |")
    print("|---|---|---|---|---|---|---|---|")
    for c, loop, job, loop_rate, job_rate, ratio, n, size in rows:
        print(f"| {c} | {loop:.1f} | {job:.1f} | {loop_rate:.1f} | {job_rate:.1f} | **{ratio:.2f}x** | {n} | {size / 1e6:.0f} MB |")


if __name__ == "__main__":
    main()
