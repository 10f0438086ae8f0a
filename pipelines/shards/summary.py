"""``WriteManifest``: once every shard file is final, the index lines summarised (counts per
split, dtypes and channels seen, an order-free digest of the inputs) and written with the plan
as ``manifest.json`` (``restoreflow.manifest``)."""

from __future__ import annotations

import hashlib

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from pipelines.runtime import files as output_files
from restoreflow.manifest import MANIFEST_FILE, SPLITS, ShardManifest


class SummarizeIndex(beam.CombineFn):
    """Index lines -> counts per split, dtypes and channels seen, and an order-free digest of
    every (image_id, content hash), so the manifest identifies its inputs at any scale."""

    def create_accumulator(self):
        return {"images": dict.fromkeys(SPLITS, 0), "records": dict.fromkeys(SPLITS, 0),
                "channels": [], "clean_dtypes": [], "degraded_dtypes": [], "digest": 0}

    def add_input(self, acc, line):
        acc["images"][line["split"]] += 1
        acc["records"][line["split"]] += line["records"]
        for key, value in (("channels", line["channels"]), ("clean_dtypes", line["clean_dtype"]),
                           ("degraded_dtypes", line["degraded_dtype"])):
            if value not in acc[key]:
                acc[key] = sorted([*acc[key], value])
        entry = hashlib.sha256(f"{line['image_id']}\0{line['content_sha256']}".encode()).digest()
        acc["digest"] = (acc["digest"] + int.from_bytes(entry, "big")) % 2**256
        return acc

    def merge_accumulators(self, accs):
        merged = self.create_accumulator()
        for acc in accs:
            for key in ("images", "records"):
                for split in SPLITS:
                    merged[key][split] += acc[key][split]
            for key in ("channels", "clean_dtypes", "degraded_dtypes"):
                merged[key] = sorted(set(merged[key]) | set(acc[key]))
            merged["digest"] = (merged["digest"] + acc["digest"]) % 2**256
        return merged

    def extract_output(self, acc):
        return {**acc, "digest": f"{acc['digest']:064x}"}


class WriteManifest(beam.PTransform):
    """``{"index": index lines, "errors": error records, "train": shard paths, "val": shard
    paths}`` -> the manifest written (side inputs make it wait for every shard file)."""

    def __init__(self, plan):
        super().__init__()
        self._plan = plan  # pipelines.shards.plan.ShardsPlan

    def expand(self, outputs):
        summary = outputs["index"] | "Summarize" >> beam.CombineGlobally(SummarizeIndex())
        error_count = outputs["errors"] | "Count errors" >> beam.combiners.Count.Globally()
        return (
            outputs["index"].pipeline
            | "Trigger" >> beam.Create([None])
            | "Write" >> beam.Map(
                write_manifest, plan=self._plan, summary=beam.pvalue.AsSingleton(summary),
                error_count=beam.pvalue.AsSingleton(error_count),
                **{split: beam.pvalue.AsList(outputs[split]) for split in SPLITS})
        )


def write_manifest(_, *, plan, summary: dict, error_count: int, **shard_files) -> ShardManifest:
    manifest = plan.manifest(summary, error_count, shard_files)
    # Renamed into place, never through a link: the manifest appears whole or not at all.
    output_files.write_atomically(FileSystems.join(plan.output, MANIFEST_FILE), manifest.to_json().encode(),
                                  root=plan.output)
    return manifest


def read_manifest(output: str) -> ShardManifest:
    path = FileSystems.join(output, MANIFEST_FILE)
    with FileSystems.open(path) as f:
        return ShardManifest.from_json(f.read(), source=path)
