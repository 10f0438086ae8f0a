"""The shard manifest (``manifest.json``): the contract between job 1 (which writes it once
every shard is final) and job 2 and the benchmarks (which read it). TensorFlow-free.

It says what the shards hold and how they were made: the recipe (as its YAML form), seed,
patch settings, counts per split, the shard files, the inputs and an order-free digest of
their contents, so a model card can name exactly the data it was trained on.

Version 1 is the layout of every manifest written so far: files written before the
``format`` key existed are version 1. A manifest of another version, or of another TFRecord
schema, is refused with one line naming the file.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any, Literal

from restoreflow.configs import ConfigError, check, from_mapping, to_plain
from restoreflow.records import SCHEMA_VERSION

MANIFEST_VERSION = 1
MANIFEST_FILE = "manifest.json"
VERSION_KEY = "format"
SPLITS = ("train", "val")


class ManifestError(ConfigError):
    """A shards folder whose manifest cannot be used; the message names the file."""


@dataclasses.dataclass(frozen=True)
class PerSplit:
    train: int = 0
    val: int = 0

    def total(self) -> int:
        return self.train + self.val


@dataclasses.dataclass(frozen=True)
class Counts:
    images: PerSplit
    records: PerSplit
    errors: int
    inputs_accounted: int  # images in the shards + rejected inputs: every entry listed


@dataclasses.dataclass(frozen=True)
class Patches:
    patch_size: int  # clean pixels; 0 = whole images
    stride: int
    max_patches: int  # per image; 0 = no cap


@dataclasses.dataclass(frozen=True)
class Sharding:
    num_shards: int  # as asked (0 = automatic)
    estimated_shards: int
    writers_per_worker: int  # 0 with an explicit num_shards
    workers: int


@dataclasses.dataclass(frozen=True)
class Limits:
    max_pixels: int
    max_bytes: int


@dataclasses.dataclass(frozen=True)
class Dtypes:
    clean: tuple[str, ...]
    degraded: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class ShardFiles:
    """Paths relative to the shards folder, sorted."""

    train: tuple[str, ...]
    val: tuple[str, ...]

    def of(self, split: str) -> tuple[str, ...]:
        return getattr(self, split)


@dataclasses.dataclass(frozen=True)
class ShardManifest:
    recipe: dict[str, Any]  # the recipe as YAML would spell it (pipelines.degrade.recipe)
    task: str
    scale: int  # clean size / degraded size
    has_mask: bool
    seed: int
    patch: Patches
    val_fraction: float
    sharding: Sharding
    inputs: tuple[str, ...]  # the --input values
    output: str
    input_files_listed: int
    limits: Limits
    schema_version: int  # restoreflow.records.SCHEMA_VERSION of the records
    code_version: str
    created_utc: str
    counts: Counts
    channels: tuple[int, ...]  # channel counts seen (one, for a trainable set)
    dtypes: Dtypes
    content_digest: str  # order-free SHA-256 over every (image_id, content hash)
    shards: ShardFiles
    compression: Literal["gzip", "none"] = "gzip"  # the only one before the flag existed
    job: Literal["shards"] = "shards"

    def __post_init__(self):
        check(0.0 <= self.val_fraction < 1.0, "val_fraction", "must lie within [0, 1)")
        check(self.scale >= 1, "scale", "must be >= 1")

    @property
    def tfrecord_compression(self) -> str:
        """What tf.data's TFRecordDataset calls the shards' compression."""
        return "GZIP" if self.compression == "gzip" else ""

    def to_dict(self) -> dict:
        return {**to_plain(self), VERSION_KEY: MANIFEST_VERSION}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: Any, source: str = MANIFEST_FILE) -> ShardManifest:
        """A manifest from its JSON object; ``source`` names the file in error messages."""
        if not isinstance(data, Mapping):
            raise ManifestError(f"{source} is not a shard manifest (a JSON object)")
        version = data.get(VERSION_KEY, 1)  # manifests written before the key existed are version 1
        if version != MANIFEST_VERSION:
            raise ManifestError(f"{source} is a shard manifest of format {version}; this restoreflow reads format "
                                f"{MANIFEST_VERSION}: make the shards again with `restoreflow shards`")
        if data.get("schema_version") != SCHEMA_VERSION:
            raise ManifestError(f"{source} describes records of schema {data.get('schema_version')}; this restoreflow "
                                f"reads schema {SCHEMA_VERSION}: make the shards again with `restoreflow shards`")
        try:
            return from_mapping(cls, {k: v for k, v in data.items() if k != VERSION_KEY})
        except ConfigError as e:
            raise ManifestError(f"{source}: {str(e).removeprefix('ShardManifest: ')}") from None

    @classmethod
    def from_json(cls, text: str | bytes, source: str = MANIFEST_FILE) -> ShardManifest:
        try:
            data = json.loads(text)
        except ValueError as e:
            raise ManifestError(f"{source} is not valid JSON ({e}); make the shards again") from None
        return cls.from_dict(data, source)
