"""tf.data pipelines over the shards of job 1.

Training: shard files shuffled and interleaved in parallel, serialized records shuffled
(small: the buffer holds bytes, not floats), parsed with the schema module, augmented with
the 8 flips/rotations (the same one for clean, degraded and mask), batched, prefetched.
Every random choice is seeded, so a run is reproducible and its iterator can be checkpointed.

Distribution: each input pipeline (one per worker) reads a disjoint subset of the shard files;
when there are fewer files than pipelines it falls back to taking every n-th record.
"""

from __future__ import annotations

import posixpath

import numpy as np
import tensorflow as tf

from restoreflow import records
from restoreflow.manifest import MANIFEST_FILE, ManifestError, ShardManifest


def read_manifest(shards_dir: str) -> ShardManifest:
    path = posixpath.join(shards_dir, MANIFEST_FILE)
    if not tf.io.gfile.exists(path):
        raise ManifestError(f"{shards_dir} has no {MANIFEST_FILE}: is it the output of `restoreflow shards`?")
    with tf.io.gfile.GFile(path, "rb") as f:
        return ShardManifest.from_json(f.read(), source=path)


def shard_files(shards_dir: str, manifest: ShardManifest, split: str) -> list[str]:
    """The split's shard files as the manifest lists them, each checked to exist (tf.data would
    fail on a missing one only when it reaches it, in a 50-line traceback)."""
    files = [posixpath.join(shards_dir, name) for name in manifest.shards.of(split)]
    if not files:
        raise ValueError(f"{shards_dir} has no {split} shards")
    missing = [path for path in files if not tf.io.gfile.exists(path)]
    if missing:
        raise ManifestError(f"{missing[0]} is listed in {posixpath.join(shards_dir, MANIFEST_FILE)} but missing"
                            f"{f' (and {len(missing) - 1} more)' if len(missing) > 1 else ''}: copy the whole "
                            "shards folder, or make the shards again with `restoreflow shards`")
    return files


