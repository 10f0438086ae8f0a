import io
import json
import os
import tarfile
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from pipelines import make_shards
from restoreflow import records
from tests.conftest import photo, png_bytes, write_image


def read_records(output: Path, split: str) -> list[bytes]:
    import tensorflow as tf

    files = sorted(str(p) for p in (output / split).glob("*.tfrecord*"))
    compression = "GZIP" if files and files[0].endswith(".gz") else ""
    return [r.numpy() for r in tf.data.TFRecordDataset(files, compression_type=compression)]


def read_jsonl(folder: Path) -> list[dict]:
    return [json.loads(line) for path in sorted(folder.glob("*.jsonl")) for line in path.read_text().splitlines() if line]


def run_job(inputs, output, *extra, recipe="denoise-gray-s25"):
    args = [f"--input={i}" for i in inputs] + [f"--output={output}", f"--recipe={recipe}", "--seed=5"]
    return make_shards.run(args + ["--patch_size=24", "--stride=16", *extra])


def add_to_tar(archive, name, data, **fields):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    for key, value in fields.items():
        setattr(info, key, value)
    archive.addfile(info, io.BytesIO(data))


def test_folder_and_archives_become_parseable_shards(tmp_path, gray_folder):
    archive_path = tmp_path / "more.tar.gz"
    with tarfile.open(archive_path, "w:gz") as archive:
        add_to_tar(archive, "sub/astro.png", png_bytes(photo("astronaut", (40, 48))))
    zip_path = tmp_path / "extra.zip"
    with zipfile.ZipFile(zip_path, "w") as archive:
        archive.writestr("coffee.png", png_bytes(photo("coffee", (32, 40))))
    output = tmp_path / "shards"

    manifest = run_job([gray_folder, archive_path, zip_path], output, "--val_fraction=0.3")

    index = {line["image_id"]: line for line in read_jsonl(output / "index")}
    assert set(index) == {
        "camera.png", "moon.png", "coins.png", "nested/text.png",
        "more.tar.gz/sub/astro.png", "extra.zip/coffee.png",
    }
    assert all(len(line["content_sha256"]) == 64 for line in index.values())
    counts = manifest["counts"]
    assert counts["errors"] == 0 and counts["inputs_accounted"] == 6
    all_records = read_records(output, "train") + read_records(output, "val")
    assert len(all_records) == sum(counts["records"].values()) == sum(i["records"] for i in index.values())
    assert counts["records"]["val"] == len(read_records(output, "val"))
    parsed = [records.parse_to_numpy(r) for r in all_records]
    assert {p["image_id"] for p in parsed} == set(index)
    first = parsed[0]
    assert first["clean"].shape == (24, 24, 1) and first["clean"].dtype == np.uint8
    assert first["degraded"].dtype == np.float16  # the DnCNN protocol keeps noise unclipped
    assert first["degradation"]["steps"][0] == {"op": "gaussian_noise", "noise_sigma": 25.0, "color": False}
    assert manifest["recipe"]["name"] == "denoise-gray-s25" and manifest["seed"] == 5
    assert manifest["schema_version"] == records.SCHEMA_VERSION
    listed = [p for split in ("train", "val") for p in manifest["shards"][split]]
    assert sorted(listed) == sorted(str(p.relative_to(output)) for p in output.glob("*/*.tfrecord.gz"))
    # Shards are spread over at least 2 x workers files per split.
    assert len(manifest["shards"]["train"]) >= 2


def test_records_decode_to_float_pairs_through_tf_data(tmp_path, gray_folder):
    import tensorflow as tf

    output = tmp_path / "shards"
    run_job([gray_folder], output, "--compression=none", recipe="jpeg-q10-40")
    files = sorted(str(p) for p in (output / "train").glob("*.tfrecord"))
    dataset = tf.data.TFRecordDataset(files).map(records.parse_example).map(records.decode_example)
    example = next(iter(dataset))
    assert example["clean"].dtype == tf.float32 and example["clean"].shape == (24, 24, 1)
    assert 0.0 <= float(tf.reduce_min(example["degraded"])) and float(tf.reduce_max(example["degraded"])) <= 1.0
    assert float(tf.reduce_max(example["mask"])) == 0.0


