import io
import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

from pipelines import images, report, restore, scoring
from pipelines.degrade import pairs, recipe as recipes
from tests.conftest import photo, write_image

TINY_DNCNN = {"channels": 1, "depth": 3, "width": 8, "batch_norm": False}


def make_model(folder: Path, name="dncnn", args=None, task="denoise", seed=0, prepare=None) -> str:
    """A small randomly initialised (seeded) model directory; ``prepare(model)`` may change its
    weights before the export."""
    import keras

    from model import architectures
    from model.export import export_model

    args = dict(args or TINY_DNCNN)
    keras.utils.set_random_seed(seed)
    model = architectures.build(name, args)
    if prepare:
        prepare(model)
    card = {**architectures.describe(name, args), "task": task, "architecture": {"name": name, "args": args}}
    export_model(model, folder, card=card)
    return str(folder)


@pytest.fixture(scope="module")
def gray_model(tmp_path_factory):
    return make_model(tmp_path_factory.mktemp("models") / "gray")


def run_restore(inputs, output, model, *extra):
    args = [f"--input={i}" for i in inputs] + [f"--output={output}", f"--model={model}"]
    return restore.run(args + list(extra))


def rows_of(output: Path, run_id: str | None = None) -> list[dict]:
    folder = output / "scores" / run_id if run_id else None
    files = sorted(folder.glob("*.parquet")) if folder else sorted(output.glob("scores/*/*.parquet"))
    return [row for f in files for row in pq.read_table(f).to_pylist()]


def read_pixels(path) -> np.ndarray:
    return images.decode(Path(path).read_bytes()).pixels


def whole_image(model_dir, pixels: np.ndarray) -> np.ndarray:
    from model.export import load_model

    model, _ = load_model(model_dir)
    return model(images.to_float(pixels)[None]).numpy()[0]


def test_tiled_restore_equals_whole_image_inference(tmp_path, gray_model):
    rng = np.random.default_rng(0)
    folder = tmp_path / "in"
    odd = (photo("camera", (37, 53)).astype(np.uint16) * 257 + rng.integers(0, 256, (37, 53, 1))).astype(np.uint16)
    small = (photo("moon", (11, 13)).astype(np.uint16) * 257).astype(np.uint16)
    for name, pixels in (("odd.png", odd), ("small.png", small)):
        (folder).mkdir(exist_ok=True)
        Image.fromarray(pixels[..., 0]).save(folder / name)  # 16-bit PNG: steps of 1.5e-5
    summary = run_restore([folder], tmp_path / "out", gray_model, "--tile_size=16")
    # Tiles of 16 with 3 px overlap: rows start at 0, 10, 20, 21 and columns at 0, 10, 20, 30, 37;
    # the small image is one tile of its own size.
    assert summary["counters"]["tiles"] == 4 * 5 + 1
    for name, pixels in (("odd.png", odd), ("small.png", small)):
        restored = read_pixels(tmp_path / "out" / "restored" / name)
        assert restored.dtype == np.uint16
        expected = np.clip(whole_image(gray_model, pixels), 0, 1)
        assert np.abs(images.to_float(restored) - expected).max() <= 1e-4


def test_tiling_covers_every_pixel_once_and_matches_in_float(gray_model):
    from model import tiling
    from model.export import load_model

    model, _ = load_model(gray_model)
    image = images.to_float(photo("coins", (45, 61)))
    whole = model(image[None]).numpy()[0]
    canvas = np.full_like(whole, np.nan)
    for tile in tiling.plan(45, 61, tile_size=20, overlap=3):
        out = model(np.ascontiguousarray(tiling.extract(image, tile))[None]).numpy()[0]
        region = canvas[tile.rows.core_start : tile.rows.core_end, tile.cols.core_start : tile.cols.core_end]
        assert np.isnan(region).all(), "cores must not overlap"
        tiling.place(canvas, tiling.core(out, tile), tile)
    assert not np.isnan(canvas).any()
    assert np.abs(canvas - whole).max() <= 1e-5


