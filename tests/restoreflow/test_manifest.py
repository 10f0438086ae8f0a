import json

import pytest

from restoreflow.manifest import MANIFEST_VERSION, ManifestError, ShardManifest

MANIFEST = {
    "channels": [1], "code_version": "0.1.0+gabc", "compression": "gzip", "content_digest": "ab" * 32,
    "counts": {"errors": 1, "images": {"train": 3, "val": 1}, "inputs_accounted": 5,
               "records": {"train": 40, "val": 16}},
    "created_utc": "2026-11-30T12:38:31+00:00", "dtypes": {"clean": ["uint8"], "degraded": ["float16"]},
    "has_mask": False, "input_files_listed": 5, "inputs": ["clean"], "job": "shards",
    "limits": {"max_bytes": 536870912, "max_pixels": 100000000}, "output": "/tmp/s",
    "patch": {"max_patches": 0, "patch_size": 24, "stride": 16},
    "recipe": {"name": "denoise-gray-s25", "task": "denoise", "steps": [{"op": "gaussian_noise", "noise_sigma": 25.0}]},
    "scale": 1, "schema_version": 1, "seed": 5,
    "sharding": {"estimated_shards": 2, "num_shards": 0, "workers": 1, "writers_per_worker": 2},
    "shards": {"train": ["train/part0-00000-of-00001.tfrecord.gz"], "val": ["val/part0-00000-of-00001.tfrecord.gz"]},
    "task": "denoise", "val_fraction": 0.3,
}


def test_a_manifest_written_before_versions_were_named_reads_as_version_1_and_round_trips():
    manifest = ShardManifest.from_json(json.dumps(MANIFEST))
    assert manifest.counts.records.train == 40 and manifest.counts.images.total() == 4
    assert manifest.patch.patch_size == 24 and manifest.channels == (1,) and manifest.tfrecord_compression == "GZIP"
    assert manifest.shards.of("val") == ("val/part0-00000-of-00001.tfrecord.gz",)
    assert json.loads(manifest.to_json()) == {**MANIFEST, "format": MANIFEST_VERSION}
    assert ShardManifest.from_json(manifest.to_json()) == manifest


@pytest.mark.parametrize("changes, message", [
    ({"format": 2}, "is a shard manifest of format 2; this restoreflow reads format 1"),
    ({"schema_version": 7}, "describes records of schema 7; this restoreflow reads schema 1"),
    ({"seed": "5"}, "seed: expected an integer, got '5'"),
    ({"compression": "zstd"}, "compression: 'zstd' is not one of 'gzip', 'none'"),
    ({"extra": 1}, "unknown key 'extra'"),
    ({"val_fraction": 1.5}, "val_fraction: must lie within [0, 1)"),
])
def test_another_version_or_a_damaged_manifest_is_one_line_naming_the_file(changes, message):
    with pytest.raises(ManifestError) as error:
        ShardManifest.from_dict({**MANIFEST, **changes}, source="shards/manifest.json")
    assert str(error.value).startswith("shards/manifest.json") and message in str(error.value)
    assert "\n" not in str(error.value)
