"""RestoreImages in memory: TestPipeline, beam.Create of tiny real images, assert_that on its
rows and errors, then the files it wrote."""

from __future__ import annotations

import io

import apache_beam as beam
import numpy as np
import pytest
from apache_beam.testing.util import assert_that, equal_to
from PIL import Image

from pipelines.degrade import pairs, recipe as recipes
from pipelines.imaging import images
from pipelines.quality import scoring
from pipelines.restore import RestoreImages, prepare
from restoreflow.pixels import luma
from tests.helpers.beam import local_pipeline
from tests.helpers.images import photo, write_image
from tests.helpers.restore import (
    TINY_DNCNN,
    by_image_id,
    ids_and_stages,
    item,
    make_model,
    read_pixels,
    settings_for,
    whole_image,
)


def restore_in_memory(settings, items, *, rows=None, errors=(), reasons=None):
    """Runs RestoreImages on ``items``. ``rows({image_id: ScoreRow})`` checks its rows (inside
    the pipeline, once every row is written); ``errors`` are the (image_id, stage) pairs of its
    error records, ``reasons`` {image_id: text its reason contains}."""
    with local_pipeline() as p:
        restored, rejected = p | beam.Create(items) | RestoreImages(settings)
        if rows is not None:
            assert_that(restored, by_image_id(rows), label="Check rows")
        assert_that(rejected | beam.Map(ids_and_stages), equal_to(list(errors)), label="Check errors")
        expected = reasons or {}

        def check_reasons(by_id):
            assert all(e["reason"] for e in by_id.values()), "every error has a reason"
            for image_id, text in expected.items():
                assert text in by_id[image_id]["reason"], (text, by_id[image_id])

        assert_that(rejected, by_image_id(check_reasons), label="Check reasons")


def sixteen_bit(name, size, channels_noise=1, seed=0) -> np.ndarray:
    """A real photograph at 16 bits with noise below the 8-bit step (so 8-bit would show)."""
    rng = np.random.default_rng(seed)
    pixels = photo(name, size).astype(np.uint16) * 257
    return (pixels + rng.integers(0, 256, pixels.shape[:2] + (pixels.shape[-1],))).astype(np.uint16)


def _jpeg_with_exif_rotation(pixels) -> bytes:
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif.tobytes(), quality=95)
    return buffer.getvalue()


def _encoded(pixels: np.ndarray, fmt: str, **save) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels).save(buffer, format=fmt, **save)
    return buffer.getvalue()