@pytest.mark.parametrize("length, multiple", [(37, 1), (53, 4), (100, 4), (16, 4), (61, 8)])
def test_tile_spans_partition_the_axis_with_aligned_starts(length, multiple):
    from model import tiling

    spans = tiling.axis_spans(length, tile_size=20, overlap=3, multiple=multiple)
    assert spans[0].core_start == 0 and spans[-1].core_end == length
    for span, following in zip(spans, spans[1:]):
        assert span.core_end == following.core_start
        assert span.start % multiple == 0 and following.start % multiple == 0
        assert following.start + 3 <= following.core_start and span.core_end <= span.start + span.length - 3
    assert spans[-1].start + spans[-1].length == length


def test_tiled_unet_equals_whole_image_inference(tmp_path):
    from model import tiling
    from model.export import load_model

    model_dir = make_model(tmp_path / "unet", "unet", {"channels": 1, "width": 4, "levels": 2, "blocks": 1})
    model, card = load_model(model_dir)
    tail = model.get_layer("tail")  # an untrained U-Net is the identity; give its tail weights
    tail.set_weights([np.random.default_rng(1).normal(0, 0.3, w.shape).astype(np.float32) for w in tail.get_weights()])
    image = images.to_float(photo("camera", (70, 83)))
    whole = model(image[None]).numpy()[0]
    canvas = np.zeros_like(whole)
    radius, multiple = card["receptive_field_radius"], card["size_multiple"]
    for tile in tiling.plan(70, 83, tile_size=2 * radius + 8, overlap=radius, multiple=multiple):
        out = model(np.ascontiguousarray(tiling.extract(image, tile))[None]).numpy()[0]
        tiling.place(canvas, tiling.core(out, tile), tile)
    assert np.abs(canvas - whole).max() <= 1e-5


def _jpeg_with_exif_rotation(pixels) -> bytes:
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif.tobytes(), quality=95)
    return buffer.getvalue()


def test_modes_sizes_and_formats_are_kept(tmp_path, gray_model):
    folder = tmp_path / "in"
    rgb = photo("astronaut", (24, 30))
    alpha = np.linspace(0, 255, 24 * 30).astype(np.uint8).reshape(24, 30, 1)
    write_image(folder / "gray.png", photo("camera", (20, 28)))
    write_image(folder / "rgb.png", rgb)
    write_image(folder / "rgba.png", np.concatenate([rgb, alpha], -1))
    write_image(folder / "la.png", np.concatenate([photo("camera", (24, 30)), alpha], -1))
    Image.fromarray(rgb).quantize(16).save(folder / "palette.png")
    (folder / "rotated.jpg").write_bytes(_jpeg_with_exif_rotation(photo("camera", (20, 36))[..., 0]))
    Image.fromarray(photo("moon", (18, 22))[..., 0].astype(np.uint16) * 257).save(folder / "deep.png")
    Image.fromarray(rgb).save(folder / "photo.jpg", quality=90)

    run_restore([folder], tmp_path / "out", gray_model)

    out = tmp_path / "out" / "restored"
    decoded = {p.name: images.decode(p.read_bytes()) for p in out.iterdir()}
    assert decoded["gray.png"].pixels.shape == (20, 28, 1)
    assert decoded["rgb.png"].pixels.shape == (24, 30, 3) and decoded["rgb.png"].alpha is None
    assert np.array_equal(decoded["rgba.png"].alpha, alpha), "alpha passes through untouched"
    assert np.array_equal(decoded["la.png"].alpha, alpha) and decoded["la.png"].pixels.shape[-1] == 1
    assert decoded["palette.png"].pixels.shape == (24, 30, 3)
    assert decoded["rotated.jpg"].pixels.shape == (36, 20, 1) and decoded["rotated.jpg"].format == "JPEG"
    assert decoded["deep.png"].pixels.dtype == np.uint16
    assert decoded["photo.jpg"].format == "JPEG" and decoded["photo.jpg"].pixels.shape == (24, 30, 3)
    by_id = {row["image_id"]: row for row in rows_of(tmp_path / "out")}
    assert by_id["rgba.png"]["has_alpha"] and by_id["deep.png"]["bit_depth"] == 16
    assert by_id["palette.png"]["source_mode"] == "P"


def test_gray_model_on_colour_restores_luma_and_keeps_gray_images_gray(tmp_path, gray_model):
    folder = tmp_path / "in"
    gray = photo("camera", (24, 24))
    write_image(folder / "gray_as_rgb.png", np.repeat(gray, 3, axis=-1))
    write_image(folder / "gray.png", gray)
    run_restore([folder], tmp_path / "out", gray_model)
    as_rgb = read_pixels(tmp_path / "out" / "restored" / "gray_as_rgb.png").astype(int)
    as_gray = read_pixels(tmp_path / "out" / "restored" / "gray.png").astype(int)
    # A colour file holding a gray picture restores like the gray picture (full-range Y).
    assert np.abs(as_rgb - as_gray).max() <= 1


