"""The TFRecord schema shared by the shards job (writer) and the trainer (parser).

One record is one ``tf.train.Example`` holding one patch pair. Pixels are raw little-endian
bytes in HWC order: ``clean`` as uint8 or uint16; ``degraded`` as uint8, uint16 or float16
(float16 keeps noise unclipped for recipes that follow the DnCNN protocol). ``mask`` (uint8,
1 = missing pixel) is present only for inpainting recipes. ``degradation`` holds the sampled
parameters as JSON, so every record says exactly what was done to it.

``SPEC`` is the one feature table: the writer checks against it and the parser builds its
``tf.io`` feature spec from it. The writer builds the Example with protobuf alone (the
message is declared below, wire-compatible with TensorFlow's): the shards job's workers
never import TensorFlow, which costs seconds per process. TensorFlow is imported by the
parser functions only. Bump ``SCHEMA_VERSION`` on any incompatible change. ``frame`` puts a
record in the TFRecord file format, so the shards job writes its files without TensorFlow too.
"""

from __future__ import annotations

import functools
import json
import struct

import google_crc32c
import numpy as np
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

SCHEMA_VERSION = 1
# Ops of a record's ``degradation`` that describe the photograph as it was taken or scanned
# (film grain, a camera's sharpening), not damage: recipes run them first and do not count them,
# and an image with only these is undamaged to the diagnosis.
ORIGINAL_OPS = frozenset({"film_grain", "unsharp_mask"})

PIXEL_DTYPES = ("uint8", "uint16", "float16")

# name -> (kind, shape, default when absent; None = required)
SPEC = {
    "clean": ("bytes", (), None),
    "clean_shape": ("int64", (3,), None),
    "clean_dtype": ("bytes", (), None),
    "degraded": ("bytes", (), None),
    "degraded_shape": ("int64", (3,), None),
    "degraded_dtype": ("bytes", (), None),
    "mask": ("bytes", (), b""),
    "mask_shape": ("int64", (3,), [0, 0, 0]),
    "image_id": ("bytes", (), None),
    "patch_index": ("int64", (), None),
    "degradation": ("bytes", (), None),
    "schema_version": ("int64", (), None),
}


def noise_sigma(degradation: dict) -> float:
    """The Gaussian noise a record's ``degradation`` (``{"recipe": ..., "steps": [...]}``)
    added, as one sigma on the 0-255 scale: independent noise steps add in quadrature; 0 when
    there was none. What a noise-level model (FFDNet's map) is told during training."""
    sigmas = [step["noise_sigma"] for step in degradation["steps"] if step["op"] == "gaussian_noise"]
    return float(np.sqrt(np.sum(np.square(sigmas)))) if sigmas else 0.0