@pytest.mark.slow
def test_a_gray_model_keeps_modes_sizes_and_formats_and_tiles_without_seams(tmp_path, gray_model):
    rgb = photo("astronaut", (24, 30))
    alpha = np.linspace(0, 255, 24 * 30).astype(np.uint8).reshape(24, 30, 1)
    odd = sixteen_bit("camera", (37, 53))
    small = sixteen_bit("moon", (11, 13))
    gray = photo("camera", (24, 24))
    pages = io.BytesIO()
    frames = [Image.fromarray(photo(name, (16, 16))[..., 0]) for name in ("camera", "moon")]
    frames[0].save(pages, format="TIFF", save_all=True, append_images=frames[1:])
    palette = io.BytesIO()
    Image.fromarray(rgb).quantize(16).save(palette, format="PNG")
    items = [
        item("gray.png", photo("camera", (20, 28))), item("rgb.png", rgb),
        item("rgba.png", np.concatenate([rgb, alpha], -1)), item("la.png", np.concatenate([photo("camera", (24, 30)), alpha], -1)),
        item("palette.png", data=palette.getvalue()),
        item("rotated.jpg", data=_jpeg_with_exif_rotation(photo("camera", (20, 36))[..., 0])),
        item("photo.jpg", data=_encoded(rgb, "JPEG", quality=90)),
        item("odd.png", data=_encoded(odd, "PNG")), item("small.png", data=_encoded(small, "PNG")),
        item("gray_as_rgb.png", np.repeat(gray, 3, axis=-1)), item("gray24.png", gray),
        # Rejected, each with its reason:
        item("empty.png", data=b""), item("corrupt.png", data=b"\x89PNG\r\n\x1a\n" + b"\x00" * 40),
        item("dot.png", photo("camera", (3, 9))), item("pages.tif", data=pages.getvalue()),
    ]
    settings = settings_for(tmp_path / "out", gray_model, "--tile_size=16")

    def check(rows):
        assert all(r.status == "restored" for r in rows.values())
        # Tiles of 16 with 3 px overlap: rows start at 0, 10, 20, 21 and columns at 0, 10, 20,
        # 30, 37; the small image is one tile of its own size.
        assert (rows["odd.png"].tiles, rows["small.png"].tiles) == (20, 1)
        assert rows["rgba.png"].has_alpha and rows["odd.png"].bit_depth == 16
        assert rows["palette.png"].source_mode == "P" and rows["photo.jpg"].format_out == "JPEG"

    restore_in_memory(settings, items, rows=check, errors=[
        ("empty.png", "decode"), ("corrupt.png", "decode"), ("dot.png", "decode"), ("pages.tif", "decode")],
        reasons={"dot.png": "too small to restore", "pages.tif": "multi-page TIFF (2 pages)"})

    out = tmp_path / "out" / "restored"
    decoded = {p.name: images.decode(p.read_bytes()) for p in out.iterdir()}
    assert decoded["gray.png"].pixels.shape == (20, 28, 1)
    assert decoded["rgb.png"].pixels.shape == (24, 30, 3) and decoded["rgb.png"].alpha is None
    assert np.array_equal(decoded["rgba.png"].alpha, alpha), "alpha passes through untouched"
    assert np.array_equal(decoded["la.png"].alpha, alpha) and decoded["la.png"].pixels.shape[-1] == 1
    assert decoded["palette.png"].pixels.shape == (24, 30, 3)
    assert decoded["rotated.jpg"].pixels.shape == (36, 20, 1) and decoded["rotated.jpg"].format == "JPEG"
    assert decoded["photo.jpg"].format == "JPEG" and decoded["photo.jpg"].pixels.shape == (24, 30, 3)
    for name, pixels in (("odd.png", odd), ("small.png", small)):  # 16-bit PNG: steps of 1.5e-5
        assert decoded[name].pixels.dtype == np.uint16
        expected = np.clip(whole_image(gray_model, images.to_float(pixels)), 0, 1)
        assert np.abs(images.to_float(decoded[name].pixels) - expected).max() <= 1e-4
    # A colour file holding a gray picture restores like the gray picture (full-range Y).
    as_rgb, as_gray = decoded["gray_as_rgb.png"].pixels.astype(int), decoded["gray24.png"].pixels.astype(int)
    assert np.abs(as_rgb - as_gray).max() <= 1


@pytest.mark.slow
def test_a_colour_model_gives_gray_for_gray_and_keeps_16bit_colour(tmp_path):
    model = make_model(tmp_path / "rgb_model", args={**TINY_DNCNN, "channels": 3})
    deep = sixteen_bit("astronaut", (21, 26))
    items = [item("g.png", photo("camera", (16, 20))), item("deep.png", data=images.encode(deep, format="PNG")),
             item("deep.tif", data=images.encode(deep, format="TIFF"))]

    def check(rows):
        assert rows["deep.png"].bit_depth == rows["deep.tif"].bit_depth == 16
        assert rows["deep.tif"].source_mode == "RGB;16" and rows["g.png"].channels == 1

    restore_in_memory(settings_for(tmp_path / "out", model, "--tile_size=16"), items, rows=check)
    out = tmp_path / "out" / "restored"
    assert read_pixels(out / "g.png").shape == (16, 20, 1)
    # Widened to colour tile by tile and narrowed back to luma as each tile arrives: as the whole image would be.
    gray_in_colour = np.repeat(images.to_float(photo("camera", (16, 20))), 3, axis=-1)
    as_whole = images.from_float(luma(whole_image(model, gray_in_colour))[..., None], np.uint8)
    assert np.abs(read_pixels(out / "g.png").astype(int) - as_whole.astype(int)).max() <= 1
    expected = np.clip(whole_image(model, images.to_float(deep)), 0, 1)
    for name, fmt in (("deep.png", "PNG"), ("deep.tif", "TIFF")):
        decoded = images.decode((out / name).read_bytes())
        assert decoded.pixels.dtype == np.uint16 and decoded.pixels.shape == (21, 26, 3) and decoded.format == fmt
        assert np.abs(images.to_float(decoded.pixels) - expected).max() <= 1e-4, "16-bit steps, not 8-bit ones"


