"""DegradeToRecords on the local runner, in memory: beam.Create -> the transform -> assert_that."""

import hashlib
import io
import tarfile
import zipfile

import apache_beam as beam
import numpy as np
import pytest
from apache_beam.testing.util import BeamAssertException, assert_that, equal_to

from pipelines.degrade import pairs, recipe as recipes
from pipelines.inputs import sources
from pipelines.shards.degrade import ERRORS, INDEX, DegradeToRecords, writer_tag, writer_tags
from restoreflow import records
from tests.helpers.beam import local_pipeline
from tests.helpers.images import add_to_tar, photo, png_bytes, write_image

SETTINGS = pairs.PatchSettings(patch_size=24, stride=16)


def image(name: str, pixels: np.ndarray) -> sources.ImageBytes:
    return sources.ImageBytes(image_id=name, data=png_bytes(pixels), source=f"in/{name}")


def degrade(recipe="denoise-gray-s25", *, val_fraction=0.0, groups=1, seed=5):
    return DegradeToRecords(recipe=recipes.load(recipe), settings=SETTINGS, seed=seed, max_pixels=10**8,
                            val_fraction=val_fraction, groups=groups)


def matches(check):
    """An assert_that matcher from a function that asserts on the list of elements."""

    def matcher(actual):
        try:
            check(list(actual))
        except AssertionError as e:
            raise BeamAssertException(str(e)) from e

    return matcher


@pytest.mark.slow
def test_each_image_becomes_its_seeded_patch_records_and_an_index_line():
    camera, coins = photo("camera", (48, 56)), photo("coins", (40, 40))
    items = [image("camera.png", camera), image("coins.png", coins)]
    expected_patches = {"camera.png": len(pairs.patch_origins(48, 56, SETTINGS)),
                        "coins.png": len(pairs.patch_origins(40, 40, SETTINGS))}
    recipe = recipes.load("denoise-gray-s25")

    def check_records(batches):
        parsed = [records.parse_to_numpy(r) for batch in batches for r in batch]
        for name, count in expected_patches.items():
            mine = sorted((p for p in parsed if p["image_id"] == name), key=lambda p: p["patch_index"])
            assert [p["patch_index"] for p in mine] == list(range(count)), name
        first = next(p for p in parsed if p["image_id"] == "camera.png" and p["patch_index"] == 0)
        assert np.array_equal(first["clean"], camera[:24, :24])
        assert first["degraded"].dtype == np.float16 and first["degraded"].shape == (24, 24, 1)
        # Parameters come from the patch's own generator: (seed, image, patch index), nothing else.
        assert first["degradation"]["steps"] == recipe.sample(pairs.patch_rng(5, "camera.png", 0))

    with local_pipeline() as p:
        made = p | beam.Create(items) | degrade()
        assert_that(made[writer_tag("train", 0)], matches(check_records), label="records")
        assert_that(made[INDEX] | beam.Map(lambda line: (line["image_id"], line["records"], line["split"])),
                    equal_to([(n, c, "train") for n, c in expected_patches.items()]), label="index")
        assert_that(made[INDEX] | beam.Map(lambda line: line["content_sha256"]),
                    equal_to([hashlib.sha256(i.data).hexdigest() for i in items]), label="hashes")
        assert_that(made[ERRORS], equal_to([]), label="no errors")


@pytest.mark.slow
def test_records_spread_over_writer_groups_by_patch_index_and_images_over_splits_by_id():
    ids = [f"img{i}.png" for i in range(6)]
    val = {i for i in ids if pairs.is_validation(i, 0.5)}
    assert 0 < len(val) < len(ids), "the ids cover both splits"

    def spread(split, group):
        def check(batches):
            parsed = [records.parse_to_numpy(r) for batch in batches for r in batch]
            assert parsed and all(p["patch_index"] % 3 == group for p in parsed)
            assert {p["image_id"] for p in parsed} == (val if split == "val" else set(ids) - val)
        return check

    with local_pipeline() as p:
        made = p | beam.Create([image(i, photo("camera", (40, 40))) for i in ids]) | degrade(val_fraction=0.5, groups=3)
        assert set(writer_tags(3)) <= set(made)
        for split in ("train", "val"):
            for group in range(3):
                assert_that(made[writer_tag(split, group)], matches(spread(split, group)), label=f"{split} {group}")


