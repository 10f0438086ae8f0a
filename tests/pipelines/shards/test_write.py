"""WriteShards and WriteManifest on the local runner, from beam.Create."""

import json

import apache_beam as beam
import numpy as np
import pytest

from pipelines.degrade import pairs, recipe as recipes
from pipelines.inputs import sources
from pipelines.shards.degrade import writer_tag
from pipelines.shards.plan import ShardsPlan
from pipelines.shards.summary import SummarizeIndex, WriteManifest
from pipelines.shards.write import WriteJsonLines, WriteShards
from restoreflow import records
from restoreflow.manifest import Sharding, ShardManifest
from tests.helpers.beam import local_pipeline


def record(image_id: str, index: int) -> bytes:
    clean = np.full((4, 4, 1), index, np.uint8)
    return records.make_example(clean=clean, degraded=clean, mask=None, image_id=image_id, patch_index=index,
                                degradation={"recipe": "test", "steps": []})


def read_tfrecords(paths, compression: str) -> list[bytes]:
    import tensorflow as tf

    return [r.numpy() for r in tf.data.TFRecordDataset(sorted(map(str, paths)), compression_type=compression)]


@pytest.mark.slow
@pytest.mark.parametrize("compression, suffix, tf_name", [("gzip", ".tfrecord.gz", "GZIP"), ("none", ".tfrecord", "")])
def test_each_writer_writes_its_records_where_they_are_made(tmp_path, compression, suffix, tf_name):
    batches = {writer_tag("train", 0): [[record("a", 0), record("a", 2)], [record("b", 0)]],
               writer_tag("train", 1): [[record("a", 1)]], writer_tag("val", 0): [[record("c", 0)]],
               writer_tag("val", 1): []}
    with local_pipeline() as p:
        _ = {tag: p | f"Create {tag}" >> beam.Create(batch) for tag, batch in batches.items()} | WriteShards(
            str(tmp_path), compression=compression, groups=2)
    written = sorted(p.name for p in tmp_path.glob("*/*"))
    assert written and all(name.endswith(suffix) for name in written)
    assert {name.split("-")[0] for name in written} == {"part0", "part1"}
    train = read_tfrecords((tmp_path / "train").iterdir(), tf_name)
    assert sorted(train) == sorted([record("a", 0), record("a", 2), record("b", 0), record("a", 1)])
    assert read_tfrecords((tmp_path / "val").iterdir(), tf_name) == [record("c", 0)]


def test_an_explicit_shard_count_is_exact(tmp_path):
    batches = {writer_tag("train", 0): [[record(f"i{i}", j) for j in range(5)] for i in range(8)],
               writer_tag("val", 0): [[record("v", 0)]]}
    with local_pipeline() as p:
        _ = {tag: p | f"Create {tag}" >> beam.Create(batch) for tag, batch in batches.items()} | WriteShards(
            str(tmp_path), compression="gzip", groups=1, num_shards=3)
    files = sorted((tmp_path / "train").iterdir())
    assert [f.name for f in files] == [f"part-0000{i}-of-00003.tfrecord.gz" for i in range(3)]
    assert len(read_tfrecords(files, "GZIP")) == 40


def test_json_lines_have_sorted_keys(tmp_path):
    with local_pipeline() as p:
        _ = p | beam.Create([{"b": 1, "a": "x"}]) | WriteJsonLines(str(tmp_path / "errors" / "errors"), num_shards=1)
    assert (tmp_path / "errors" / "errors-00000-of-00001.jsonl").read_text() == '{"a": "x", "b": 1}\n'


def index_line(image_id, split, records_made, channels=1, degraded="float16", sha="0" * 64):
    return {"image_id": image_id, "content_sha256": sha, "split": split, "records": records_made,
            "channels": channels, "clean_dtype": "uint8", "degraded_dtype": degraded}


def test_the_summary_is_the_same_however_the_lines_are_combined():
    lines = [index_line("a", "train", 3), index_line("b", "val", 2, degraded="uint8"), index_line("c", "train", 4)]
    combine = SummarizeIndex()
    whole = combine.extract_output(combine.add_inputs(combine.create_accumulator(), lines))
    parts = [combine.add_inputs(combine.create_accumulator(), part) for part in (lines[2:], lines[:2])]
    assert combine.extract_output(combine.merge_accumulators(parts)) == whole
    assert whole["images"] == {"train": 2, "val": 1} and whole["records"] == {"train": 7, "val": 2}
    assert whole["degraded_dtypes"] == ["float16", "uint8"] and whole["channels"] == [1]
    assert len(whole["digest"]) == 64


def test_the_manifest_is_the_plan_with_what_the_job_counted(tmp_path):
    recipe = recipes.load("denoise-gray-s25")
    plan = ShardsPlan(specs=(sources.resolve(str(tmp_path)),), output=str(tmp_path), recipe=recipe,
                      settings=pairs.PatchSettings(), seed=3, val_fraction=0.1, compression="gzip", max_pixels=100,
                      max_bytes=200, input_files_listed=3, code_version="0.1.0+test",
                      sharding=Sharding(num_shards=0, estimated_shards=2, writers_per_worker=2, workers=1))
    with local_pipeline() as p:
        _ = {
            "index": p | "Index" >> beam.Create([index_line("a", "train", 3), index_line("b", "val", 2)]),
            "errors": p | "Errors" >> beam.Create([{"image_id": "c", "reason": "empty file"}]),
            "train": p | "Train" >> beam.Create([f"{tmp_path}/train/part0-00000-of-00001.tfrecord.gz"]),
            "val": p | "Val" >> beam.Create([f"{tmp_path}/val/part0-00000-of-00001.tfrecord.gz"]),
        } | WriteManifest(plan)
    manifest = ShardManifest.from_json((tmp_path / "manifest.json").read_text())
    assert manifest.counts.images.total() == 2 and manifest.counts.errors == 1 and manifest.counts.inputs_accounted == 3
    assert manifest.shards.train == ("train/part0-00000-of-00001.tfrecord.gz",)
    assert manifest.recipe["name"] == "denoise-gray-s25" and manifest.seed == 3 and manifest.patch.patch_size == 40
    assert manifest.code_version == "0.1.0+test" and json.loads((tmp_path / "manifest.json").read_text())["format"] == 1