@pytest.mark.slow
def test_super_resolution_output_and_alpha_are_scaled(tmp_path):
    model = make_model(tmp_path / "sr", "sr_subpixel", {"channels": 1, "scale": 2, "depth": 2, "width": 8}, task="sr")
    rgba = np.concatenate([photo("astronaut", (13, 17)), np.full((13, 17, 1), 200, np.uint8)], -1)

    def check(rows):
        assert (rows["a.png"].width_out, rows["a.png"].height_out) == (34, 26)

    restore_in_memory(settings_for(tmp_path / "out", model, "--tile_size=8"), [item("a.png", rgba)], rows=check)
    decoded = images.decode((tmp_path / "out" / "restored" / "a.png").read_bytes())
    assert decoded.pixels.shape == (26, 34, 3) and decoded.alpha.shape == (26, 34, 1)


@pytest.mark.slow
def test_paired_mode_scores_equal_a_direct_computation(tmp_path, gray_model):
    clean = photo("coins", (40, 48))
    items = [item("c.png", clean), item("tiny.png", photo("camera", (6, 9))), item("dot.png", photo("camera", (3, 9)))]
    restored_path = tmp_path / "out" / "restored" / "c.png"
    # The same degradation job 1 makes for a whole image (patch_size 0, patch index 0).
    pair = next(pairs.make_pairs(clean, recipe=recipes.load("denoise-gray-s25"), settings=pairs.PatchSettings(patch_size=0),
                                 seed=3, image_id="c.png"))

    def check(rows):
        from skimage.metrics import peak_signal_noise_ratio, structural_similarity

        row, tiny = rows["c.png"], rows["tiny.png"]
        assert tiny.psnr_db_restored is None and tiny.ssim_restored is None, "too small to score"
        restored = read_pixels(restored_path)
        degraded = images.from_float(pair.degraded.astype(np.float32), np.uint8)
        assert row.reference == "paired"
        assert row.psnr_db_restored == pytest.approx(scoring.psnr_db(clean, restored), abs=1e-9)
        assert row.psnr_db_degraded == pytest.approx(scoring.psnr_db(clean, degraded), abs=1e-9)
        assert row.ssim_restored == pytest.approx(scoring.ssim(clean, restored), abs=1e-9)
        # ... and they follow scikit-image's implementations.
        assert row.psnr_db_restored == pytest.approx(peak_signal_noise_ratio(clean, restored, data_range=255), abs=1e-3)
        assert row.ssim_restored == pytest.approx(
            structural_similarity(clean[..., 0], restored[..., 0], gaussian_weights=True, sigma=1.5,
                                  use_sample_covariance=False, data_range=255), abs=1e-3)

    settings = settings_for(tmp_path / "out", gray_model, "--degrade=denoise-gray-s25", "--seed=3")
    restore_in_memory(settings, items, rows=check, errors=[("dot.png", "decode")])
    # The model saw job 1's degraded image itself: unclipped float noise (the DnCNN protocol).
    expected = images.from_float(whole_image(gray_model, pair.degraded.astype(np.float32)), np.uint8)
    assert np.abs(read_pixels(restored_path).astype(int) - expected.astype(int)).max() <= 1