def test_colour_model_on_a_gray_image_gives_a_gray_image(tmp_path):
    model = make_model(tmp_path / "rgb_model", args={**TINY_DNCNN, "channels": 3})
    write_image(tmp_path / "in" / "g.png", photo("camera", (16, 20)))
    run_restore([tmp_path / "in"], tmp_path / "out", model)
    assert read_pixels(tmp_path / "out" / "restored" / "g.png").shape == (16, 20, 1)


def test_super_resolution_output_is_scaled(tmp_path):
    model = make_model(tmp_path / "sr", "sr_subpixel", {"channels": 1, "scale": 2, "depth": 2, "width": 8}, task="sr")
    rgb = photo("astronaut", (13, 17))
    alpha = np.full((13, 17, 1), 200, np.uint8)
    write_image(tmp_path / "in" / "a.png", np.concatenate([rgb, alpha], -1))
    run_restore([tmp_path / "in"], tmp_path / "out", model, "--tile_size=8")
    decoded = images.decode((tmp_path / "out" / "restored" / "a.png").read_bytes())
    assert decoded.pixels.shape == (26, 34, 3) and decoded.alpha.shape == (26, 34, 1)
    row = rows_of(tmp_path / "out")[0]
    assert (row["width_out"], row["height_out"]) == (34, 26)


def test_paired_mode_scores_equal_a_direct_computation(tmp_path, gray_model):
    clean = photo("coins", (40, 48))
    write_image(tmp_path / "in" / "c.png", clean)
    run_restore([tmp_path / "in"], tmp_path / "out", gray_model, "--degrade=denoise-gray-s25", "--seed=3")
    row = rows_of(tmp_path / "out")[0]
    restored = read_pixels(tmp_path / "out" / "restored" / "c.png")
    # The same degradation job 1 makes for a whole image (patch_size 0, patch index 0).
    recipe = recipes.load("denoise-gray-s25")
    pair = next(pairs.make_pairs(clean, recipe=recipe, settings=pairs.PatchSettings(patch_size=0), seed=3,
                                 image_id="c.png"))
    degraded = images.from_float(pair.degraded.astype(np.float32), np.uint8)
    assert row["reference"] == "paired"
    assert row["psnr_db_restored"] == pytest.approx(scoring.psnr_db(clean, restored), abs=1e-9)
    assert row["psnr_db_degraded"] == pytest.approx(scoring.psnr_db(clean, degraded), abs=1e-9)
    assert row["ssim_restored"] == pytest.approx(scoring.ssim(clean, restored), abs=1e-9)
    # ... and they follow scikit-image's implementations.
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    assert row["psnr_db_restored"] == pytest.approx(peak_signal_noise_ratio(clean, restored, data_range=255), abs=1e-3)
    assert row["ssim_restored"] == pytest.approx(
        structural_similarity(clean[..., 0], restored[..., 0], gaussian_weights=True, sigma=1.5,
                              use_sample_covariance=False, data_range=255), abs=1e-3)
    # The model saw job 1's degraded image itself: unclipped float noise (the DnCNN protocol).
    from model.export import load_model

    model, _ = load_model(gray_model)
    expected = images.from_float(model(pair.degraded.astype(np.float32)[None]).numpy()[0], np.uint8)
    assert np.abs(restored.astype(int) - expected.astype(int)).max() <= 1