@functools.cache
def _example_class():
    """``tf.train.Example`` declared with protobuf's descriptor API (same field numbers and
    types as tensorflow/core/example/{example,feature}.proto, so the bytes are identical)."""
    F = descriptor_pb2.FieldDescriptorProto
    package = "restoreflow.example"
    proto = descriptor_pb2.FileDescriptorProto(
        name="restoreflow/example.proto", package=package, syntax="proto3"
    )
    for name, kind in (("BytesList", F.TYPE_BYTES), ("Int64List", F.TYPE_INT64), ("FloatList", F.TYPE_FLOAT)):
        proto.message_type.add(name=name).field.add(
            name="value", number=1, type=kind, label=F.LABEL_REPEATED
        )
    feature = proto.message_type.add(name="Feature")
    feature.oneof_decl.add(name="kind")
    for number, (name, type_name) in enumerate(
        (("bytes_list", "BytesList"), ("float_list", "FloatList"), ("int64_list", "Int64List")), 1
    ):
        feature.field.add(
            name=name, number=number, type=F.TYPE_MESSAGE, label=F.LABEL_OPTIONAL,
            type_name=f".{package}.{type_name}", oneof_index=0,
        )
    features = proto.message_type.add(name="Features")
    entry = features.nested_type.add(name="FeatureEntry")
    entry.options.map_entry = True
    entry.field.add(name="key", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    entry.field.add(
        name="value", number=2, type=F.TYPE_MESSAGE, label=F.LABEL_OPTIONAL,
        type_name=f".{package}.Feature",
    )
    features.field.add(
        name="feature", number=1, type=F.TYPE_MESSAGE, label=F.LABEL_REPEATED,
        type_name=f".{package}.Features.FeatureEntry",
    )
    proto.message_type.add(name="Example").field.add(
        name="features", number=1, type=F.TYPE_MESSAGE, label=F.LABEL_OPTIONAL,
        type_name=f".{package}.Features",
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{package}.Example"))


def _raw(array: np.ndarray) -> tuple[bytes, str]:
    name = array.dtype.name
    if name not in PIXEL_DTYPES:
        raise ValueError(f"pixel dtype {name} is not one of {PIXEL_DTYPES}")
    if array.ndim != 3:
        raise ValueError(f"pixels must be HWC, got shape {array.shape}")
    return array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes(), name


def make_example(
    *,
    clean: np.ndarray,
    degraded: np.ndarray,
    image_id: str,
    patch_index: int,
    degradation: dict,
    mask: np.ndarray | None = None,
) -> bytes:
    """Serializes one patch pair (HWC numpy arrays) to ``tf.train.Example`` bytes."""
    clean_raw, clean_dtype = _raw(clean)
    degraded_raw, degraded_dtype = _raw(degraded)
    values = {
        "clean": clean_raw,
        "clean_shape": clean.shape,
        "clean_dtype": clean_dtype.encode(),
        "degraded": degraded_raw,
        "degraded_shape": degraded.shape,
        "degraded_dtype": degraded_dtype.encode(),
        "image_id": image_id.encode("utf-8"),
        "patch_index": (patch_index,),
        "degradation": json.dumps(degradation, sort_keys=True).encode(),
        "schema_version": (SCHEMA_VERSION,),
    }
    if mask is not None:
        if mask.dtype != np.uint8 or mask.ndim != 3:
            raise ValueError("mask must be uint8 HW1 (1 = missing pixel)")
        values["mask"] = mask.tobytes()
        values["mask_shape"] = mask.shape
    example = _example_class()()
    feature = example.features.feature
    for name, value in values.items():
        if SPEC[name][0] == "bytes":
            feature[name].bytes_list.value.append(value)
        else:
            feature[name].int64_list.value.extend(int(v) for v in value)
    return example.SerializeToString(deterministic=True)


def feature_spec() -> dict:
    """``SPEC`` as the ``tf.io`` parsing spec."""
    import tensorflow as tf

    return {
        name: tf.io.FixedLenFeature(
            shape, tf.string if kind == "bytes" else tf.int64, default_value=default
        )
        for name, (kind, shape, default) in SPEC.items()
    }


def parse_example(serialized):
    """Parses one serialized record into its raw features (graph-safe, for ``tf.data``)."""
    import tensorflow as tf

    return tf.io.parse_single_example(serialized, feature_spec())


def decode_pixels(raw, shape, dtype):
    """Raw bytes of a stored image -> float32 HWC tensor on a [0, 1] scale."""
    import tensorflow as tf

    def as_float(out_type, scale):
        return lambda: tf.cast(tf.io.decode_raw(raw, out_type), tf.float32) / scale

    flat = tf.case(
        [
            (tf.equal(dtype, "uint8"), as_float(tf.uint8, 255.0)),
            (tf.equal(dtype, "uint16"), as_float(tf.uint16, 65535.0)),
        ],
        default=as_float(tf.float16, 1.0),
        exclusive=True,
    )
    return tf.reshape(flat, tf.cast(shape, tf.int32))


def decode_example(features: dict) -> dict:
    """Raw features -> ``clean``, ``degraded`` and ``mask`` as float32 HWC tensors in [0, 1]
    (``mask`` is all zeros when the record has none)."""
    import tensorflow as tf

    degraded = decode_pixels(features["degraded"], features["degraded_shape"], features["degraded_dtype"])
    mask = tf.cond(
        tf.strings.length(features["mask"]) > 0,
        lambda: tf.reshape(
            tf.cast(tf.io.decode_raw(features["mask"], tf.uint8), tf.float32),
            tf.cast(features["mask_shape"], tf.int32),
        ),
        lambda: tf.zeros_like(degraded[..., :1]),
    )
    return {
        "clean": decode_pixels(features["clean"], features["clean_shape"], features["clean_dtype"]),
        "degraded": degraded,
        "mask": mask,
        "image_id": features["image_id"],
        "patch_index": features["patch_index"],
    }


def parse_to_numpy(serialized: bytes) -> dict:
    """Parses one record with protobuf into numpy arrays in their stored dtypes (for tests,
    tools and the restore job; no TensorFlow needed)."""
    example = _example_class()()
    example.ParseFromString(serialized)
    feature = example.features.feature

    def get(name):
        kind, shape, default = SPEC[name]
        if name not in feature:
            if default is None:
                raise ValueError(f"record lacks required feature {name!r}")
            return default
        values = feature[name].bytes_list.value if kind == "bytes" else feature[name].int64_list.value
        return values[0] if shape == () else list(values)

    def pixels(prefix):
        dtype = np.dtype(get(f"{prefix}_dtype").decode()).newbyteorder("<")
        return np.frombuffer(get(prefix), dtype=dtype).reshape(get(f"{prefix}_shape"))

    mask_raw = get("mask")
    return {
        "clean": pixels("clean"),
        "degraded": pixels("degraded"),
        "mask": np.frombuffer(mask_raw, np.uint8).reshape(get("mask_shape")) if mask_raw else None,
        "image_id": get("image_id").decode("utf-8"),
        "patch_index": int(get("patch_index")),
        "degradation": json.loads(get("degradation")),
        "schema_version": int(get("schema_version")),
    }


def frame(record: bytes) -> bytes:
    """One record as a TFRecord file holds it: its length (uint64, little-endian), the masked
    CRC-32C of those 8 bytes, the record, the masked CRC-32C of the record."""
    length = struct.pack("<Q", len(record))
    return b"".join((length, struct.pack("<I", _masked_crc(length)), record, struct.pack("<I", _masked_crc(record))))


def _masked_crc(data: bytes) -> int:
    crc = google_crc32c.value(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF
