"""Job 1's writer alone: Beam's ``WriteToTFRecord`` (one element per record) vs
``pipelines.shards.write.RecordListSink`` (one element per image: a list of its records).

    python -m bench.jobs.shard_writer [--repeats 3] [--compression none|gzip]

400 elements of 225 records of 4,800 bytes each (train400's shape: 90,000 records of 40x40
patch pairs), made inside the pipeline, written by one in-process FnApiRunner pipeline per run;
the two sides alternate and medians are compared. Needs no shared data.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time

from bench.common import machine, median

IMAGES, RECORDS_PER_IMAGE, RECORD_BYTES = 400, 225, 4800


def image_records(block: bytes, _index: int) -> list[bytes]:
    return [block[i * RECORD_BYTES:(i + 1) * RECORD_BYTES] for i in range(RECORDS_PER_IMAGE)]


def write(side: str, prefix: str, compression: str) -> None:
    import apache_beam as beam
    from apache_beam.io.filesystem import CompressionTypes

    from pipelines.runtime.options import DEFAULT_LOCAL_RUNNER
    from pipelines.shards.write import RecordListSink

    gzip = compression == "gzip"
    block = os.urandom(RECORDS_PER_IMAGE * RECORD_BYTES)
    with beam.Pipeline(DEFAULT_LOCAL_RUNNER) as p:
        lists = p | beam.Create(range(IMAGES), reshuffle=False) | beam.Map(lambda i: image_records(block, i))
        if side == "per record":
            _ = lists | beam.FlatMap(iter) | beam.io.WriteToTFRecord(
                prefix, compression_type=CompressionTypes.GZIP if gzip else CompressionTypes.UNCOMPRESSED)
        else:
            _ = lists | beam.io.Write(RecordListSink(prefix, gzip=gzip, num_shards=0))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--compression", choices=("none", "gzip"), default="none")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    print(f"{IMAGES} images x {RECORDS_PER_IMAGE} records x {RECORD_BYTES} B, compression {args.compression}")
    sides = {"per record": [], "per image": []}
    for i in range(args.repeats):
        for side, times in sides.items():
            scratch = tempfile.mkdtemp(prefix="bench-writer-")
            start = time.perf_counter()
            write(side, os.path.join(scratch, "part"), args.compression)
            times.append(time.perf_counter() - start)
            shutil.rmtree(scratch)
            print(f"  run {i} {side}: {times[-1]:.2f} s")
    per_record, per_image = median(sides["per record"]), median(sides["per image"])
    print()
    print("| writer | elements | median s |")
    print("|---|---|---|")
    print(f"| WriteToTFRecord | one per record | {per_record:.2f} |")
    print(f"| RecordListSink | one per image | {per_image:.2f} |")
    print(f"| per record / per image | | **{per_record / per_image:.2f}x** |")


if __name__ == "__main__":
    main()