def test_references_match_by_relative_path_and_stem(tmp_path, gray_model, capsys):
    clean = photo("camera", (32, 32))
    noisy = np.clip(clean.astype(int) + np.random.default_rng(0).integers(-20, 20, clean.shape), 0, 255).astype(np.uint8)
    (tmp_path / "in" / "sub").mkdir(parents=True)
    Image.fromarray(noisy[..., 0]).save(tmp_path / "in" / "sub" / "x.jpg", quality=95)
    write_image(tmp_path / "in" / "y.png", noisy)
    write_image(tmp_path / "in" / "z.png", noisy)
    write_image(tmp_path / "ref" / "sub" / "x.png", clean)  # a.jpg <-> a.png
    write_image(tmp_path / "ref" / "z.png", photo("camera", (30, 32)))  # another size
    summary = run_restore([tmp_path / "in"], tmp_path / "out", gray_model, f"--reference={tmp_path / 'ref'}")
    assert summary["counts"] == {"error": 0, "restored": 3} and summary["warnings"] == []
    by_id = {row["image_id"]: row for row in rows_of(tmp_path / "out")}
    decoded = images.decode((tmp_path / "in" / "sub" / "x.jpg").read_bytes()).pixels
    assert by_id["sub/x.jpg"]["psnr_db_degraded"] == pytest.approx(scoring.psnr_db(clean, decoded))
    assert by_id["sub/x.jpg"]["reference"] == str(tmp_path / "ref" / "sub" / "x.png")
    assert by_id["y.png"]["psnr_db_degraded"] is None and by_id["y.png"]["note"] is None
    assert by_id["z.png"]["psnr_db_degraded"] is None and by_id["z.png"]["noise_sigma_degraded"] is not None
    assert "is 32x30, the restored image is 32x32: not scored against it" in by_id["z.png"]["note"]
    # The report's crops: degraded | restored, then the reference where there is one (4 px gaps).
    with_reference, without = (read_pixels(by_id[i]["crop_path"]) for i in ("sub/x.jpg", "y.png"))
    assert with_reference.shape == (32, 3 * 32 + 8, 1) and without.shape == (32, 2 * 32 + 4, 1)
    assert np.array_equal(with_reference[:, :32], decoded) and np.array_equal(with_reference[:, 72:], clean)
    assert np.array_equal(without[:, 36:68], read_pixels(tmp_path / "out" / "restored" / "y.png"))
    # References given but none matching: said so, on one line.
    write_image(tmp_path / "elsewhere" / "other.png", clean)
    base = [f"--input={tmp_path / 'in'}", f"--output={tmp_path / 'out2'}", f"--model={gray_model}"]
    assert restore.main([*base, f"--reference={tmp_path / 'elsewhere'}"]) == 0
    assert "warning: no input matched a reference in" in capsys.readouterr().err


def test_bad_inputs_go_to_errors_and_the_rest_is_restored(tmp_path, gray_model):
    folder = tmp_path / "in"
    write_image(folder / "good.png", photo("camera", (16, 16)))
    write_image(folder / "huge.png", photo("moon", (80, 80)))
    (folder / "empty.png").write_bytes(b"")
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    summary = run_restore([folder], tmp_path / "out", gray_model, "--max_pixels=1000")
    errors = [json.loads(line) for f in (tmp_path / "out" / "errors").glob("*/*.jsonl") for line in f.read_text().splitlines()]
    assert {e["image_id"] for e in errors} == {"huge.png", "empty.png", "corrupt.png"}
    assert all(e["reason"] for e in errors)
    assert [p.name for p in (tmp_path / "out" / "restored").iterdir()] == ["good.png"]
    assert summary["counts"] == {"error": 3, "restored": 1}


EXPECTED_COLUMNS = [
    "image_id", "source", "status", "run_id", "settings_key", "model_id", "task", "content_sha256",
    "width_in", "height_in", "width_out", "height_out", "channels", "bit_depth", "has_alpha", "source_mode",
    "format_in", "format_out", "output_path", "crop_path", "reference", "tiles", "seconds",
    "psnr_db_degraded", "psnr_db_restored", "ssim_degraded", "ssim_restored", "ms_ssim_degraded",
    "ms_ssim_restored", "noise_sigma_degraded", "noise_sigma_restored", "sharpness_degraded",
    "sharpness_restored", "blockiness_degraded", "blockiness_restored", "output_sha256", "mask_sha256",
    "redone", "note",
]


def test_parquet_schema_is_stable(tmp_path, gray_model):
    write_image(tmp_path / "in" / "a.png", photo("camera", (16, 16)))
    run_restore([tmp_path / "in"], tmp_path / "out", gray_model)
    written = pq.read_schema(next((tmp_path / "out" / "scores").glob("*/*.parquet")))
    assert written.names == EXPECTED_COLUMNS == report.SCHEMA.names
    assert written.remove_metadata().equals(report.SCHEMA.remove_metadata())