def test_unclipped_and_quantizing_recipes_store_what_tf_data_decodes_to_unit_floats():
    import tensorflow as tf

    def check(batches):
        serialized = [r for batch in batches for r in batch]
        examples = tf.data.Dataset.from_tensor_slices(serialized).map(records.parse_example).map(records.decode_example)
        example = next(iter(examples))
        assert example["clean"].dtype == tf.float32 and example["clean"].shape == (24, 24, 1)
        assert 0.0 <= float(tf.reduce_min(example["degraded"])) and float(tf.reduce_max(example["degraded"])) <= 1.0
        assert float(tf.reduce_max(example["mask"])) == 0.0

    with local_pipeline() as p:
        made = p | beam.Create([image("camera.png", photo("camera", (40, 40)))]) | degrade("jpeg-q10-40")
        assert_that(made[writer_tag("train", 0)], matches(check))


@pytest.mark.slow
def test_images_that_cannot_be_used_are_errors_with_a_reason_and_the_rest_is_kept():
    full = png_bytes(photo("coins", (64, 64)))
    items = [
        image("good.png", photo("camera", (40, 40))),
        sources.ImageBytes("empty.png", b"", "in/empty.png"),
        sources.ImageBytes("truncated.png", full[: len(full) // 2], "in/truncated.png"),
        sources.ImageBytes("notes.png", b"not an image at all\n", "in/notes.png"),
        image("tiny.png", photo("camera", (16, 40))),
    ]

    def check(errors):
        reasons = {e["image_id"]: e["reason"] for e in errors}
        assert set(reasons) == {"empty.png", "truncated.png", "notes.png", "tiny.png"}
        assert "empty file" in reasons["empty.png"]
        assert "truncated" in reasons["truncated.png"] or "unreadable" in reasons["truncated.png"]
        assert "not a recognised image" in reasons["notes.png"]
        assert "smaller than the 24px patch size" in reasons["tiny.png"]
        assert all(e["source"] == f"in/{e['image_id']}" and e["stage"] == "decode" for e in errors)

    with local_pipeline() as p:
        made = p | beam.Create(items) | degrade()
        assert_that(made[ERRORS], matches(check), label="errors")
        assert_that(made[INDEX] | beam.Map(lambda line: line["image_id"]), equal_to(["good.png"]), label="kept")


def test_an_unforeseen_failure_on_one_image_is_an_error_and_the_others_go_on(monkeypatch):
    real = pairs.make_pairs

    def buggy(clean, **kwargs):  # fault injection: a bug nobody foresaw, on one image
        if kwargs["image_id"] == "moon.png":
            raise RuntimeError("injected bug")
        return real(clean, **kwargs)

    monkeypatch.setattr(pairs, "make_pairs", buggy)
    items = [image("moon.png", photo("moon", (40, 40))), image("coins.png", photo("coins", (40, 40)))]
    with local_pipeline() as p:
        made = p | beam.Create(items) | degrade()
        assert_that(made[ERRORS] | beam.Map(lambda e: (e["image_id"], "injected bug" in e["reason"])),
                    equal_to([("moon.png", True)]), label="errors")
        assert_that(made[INDEX] | beam.Map(lambda line: line["image_id"]), equal_to(["coins.png"]), label="kept")


# --- The inputs of job 1: sources.ReadImages feeding DegradeToRecords -------------------------


def read_and_degrade(specs, *, check_errors, kept: dict):
    """``kept``: image id -> the bytes it must have been made from."""
    with local_pipeline() as p:
        images, input_errors = p | sources.ReadImages(specs, 512 * 2**20)
        made = images | degrade()
        errors = (input_errors, made[ERRORS]) | beam.Flatten()
        assert_that(errors, matches(check_errors), label="errors")
        assert_that(made[INDEX] | beam.Map(lambda line: (line["image_id"], line["content_sha256"])),
                    equal_to([(i, hashlib.sha256(data).hexdigest()) for i, data in kept.items()]), label="kept")


def test_archive_members_that_escape_link_or_claim_too_much_are_errors(tmp_path):
    inputs = tmp_path / "bucket"
    write_image(inputs / "good.png", photo("camera", (40, 40)))
    (inputs / "readme.txt").write_text("a stray file\n")
    with tarfile.open(inputs / "evil.tar", "w") as archive:
        add_to_tar(archive, "../escape.png", png_bytes(photo("camera", (32, 32))))
        add_to_tar(archive, "/abs.png", png_bytes(photo("camera", (32, 32))))
        add_to_tar(archive, "link.png", b"", type=tarfile.SYMTYPE, linkname="/etc/passwd")
        add_to_tar(archive, "fine/ok.png", png_bytes(photo("coins", (32, 32))))
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("huge.png", png_bytes(photo("camera", (32, 32))))
    data = bytearray(bomb.getvalue())
    claimed = (3 * 1024**3).to_bytes(4, "little")  # the member claims 3 GiB uncompressed
    local, central = data.find(b"PK\x03\x04"), data.find(b"PK\x01\x02")
    data[local + 22 : local + 26] = claimed
    data[central + 24 : central + 28] = claimed
    (inputs / "bomb.zip").write_bytes(bytes(data))

    def check(errors):
        reasons = {e["image_id"]: e["reason"] for e in errors}
        assert "extension .txt" in reasons["readme.txt"]
        assert "climbs out" in reasons["evil.tar/../escape.png"]
        assert "absolute path" in reasons["evil.tar//abs.png"]
        assert "link" in reasons["evil.tar/link.png"]
        assert "claims 3221225472 bytes" in reasons["bomb.zip/huge.png"]
        assert len(errors) == 5

    kept = {"good.png": (inputs / "good.png").read_bytes(), "evil.tar/fine/ok.png": png_bytes(photo("coins", (32, 32)))}
    read_and_degrade([sources.resolve(str(inputs))], check_errors=check, kept=kept)


def test_a_corrupt_archive_member_is_an_error_and_its_siblings_are_kept(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("broken.png", png_bytes(photo("camera", (40, 40))))
        archive.writestr("fine.png", png_bytes(photo("coins", (40, 40))))
    data = bytearray(buffer.getvalue())
    start = data.find(b"PK\x03\x04") + 30 + len("broken.png")  # the first member's deflate stream
    data[start + 4 : start + 40] = bytes(36)  # zlib.error when it is inflated
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "box.zip").write_bytes(bytes(data))

    def check(errors):
        assert [(e["image_id"], "unreadable archive member" in e["reason"]) for e in errors] == [("box.zip/broken.png", True)]

    kept = {"box.zip/fine.png": png_bytes(photo("coins", (40, 40)))}
    read_and_degrade([sources.resolve(str(tmp_path / "in"))], check_errors=check, kept=kept)


def test_duplicate_image_ids_keep_the_first_input_and_report_the_rest(tmp_path):
    write_image(tmp_path / "2023" / "scan.png", photo("camera", (40, 40)))
    write_image(tmp_path / "2024" / "scan.png", photo("coins", (40, 40)))
    with tarfile.open(tmp_path / "2024" / "box.tar", "w") as archive:
        add_to_tar(archive, "a.png", png_bytes(photo("moon", (40, 40))))
        add_to_tar(archive, "./a.png", png_bytes(photo("text", (40, 40))))

    def check(errors):
        assert {(e["image_id"], e["source"].endswith("2024/scan.png") or "duplicate member" in e["reason"])
                for e in errors} == {("scan.png", True), ("box.tar/a.png", True)}

    specs = [sources.resolve(str(tmp_path / "2023")), sources.resolve(str(tmp_path / "2024"))]
    # the kept scan.png is the first --input's (camera), not the second's (coins)
    kept = {"scan.png": (tmp_path / "2023" / "scan.png").read_bytes(), "box.tar/a.png": png_bytes(photo("moon", (40, 40)))}
    read_and_degrade(specs, check_errors=check, kept=kept)


@pytest.mark.parametrize("recipe", ["sr-x2", "inpaint"])
def test_sr_and_inpainting_records_carry_their_scaled_shape_and_mask(recipe):
    def check(batches):
        parsed = [records.parse_to_numpy(r) for batch in batches for r in batch]
        for p in parsed:
            if recipe == "sr-x2":
                assert p["clean"].shape == (24, 24, 1) and p["degraded"].shape == (12, 12, 1)
            else:
                assert p["mask"].shape == (24, 24, 1) and p["mask"].any()
                assert np.all(p["degraded"][p["mask"][..., 0] == 1] == 0)

    with local_pipeline() as p:
        made = p | beam.Create([image("camera.png", photo("camera", (40, 40)))]) | degrade(recipe)
        assert_that(made[writer_tag("train", 0)], matches(check))
