import numpy as np
import pytest

from restoreflow import records


def pair(dtype=np.uint8, mask=True):
    rng = np.random.default_rng(0)
    clean = rng.integers(0, 255, (5, 7, 3)).astype(dtype)
    degraded = rng.random((5, 7, 3)).astype(np.float16)
    return dict(
        clean=clean,
        degraded=degraded,
        mask=(rng.random((5, 7, 1)) > 0.5).astype(np.uint8) if mask else None,
        image_id="a/b.png",
        patch_index=3,
        degradation={"recipe": "r", "steps": [{"op": "jpeg", "quality": 20}]},
    )


def test_writer_bytes_are_a_tensorflow_example():
    import tensorflow as tf

    serialized = records.make_example(**pair())
    example = tf.train.Example.FromString(serialized)
    assert example.features.feature["image_id"].bytes_list.value == [b"a/b.png"]
    assert list(example.features.feature["clean_shape"].int64_list.value) == [5, 7, 3]
    assert example.SerializeToString(deterministic=True) == serialized


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_round_trip_through_tf_data_and_the_parser(tmp_path, dtype):
    import tensorflow as tf

    given = pair(dtype)
    path = str(tmp_path / "x.tfrecord.gz")
    with tf.io.TFRecordWriter(path, tf.io.TFRecordOptions(compression_type="GZIP")) as writer:
        writer.write(records.make_example(**given))
        writer.write(records.make_example(**pair(dtype, mask=False)))
    dataset = tf.data.TFRecordDataset([path], compression_type="GZIP").map(records.parse_example)
    with_mask, without_mask = [records.decode_example(f) for f in dataset]
    scale = 65535.0 if dtype == np.uint16 else 255.0
    np.testing.assert_allclose(with_mask["clean"].numpy(), given["clean"] / scale, rtol=1e-6)
    np.testing.assert_array_equal(with_mask["degraded"].numpy(), given["degraded"].astype(np.float32))
    np.testing.assert_array_equal(with_mask["mask"].numpy(), given["mask"].astype(np.float32))
    assert with_mask["image_id"].numpy() == b"a/b.png" and int(with_mask["patch_index"]) == 3
    assert without_mask["mask"].shape == (5, 7, 1) and float(tf.reduce_max(without_mask["mask"])) == 0.0


def test_numpy_parser_gives_back_the_stored_arrays():
    given = pair(np.uint16)
    parsed = records.parse_to_numpy(records.make_example(**given))
    assert parsed["clean"].dtype == np.uint16 and np.array_equal(parsed["clean"], given["clean"])
    assert np.array_equal(parsed["degraded"], given["degraded"]) and np.array_equal(parsed["mask"], given["mask"])
    assert parsed["degradation"] == given["degradation"] and parsed["schema_version"] == records.SCHEMA_VERSION


def test_writer_rejects_what_the_schema_cannot_hold():
    bad = pair()
    bad["clean"] = bad["clean"].astype(np.float64)
    with pytest.raises(ValueError, match="dtype"):
        records.make_example(**bad)
    bad = pair()
    bad["degraded"] = bad["degraded"][..., 0]
    with pytest.raises(ValueError, match="HWC"):
        records.make_example(**bad)


def test_framed_records_are_the_bytes_tensorflows_writer_writes(tmp_path):
    import tensorflow as tf

    made = [records.make_example(**pair()), b"", bytes(range(256)) * 40]
    path = str(tmp_path / "x.tfrecord")
    with tf.io.TFRecordWriter(path) as writer:
        for record in made:
            writer.write(record)
    assert b"".join(map(records.frame, made)) == (tmp_path / "x.tfrecord").read_bytes()


def test_noise_sigma_adds_independent_noise_steps_in_quadrature():
    steps = [{"op": "gaussian_noise", "noise_sigma": 3.0, "color": True}, {"op": "jpeg", "quality": 40},
             {"op": "gaussian_noise", "noise_sigma": 4.0, "color": False}]
    assert records.noise_sigma({"recipe": "x", "steps": steps}) == pytest.approx(5.0)
    assert records.noise_sigma({"recipe": "x", "steps": [{"op": "jpeg", "quality": 40}]}) == 0.0