def test_two_worker_processes_give_the_same_scores(tmp_path, gray_model, gray_folder):
    one = run_restore([gray_folder], tmp_path / "one", gray_model, "--degrade=denoise-gray-s15", "--tile_size=24")
    two = run_restore([gray_folder], tmp_path / "two", gray_model, "--degrade=denoise-gray-s15", "--tile_size=24",
                      "--direct_running_mode=multi_processing", "--direct_num_workers=2")
    assert one["counts"] == two["counts"] == {"error": 0, "restored": 4}

    def scores(output):
        return {r["image_id"]: {k: r[k] for k in report.SCORE_COLUMNS} for r in rows_of(output)}

    assert scores(tmp_path / "one") == scores(tmp_path / "two")


def test_reruns_only_do_new_or_changed_work(tmp_path, gray_model):
    folder = tmp_path / "in"
    for i, name in enumerate(("camera", "moon", "coins")):
        write_image(folder / f"{i}.png", photo(name, (20, 24)))
    first = run_restore([folder], tmp_path / "out", gray_model)
    assert first["counters"]["images_restored"] == 3

    again = run_restore([folder], tmp_path / "out", gray_model)
    assert again["counters"].get("images_restored", 0) == 0 and again["counters"]["images_skipped"] == 3
    assert again["counters"].get("num_inferences", 0) == 0, "an unchanged bucket runs no inference"
    assert again["counts"] == {"error": 0, "skipped": 3}

    write_image(folder / "3.png", photo("text", (20, 24)))
    write_image(folder / "4.png", photo("camera", (22, 24)))
    write_image(folder / "0.png", photo("camera", (20, 26)))  # changed content
    more = run_restore([folder], tmp_path / "out", gray_model)
    assert more["counters"]["images_restored"] == 3 and more["counters"]["images_skipped"] == 2

    other_model = make_model(tmp_path / "other", seed=1)
    redo = run_restore([folder], tmp_path / "out", other_model)
    assert redo["counters"]["images_restored"] == 5
    forced = run_restore([folder], tmp_path / "out", other_model, "--force")
    assert forced["counters"]["images_restored"] == 5
    # Back to the first model: restored/ holds the other model's output, so all is done again.
    rollback = run_restore([folder], tmp_path / "out", gray_model)
    assert rollback["counters"]["images_restored"] == 5
    # A paired evaluation into the same folder replaces the outputs; the next plain run redoes them.
    run_restore([folder], tmp_path / "out", gray_model, "--degrade=denoise-gray-s15")
    plain = run_restore([folder], tmp_path / "out", gray_model)
    assert plain["counters"]["images_restored"] == 5
    assert run_restore([folder], tmp_path / "out", gray_model)["counters"].get("images_restored", 0) == 0


def test_cli_errors_name_the_problem(tmp_path, gray_model, capsys):
    write_image(tmp_path / "in" / "a.png", photo("camera", (16, 16)))
    base = [f"--input={tmp_path / 'in'}", f"--output={tmp_path / 'out'}", f"--model={gray_model}"]
    assert restore.main(base + ["--tile_sise=64"]) == 2
    assert "--tile_sise (did you mean --tile_size?)" in capsys.readouterr().err
    assert restore.main(base + ["--degrade=sr-x2"]) == 2
    assert "scales by 1" in capsys.readouterr().err
    assert restore.main(base + ["--format=GIFF"]) == 2
    assert "--format GIFF" in capsys.readouterr().err
    assert restore.main(base + ["--tile_size=6"]) == 2
    assert "tile_size" in capsys.readouterr().err
    assert restore.main([f"--input={tmp_path / 'in'}", f"--output={tmp_path / 'out'}", f"--model={tmp_path}"]) == 2
    assert "not a model directory" in capsys.readouterr().err