def test_bad_inputs_land_in_errors_and_the_rest_is_kept(tmp_path):
    inputs = tmp_path / "bucket"
    write_image(inputs / "good.png", photo("camera", (40, 40)))
    write_image(inputs / "big.png", photo("moon", (100, 120)))  # over --max_pixels below
    (inputs / "empty.png").write_bytes(b"")
    full_png = png_bytes(photo("coins", (64, 64)))
    (inputs / "truncated.png").write_bytes(full_png[: len(full_png) // 2])
    jpeg = io.BytesIO()
    Image.fromarray(photo("camera", (64, 64))[..., 0]).save(jpeg, format="JPEG")
    (inputs / "truncated.jpg").write_bytes(jpeg.getvalue()[:300])
    (inputs / "notes.png").write_text("not an image at all\n")
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
    local = data.find(b"PK\x03\x04")
    central = data.find(b"PK\x01\x02")
    data[local + 22 : local + 26] = claimed
    data[central + 24 : central + 28] = claimed
    (inputs / "bomb.zip").write_bytes(bytes(data))
    output = tmp_path / "out"
    outside_before = sorted(str(p) for p in tmp_path.rglob("*") if output not in p.parents)

    manifest = run_job([inputs], output, "--max_pixels=5000")

    errors = {e["image_id"]: e for e in read_jsonl(output / "errors")}
    reasons = {image_id: e["reason"] for image_id, e in errors.items()}
    assert "over the limit" in reasons["big.png"]
    assert "empty file" in reasons["empty.png"]
    assert "truncated" in reasons["truncated.png"] or "unreadable" in reasons["truncated.png"]
    assert "truncated" in reasons["truncated.jpg"] or "unreadable" in reasons["truncated.jpg"]
    assert "not a recognised image" in reasons["notes.png"]
    assert "extension .txt" in reasons["readme.txt"]
    assert "climbs out" in reasons["evil.tar/../escape.png"]
    assert "absolute path" in reasons["evil.tar//abs.png"]
    assert "link" in reasons["evil.tar/link.png"]
    assert "claims 3221225472 bytes" in reasons["bomb.zip/huge.png"]
    kept = {line["image_id"] for line in read_jsonl(output / "index")}
    assert kept == {"good.png", "evil.tar/fine/ok.png"}
    assert manifest["counts"]["errors"] == len(errors) == 10
    assert manifest["counts"]["inputs_accounted"] == len(kept) + len(errors)
    assert {records.parse_to_numpy(r)["image_id"] for r in read_records(output, "train") + read_records(output, "val")} == kept
    outside_after = sorted(str(p) for p in tmp_path.rglob("*") if output not in p.parents and p != output)
    assert outside_after == outside_before


def test_same_seed_same_records_in_process_and_with_two_worker_processes(tmp_path, gray_folder):
    one = run_job([gray_folder], tmp_path / "one", recipe="blind-mixed")
    two = run_job(
        [gray_folder], tmp_path / "two", "--direct_running_mode=multi_processing", "--direct_num_workers=2",
        recipe="blind-mixed",
    )
    for split in ("train", "val"):
        assert sorted(read_records(tmp_path / "one", split)) == sorted(read_records(tmp_path / "two", split))
    assert one["content_digest"] == two["content_digest"]
    assert one["counts"] == two["counts"]
    other_seed = make_shards.run(
        [f"--input={gray_folder}", f"--output={tmp_path / 'three'}", "--recipe=blind-mixed", "--seed=6",
         "--patch_size=24", "--stride=16"]
    )
    assert other_seed["counts"] == one["counts"]
    assert sorted(read_records(tmp_path / "three", "train")) != sorted(read_records(tmp_path / "one", "train"))


def test_explicit_shard_count_is_exact(tmp_path, gray_folder):
    manifest = run_job([gray_folder], tmp_path / "out", "--num_shards=3", "--val_fraction=0.5")
    assert len(manifest["shards"]["train"]) == 3
    assert len(read_records(tmp_path / "out", "train")) == manifest["counts"]["records"]["train"]


def test_cli_errors_name_the_problem(tmp_path, gray_folder, capsys):
    assert make_shards.main([f"--input={gray_folder}", f"--output={tmp_path}/o", "--recipe=sr-x2", "--patch_sise=24"]) == 2
    assert "unknown flag --patch_sise (did you mean --patch_size?)" in capsys.readouterr().err
    assert make_shards.main([f"--input={tmp_path}/missing", f"--output={tmp_path}/o", "--recipe=sr-x2"]) == 2
    assert "no files found" in capsys.readouterr().err
    assert make_shards.main([f"--input={gray_folder}", f"--output={tmp_path}/o", "--recipe=sr-x3", "--patch_size=40"]) == 2
    assert "patch_size" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "o")
    (tmp_path / "a_file").write_text("")
    assert make_shards.main([f"--input={gray_folder}", f"--output={tmp_path}/a_file", "--recipe=sr-x2"]) == 2
    assert capsys.readouterr().err.strip() == f"restoreflow shards: error: --output {tmp_path}/a_file is a file; give a folder (it is created when missing)"
    assert make_shards.main([f"--input={gray_folder}", f"--output={tmp_path}/o", "--recipe=sr-x2", "--stride=0"]) == 2
    assert "--stride must be at least 1, got 0" in capsys.readouterr().err
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "a.png").write_bytes(b"")
    assert make_shards.main([f"--input={tmp_path}/junk", f"--output={tmp_path}/o", "--recipe=sr-x2"]) == 1
    assert "0 images" in capsys.readouterr().out