@pytest.mark.slow
def test_reupscaled_super_resolution_is_scored_with_the_sr_conventions(tmp_path, gray_model):
    # DnCNN-3's protocol: the bicubic-upscaled image goes in; scores crop `factor` border pixels.
    clean = photo("astronaut", (64, 64))  # not a multiple of 3: modcropped to 63x63
    recipe = tmp_path / "sr3.yaml"
    recipe.write_text("name: sr3-up\ntask: sr\ncolor: keep\nsteps:\n  - op: downscale\n    scale: 3\n    reupscale: true\n")
    restored_path = tmp_path / "out" / "restored" / "a.png"

    def check(rows):
        restored = read_pixels(restored_path)
        assert restored.shape == (63, 63, 3) and rows["a.png"].task == "sr"
        expected = scoring.psnr_db(clean[:63, :63], restored, crop_border=3, y_channel=True)
        assert rows["a.png"].psnr_db_restored == pytest.approx(expected, abs=1e-9)

    restore_in_memory(settings_for(tmp_path / "out", gray_model, f"--degrade={recipe}"), [item("a.png", clean)],
                      rows=check)


@pytest.mark.slow
def test_references_match_by_relative_path_and_stem(tmp_path, gray_model):
    clean = photo("camera", (32, 32))
    noisy = np.clip(clean.astype(int) + np.random.default_rng(0).integers(-20, 20, clean.shape), 0, 255).astype(np.uint8)
    x_jpg = _encoded(noisy, "JPEG", quality=95)
    write_image(tmp_path / "ref" / "sub" / "x.png", clean)  # a.jpg <-> a.png
    write_image(tmp_path / "ref" / "z.png", photo("camera", (30, 32)))  # another size
    decoded = images.decode(x_jpg).pixels
    restored_y = tmp_path / "out" / "restored" / "y.png"

    def check(rows):
        x, y, z = rows["sub/x.jpg"], rows["y.png"], rows["z.png"]
        assert x.psnr_db_degraded == pytest.approx(scoring.psnr_db(clean, decoded))
        assert x.reference == str(tmp_path / "ref" / "sub" / "x.png")
        assert y.psnr_db_degraded is None and y.note is None
        assert z.psnr_db_degraded is None and z.noise_sigma_degraded is not None
        assert "is 32x30, the restored image is 32x32: not scored against it" in z.note
        # The report's crops: degraded | restored, then the reference where there is one (4 px gaps).
        with_reference, without = read_pixels(x.crop_path), read_pixels(y.crop_path)
        assert with_reference.shape == (32, 3 * 32 + 8, 1) and without.shape == (32, 2 * 32 + 4, 1)
        assert np.array_equal(with_reference[:, :32], decoded) and np.array_equal(with_reference[:, 72:], clean)
        assert np.array_equal(without[:, 36:68], read_pixels(restored_y))

    settings = settings_for(tmp_path / "out", gray_model, f"--reference={tmp_path / 'ref'}")
    restore_in_memory(settings, [item("sub/x.jpg", data=x_jpg), item("y.png", noisy), item("z.png", noisy)], rows=check)


def test_an_unforeseen_failure_or_an_unwritable_output_rejects_only_that_image(tmp_path, gray_model, monkeypatch):
    real_prepare = prepare.prepare

    def buggy(item, *args):  # fault injection: a bug nobody foresaw, on one image
        if item.image_id == "bad-prepare.png":
            raise RuntimeError("injected bug")
        return real_prepare(item, *args)

    monkeypatch.setattr(prepare, "prepare", buggy)
    (tmp_path / "out" / "restored").mkdir(parents=True)
    (tmp_path / "out" / "restored" / "blocked").write_text("a file where a folder is needed")
    items = [item(name, photo("camera", (16, 16))) for name in ("fine.png", "bad-prepare.png", "blocked/x.png")]
    restore_in_memory(settings_for(tmp_path / "out", gray_model), items,
                      rows=lambda rows: assert_equal(sorted(rows), ["fine.png"]),
                      errors=[("bad-prepare.png", "decode"), ("blocked/x.png", "write")],
                      reasons={"bad-prepare.png": "unexpected RuntimeError: injected bug", "blocked/x.png": "blocked"})
    assert sorted(p.name for p in (tmp_path / "out" / "restored").iterdir()) == ["blocked", "fine.png"]


def assert_equal(a, b):
    assert a == b, (a, b)