def test_usage_mistakes_are_one_line_naming_the_problem(tmp_path, gray_model, capsys):
    import shutil

    write_image(tmp_path / "in" / "a.png", photo("camera", (16, 16)))
    (tmp_path / "a_file").write_text("")
    truncated = tmp_path / "truncated"
    shutil.copytree(gray_model, truncated)
    data = (truncated / "model.keras").read_bytes()
    (truncated / "model.keras").write_bytes(data[: len(data) // 2])
    base = [f"--input={tmp_path / 'in'}", f"--output={tmp_path / 'out'}", f"--model={gray_model}"]
    cases = [
        ([f"--input={tmp_path / 'in'}", f"--output={tmp_path / 'a_file'}", f"--model={gray_model}"],
         f"--output {tmp_path / 'a_file'} is a file"),
        ([f"--input={tmp_path / 'in'}", f"--output={tmp_path / 'out'}", f"--model={truncated}"],
         f"{truncated / 'model.keras'} is damaged or not a Keras model file"),
        ([*base, "--runner=DataflowRunner", "--region=europe-west1", "--temp_location=gs://b/tmp"],
         "--runner DataflowRunner needs --project"),
        ([*base, "--max_pixels", "-1"], "--max_pixels must be at least 1, got -1"),
        ([*base, "--batch_size=0"], "--batch_size must be at least 1, got 0"),
        ([*base, "--batch_size=many"], "argument --batch_size: invalid int value: 'many'"),
    ]
    for argv, message in cases:
        assert restore.main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and message in err, err
    assert not (tmp_path / "out").exists(), "nothing ran"


def test_a_run_that_rejects_every_input_exits_1(tmp_path, gray_model, capsys):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.png").write_bytes(b"not a png")
    (tmp_path / "in" / "b.jpg").write_bytes(b"")
    argv = [f"--input={tmp_path / 'in'}", f"--output={tmp_path / 'out'}", f"--model={gray_model}"]
    assert restore.main(argv) == 1
    assert "0 restored, 0 skipped, 2 rejected" in capsys.readouterr().out


def test_unforeseen_failures_on_one_image_do_not_stop_the_run(tmp_path, gray_model, monkeypatch):
    from pipelines import inference

    def marked(name, size, corner=None, value=0):
        pixels = photo(name, size).copy()
        pixels[0, 0] = pixels[-1, -1] = 128
        if corner is not None:
            pixels[corner] = value
        return pixels

    folder = tmp_path / "in"
    write_image(folder / "fine.png", marked("camera", (16, 16)))
    write_image(folder / "bad-prepare.png", marked("moon", (16, 16)))
    # Four 16 px tiles each; a sentinel value marks the first tile of one and the last of the other.
    write_image(folder / "bad-first-tile.png", marked("coins", (21, 23), (0, 0), 1))
    write_image(folder / "bad-last-tile.png", marked("text", (25, 27), (-1, -1), 2))
    real_job = restore.PrepareImages._job
    real_load = inference.TileModelHandler.load_model

    def buggy_job(self, item, *args):  # fault injection: a bug nobody foresaw, on one image
        if item.image_id == "bad-prepare.png":
            raise RuntimeError("injected bug")
        return real_job(self, item, *args)

    def failing_forward(self):  # fault injection: the forward pass fails on the marked tiles
        predict = real_load(self)

        def forward(batch):
            corners = (round(float(batch[0, 0, 0, 0]) * 255), round(float(batch[0, -1, -1, 0]) * 255))
            if corners[0] == 1 or corners[1] == 2:
                raise RuntimeError("injected inference failure")
            return predict(batch)

        return forward

    monkeypatch.setattr(restore.PrepareImages, "_job", buggy_job)
    monkeypatch.setattr(inference.TileModelHandler, "load_model", failing_forward)
    summary = run_restore([folder], tmp_path / "out", gray_model, "--batch_size=1", "--tile_size=16")
    errors = [json.loads(line) for f in (tmp_path / "out" / "errors").glob("*/*.jsonl") for line in f.read_text().splitlines()]
    assert sorted((e["image_id"], e["stage"]) for e in errors) == [
        ("bad-first-tile.png", "inference"), ("bad-last-tile.png", "inference"), ("bad-prepare.png", "decode"),
    ], "one error per image"
    assert all("injected" in e["reason"] for e in errors)
    assert summary["counts"] == {"error": 3, "restored": 1}
    assert [p.name for p in (tmp_path / "out" / "restored").iterdir()] == ["fine.png"]


def test_reupscaled_super_resolution_is_scored_with_the_sr_conventions(tmp_path, gray_model):
    # DnCNN-3's protocol: the bicubic-upscaled image goes in; scores crop `factor` border pixels.
    clean = photo("astronaut", (64, 64))  # not a multiple of 3: modcropped to 63x63
    write_image(tmp_path / "in" / "a.png", clean)
    recipe = tmp_path / "sr3.yaml"
    recipe.write_text("name: sr3-up\ntask: sr\ncolor: keep\nsteps:\n  - op: downscale\n    scale: 3\n    reupscale: true\n")
    run_restore([tmp_path / "in"], tmp_path / "out", gray_model, f"--degrade={recipe}")
    row = rows_of(tmp_path / "out")[0]
    restored = read_pixels(tmp_path / "out" / "restored" / "a.png")
    assert restored.shape == (63, 63, 3) and row["task"] == "sr"
    expected = scoring.psnr_db(clean[:63, :63], restored, crop_border=3, y_channel=True)
    assert row["psnr_db_restored"] == pytest.approx(expected, abs=1e-9)


def test_images_too_small_to_score_are_restored_with_null_scores(tmp_path, gray_model):
    write_image(tmp_path / "in" / "tiny.png", photo("camera", (6, 9)))
    write_image(tmp_path / "in" / "dot.png", photo("camera", (3, 9)))
    summary = run_restore([tmp_path / "in"], tmp_path / "out", gray_model, "--degrade=denoise-gray-s25")
    assert summary["counts"] == {"error": 1, "restored": 1}
    row = rows_of(tmp_path / "out")[0]
    assert row["image_id"] == "tiny.png" and row["psnr_db_restored"] is None and row["ssim_restored"] is None


def test_archive_members_keep_their_paths_under_the_output(tmp_path, gray_model):
    import tarfile
    import zipfile

    from tests.conftest import png_bytes

    with zipfile.ZipFile(tmp_path / "box.zip", "w") as archive:
        archive.writestr("scans/a.png", png_bytes(photo("camera", (20, 20))))
    with tarfile.open(tmp_path / "old.tar.gz", "w:gz") as archive:
        data = png_bytes(photo("moon", (18, 22)))
        info = tarfile.TarInfo("b.png")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    run_restore([tmp_path / "box.zip", tmp_path / "old.tar.gz"], tmp_path / "out", gray_model)
    restored = tmp_path / "out" / "restored"
    assert read_pixels(restored / "box.zip" / "scans" / "a.png").shape == (20, 20, 1)
    assert read_pixels(restored / "old.tar.gz" / "b.png").shape == (18, 22, 1)


@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_16bit_colour_stays_16bit_end_to_end(tmp_path, fmt):
    model = make_model(tmp_path / "rgb_model", args={**TINY_DNCNN, "channels": 3})
    rng = np.random.default_rng(0)
    pixels = (photo("astronaut", (21, 26)).astype(np.uint16) * 257 + rng.integers(0, 200, (21, 26, 3))).astype(np.uint16)
    name = "deep.png" if fmt == "PNG" else "deep.tif"
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / name).write_bytes(images.encode(pixels, format=fmt))
    summary = run_restore([tmp_path / "in"], tmp_path / "out", model, "--tile_size=16")
    assert summary["counts"] == {"error": 0, "restored": 1}
    decoded = images.decode((tmp_path / "out" / "restored" / name).read_bytes())
    assert decoded.pixels.dtype == np.uint16 and decoded.pixels.shape == (21, 26, 3) and decoded.format == fmt
    expected = np.clip(whole_image(model, pixels), 0, 1)
    assert np.abs(images.to_float(decoded.pixels) - expected).max() <= 1e-4, "16-bit steps, not 8-bit ones"
    row = rows_of(tmp_path / "out")[0]
    assert row["bit_depth"] == 16 and row["source_mode"] == "RGB;16"


def test_a_multi_page_tiff_goes_to_errors_with_its_reason(tmp_path, gray_model):
    frames = [Image.fromarray(photo(name, (16, 16))[..., 0]) for name in ("camera", "moon")]
    (tmp_path / "in").mkdir()
    frames[0].save(tmp_path / "in" / "pages.tif", save_all=True, append_images=frames[1:])
    write_image(tmp_path / "in" / "single.png", photo("coins", (16, 16)))
    summary = run_restore([tmp_path / "in"], tmp_path / "out", gray_model)
    errors = [json.loads(line) for f in (tmp_path / "out" / "errors").glob("*/*.jsonl") for line in f.read_text().splitlines()]
    assert [(e["image_id"], "multi-page TIFF (2 pages)" in e["reason"]) for e in errors] == [("pages.tif", True)]
    assert summary["counts"] == {"error": 1, "restored": 1}