def example_shapes(manifest: ShardManifest) -> dict[str, tuple]:
    """Static shapes of one decoded example, from the manifest (patches only)."""
    size = manifest.patch.patch_size
    if size == 0:
        raise ValueError("training needs patch shards (patch_size > 0); these hold whole images")
    channels = manifest.channels
    if len(channels) != 1:
        raise ValueError(f"shards mix images with {list(channels)} channels; use a recipe with color gray or rgb")
    scale = manifest.scale
    return {
        "clean": (size, size, channels[0]),
        "degraded": (size // scale, size // scale, channels[0]),
        "mask": (size // scale, size // scale, 1),
    }


TARGETS = ("clean", "diagnosis")  # what a model learns to output: the clean image, or its damage


def decode(serialized, shapes, target: str = "clean", *, noise_level: bool = False):
    """Serialized record -> dict of float32 tensors with static shapes; with target
    "diagnosis" also ``diagnosis``: the damage targets made from the record's parameters;
    with ``noise_level`` also ``noise_level``: the record's noise sigma / 255 (a scalar)."""
    features = records.parse_example(serialized)
    example = records.decode_example(features)
    decoded = {name: tf.ensure_shape(example[name], shape) for name, shape in shapes.items()}
    if target == "diagnosis":
        from model.diagnosis_net import targets_from_json

        decoded["diagnosis"] = targets_from_json(features["degradation"])
    if noise_level:
        decoded["noise_level"] = noise_level_from_json(features["degradation"])
    return decoded


def noise_level_from_json(degradation_json):
    """Graph-safe: a record's ``degradation`` JSON string -> its noise sigma / 255 (float32)."""
    import json

    def parse(text):
        return np.float32(records.noise_sigma(json.loads(text.decode("utf-8"))) / 255.0)

    level = tf.numpy_function(parse, [degradation_json], tf.float32, stateful=False)
    return tf.ensure_shape(level, ())


IMAGES = ("clean", "degraded", "mask")


def augment(example, seed):
    """One of the 8 dihedral transforms, chosen by a stateless draw from ``seed``."""
    choice = tf.random.stateless_uniform([], seed=seed, maxval=8, dtype=tf.int32)
    flip, turns = choice // 4, choice % 4

    def transform(image):
        image = tf.cond(flip > 0, lambda: tf.image.flip_left_right(image), lambda: image)
        return tf.image.rot90(image, k=turns)

    return {name: transform(value) if name in IMAGES else value for name, value in example.items()}


TOLD_FULL_SHARE = 0.5  # training examples told their whole sigma; the rest a uniform share of it


def tell_level(example, seed):
    """A training example of a denoiser told its noise level, made a real control: told a share
    u of its sigma (u = 1 for TOLD_FULL_SHARE of the examples, else uniform on [0, 1], drawn
    statelessly from ``seed``), its target is the input with that much noise power removed,
    clean + sqrt(1 - u^2) x (noisy - clean): told the whole sigma, the clean image; told 0, the
    input. Warm-started from a blind denoiser, a model told only whole sigmas learnt to ignore
    the level (told a quarter of sigma 25 it still removed nearly all the noise)."""
    draws = tf.random.stateless_uniform([2], seed=seed)
    share = tf.where(draws[0] < TOLD_FULL_SHARE, 1.0, draws[1])
    kept = tf.sqrt(tf.maximum(0.0, 1.0 - share * share))
    return {**example, "noise_level": example["noise_level"] * share,
            "clean": example["clean"] + kept * (example["degraded"] - example["clean"])}


def to_inputs(example, *, takes_mask: bool, target: str = "clean", takes_noise_level: bool = False):
    """(model input, target, mask): the input carries the mask channel when the model takes
    it, or the noise level map (the record's sigma / 255 at every pixel)."""
    degraded, mask = example["degraded"], example["mask"]
    inputs = tf.concat([degraded, mask], axis=-1) if takes_mask else degraded
    if takes_noise_level:
        inputs = tf.concat([inputs, tf.ones_like(degraded[..., :1]) * example["noise_level"]], axis=-1)
    return inputs, example[target], mask


def _file_dataset(files, *, seed, shuffle, input_context):
    dataset = tf.data.Dataset.from_tensor_slices(files)
    if input_context and input_context.num_input_pipelines > 1 and len(files) >= input_context.num_input_pipelines:
        dataset = dataset.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)
    if shuffle:
        dataset = dataset.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    return dataset


def training_dataset(
    files,
    *,
    shapes,
    takes_mask: bool,
    batch_size: int,
    shuffle_buffer: int,
    augment_flips: bool,
    seed: int,
    compression: str,
    input_context=None,
    start_record: int = 0,
    target: str = "clean",
    takes_noise_level: bool = False,
):
    """An endless, shuffled, augmented stream of (inputs, clean, mask) batches.

    ``batch_size`` is per replica (what ``distribute_datasets_from_function`` expects).
    ``start_record``: records this pipeline already consumed (a resumed run); the seeded
    order is replayed over raw bytes and those records skipped, so training continues with
    exactly the batches it would have seen.
    """
    dataset = _file_dataset(files, seed=seed, shuffle=True, input_context=input_context).repeat()
    dataset = dataset.interleave(
        lambda path: tf.data.TFRecordDataset(path, compression_type=compression),
        cycle_length=min(len(files), 8),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
    if input_context and input_context.num_input_pipelines > len(files):
        dataset = dataset.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)
    dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    if start_record:
        dataset = dataset.skip(start_record)
    dataset = dataset.map(lambda s: decode(s, shapes, target, noise_level=takes_noise_level),
                          num_parallel_calls=tf.data.AUTOTUNE)
    if augment_flips:
        counter = tf.data.Dataset.counter(start=start_record)
        dataset = tf.data.Dataset.zip((dataset, counter)).map(
            lambda example, index: augment(example, tf.stack([tf.cast(seed, tf.int64), index])),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    if takes_noise_level:
        counter = tf.data.Dataset.counter(start=start_record)
        dataset = tf.data.Dataset.zip((dataset, counter)).map(
            lambda example, index: tell_level(example, tf.stack([tf.cast(seed, tf.int64) + 1, index])),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    dataset = dataset.map(lambda e: to_inputs(e, takes_mask=takes_mask, target=target,
                                              takes_noise_level=takes_noise_level),
                          num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def validation_dataset(files, *, shapes, takes_mask: bool, batch_size: int, compression: str, max_records: int,
                       target: str = "clean", takes_noise_level: bool = False):
    """A finite pass over (at most ``max_records`` of) the validation shards, in file order."""
    dataset = tf.data.TFRecordDataset(files, compression_type=compression)
    if max_records:
        dataset = dataset.take(max_records)
    dataset = dataset.map(lambda s: decode(s, shapes, target, noise_level=takes_noise_level),
                          num_parallel_calls=tf.data.AUTOTUNE)
    dataset = dataset.map(lambda e: to_inputs(e, takes_mask=takes_mask, target=target,
                                              takes_noise_level=takes_noise_level))
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def find_damaged(files, compression: str) -> tuple[str, str] | None:
    """The first shard file that cannot be read and parsed to its end, and why. Only called
    after reading failed: tf.data's own error does not name the file."""
    for path in files:
        try:
            for serialized in tf.data.TFRecordDataset(path, compression_type=compression):
                records.parse_example(serialized)
        except (tf.errors.DataLossError, tf.errors.InvalidArgumentError) as e:
            return path, " ".join(e.message.split())[:300]
    return None