def test_output_with_shards_is_not_overwritten(tmp_path, gray_folder, capsys):
    run_job([gray_folder], tmp_path / "out")
    assert make_shards.main([f"--input={gray_folder}", f"--output={tmp_path / 'out'}", "--recipe=sr-x2"]) == 2
    assert "is not empty" in capsys.readouterr().err
    (tmp_path / "crashed").mkdir()
    (tmp_path / "crashed" / "index").mkdir()
    (tmp_path / "crashed" / "index" / "images-00000-of-00001.jsonl").write_text("{}\n")  # no manifest
    assert make_shards.main([f"--input={gray_folder}", f"--output={tmp_path / 'crashed'}", "--recipe=sr-x2"]) == 2


def test_an_unforeseen_failure_on_one_image_goes_to_errors(tmp_path, gray_folder, monkeypatch):
    from pipelines.degrade import pairs

    real = pairs.make_pairs

    def buggy(clean, **kwargs):  # fault injection: a bug nobody foresaw, on one image
        if kwargs["image_id"] == "moon.png":
            raise RuntimeError("injected bug")
        return real(clean, **kwargs)

    monkeypatch.setattr(pairs, "make_pairs", buggy)
    manifest = run_job([gray_folder], tmp_path / "out")
    errors = read_jsonl(tmp_path / "out" / "errors")
    assert [(e["image_id"], "injected bug" in e["reason"]) for e in errors] == [("moon.png", True)]
    assert manifest["counts"]["inputs_accounted"] == 4 and manifest["counts"]["errors"] == 1


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
    manifest = run_job([tmp_path / "in"], tmp_path / "out")
    errors = read_jsonl(tmp_path / "out" / "errors")
    assert [(e["image_id"], "unreadable archive member" in e["reason"]) for e in errors] == [("box.zip/broken.png", True)]
    assert [line["image_id"] for line in read_jsonl(tmp_path / "out" / "index")] == ["box.zip/fine.png"]
    assert manifest["counts"]["inputs_accounted"] == 2


def test_duplicate_image_ids_keep_the_first_input_and_report_the_rest(tmp_path):
    write_image(tmp_path / "2023" / "scan.png", photo("camera", (40, 40)))
    write_image(tmp_path / "2024" / "scan.png", photo("coins", (40, 40)))
    with tarfile.open(tmp_path / "2024" / "box.tar", "w") as archive:
        add_to_tar(archive, "a.png", png_bytes(photo("moon", (40, 40))))
        add_to_tar(archive, "./a.png", png_bytes(photo("text", (40, 40))))
    run_job([tmp_path / "2023", tmp_path / "2024"], tmp_path / "out")
    kept = {line["image_id"]: line["source_mode"] for line in read_jsonl(tmp_path / "out" / "index")}
    assert set(kept) == {"scan.png", "box.tar/a.png"}
    errors = {(e["image_id"], e["source"].endswith("2024/scan.png") or "duplicate member" in e["reason"])
              for e in read_jsonl(tmp_path / "out" / "errors")}
    assert errors == {("scan.png", True), ("box.tar/a.png", True)}
    parsed = [records.parse_to_numpy(r) for r in read_records(tmp_path / "out", "train")
              + read_records(tmp_path / "out", "val")]
    first_scan = next(r for r in parsed if r["image_id"] == "scan.png")
    # the kept scan.png is the first --input's (camera), not the second's (coins)
    assert np.array_equal(first_scan["clean"], photo("camera", (40, 40))[:24, :24])
