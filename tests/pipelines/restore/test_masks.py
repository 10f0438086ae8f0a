"""--masks: inpainting masks matched to inputs by relative path and file stem."""

import hashlib
import json
import zipfile

import numpy as np
import pytest
from PIL import Image

from pipelines import restore
from pipelines.imaging import images
from pipelines.restore import companions
from tests.helpers.images import photo, png_bytes, stroke_mask, write_image
from tests.helpers.restore import (
    UNET,
    assert_accounted_once,
    errors_by_id,
    make_model,
    random_tail,
    rows_of,
    run_restore,
)


@pytest.fixture(scope="module")
def inpaint_model(tmp_path_factory):
    return make_model(tmp_path_factory.mktemp("models") / "inpaint", "inpaint_unet", UNET, task="inpaint",
                      prepare=random_tail)


def whole_image(model_dir, pixels, mask):
    from model.export import load_model

    model, _ = load_model(model_dir)
    holes = mask.astype(bool)
    x = np.concatenate([np.where(holes, 0, images.to_float(pixels)), holes.astype(np.float32)], axis=-1)
    return images.from_float(np.clip(model(x[None]).numpy()[0], 0, 1), np.uint8)


@pytest.mark.slow
def test_masks_match_by_relative_path_and_stem_tile_seamlessly_and_rerun_on_change(tmp_path, inpaint_model):
    from model.export import read_card

    inputs, masks = tmp_path / "in", tmp_path / "masks"
    photo_b = photo("camera", (70, 83))
    (inputs / "a").mkdir(parents=True)
    Image.fromarray(photo_b[..., 0]).save(inputs / "a" / "b.jpg", quality=95)
    pixels_b = images.decode((inputs / "a" / "b.jpg").read_bytes()).pixels
    mask_b = stroke_mask((70, 83), [((5, 5), (75, 60)), ((10, 60), (60, 10))])
    write_image(masks / "a" / "b.png", mask_b)
    write_image(inputs / "c.png", photo("moon", (24, 24)))  # no mask
    write_image(inputs / "d.png", photo("coins", (24, 24)))
    write_image(masks / "d.png", stroke_mask((20, 24), [((0, 0), (20, 20))]))  # another size
    with zipfile.ZipFile(inputs / "box.zip", "w") as archive:
        archive.writestr("scans/e.png", png_bytes(photo("text", (30, 34))))
    write_image(masks / "box.zip" / "scans" / "e.png", stroke_mask((30, 34), [((2, 2), (30, 28))]))

    radius = read_card(inpaint_model)["receptive_field_radius"]
    argv = (f"--masks={masks}", f"--tile_size={2 * radius + 8}")
    first = run_restore([inputs], tmp_path / "out", inpaint_model, *argv)

    errors = errors_by_id(tmp_path / "out", first["run_id"])
    assert "no mask for it in" in errors["c.png"] and f"{masks / 'c'}.png or another image extension" in errors["c.png"]
    assert "is 24x20, the image is 24x24" in errors["d.png"]
    assert_accounted_once(tmp_path / "out", first, ["a/b.jpg", "box.zip/scans/e.png", "c.png", "d.png"])
    assert first["counters"]["tiles"] > 2, "the 70x83 image was tiled"
    restored = images.decode((tmp_path / "out" / "restored" / "a" / "b.jpg").read_bytes()).pixels
    expected = whole_image(inpaint_model, pixels_b, mask_b)
    # JPEG output: compare the decoded output with the expected pixels encoded the same way.
    expected = images.decode(images.encode(expected, format="JPEG")).pixels
    assert np.abs(restored.astype(int) - expected.astype(int)).max() <= 1
    assert (tmp_path / "out" / "restored" / "box.zip" / "scans" / "e.png").exists()
    by_id = {r["image_id"]: r for r in rows_of(tmp_path / "out", first["run_id"])}
    assert by_id["a/b.jpg"]["mask_sha256"] == hashlib.sha256((masks / "a" / "b.png").read_bytes()).hexdigest()

    write_image(masks / "a" / "b.png", stroke_mask((70, 83), [((5, 40), (80, 40))]))  # a changed mask
    second = run_restore([inputs], tmp_path / "out", inpaint_model, *argv)
    statuses = {r["image_id"]: r["status"] for r in rows_of(tmp_path / "out", second["run_id"])}
    assert statuses == {"a/b.jpg": "restored", "box.zip/scans/e.png": "skipped"}


@pytest.mark.slow
def test_known_pixels_pass_through_and_holes_are_filled(tmp_path, inpaint_model):
    pixels = photo("camera", (32, 40))
    mask = stroke_mask((32, 40), [((0, 16), (40, 16))], width=4)
    write_image(tmp_path / "in" / "x.png", pixels)
    write_image(tmp_path / "masks" / "x.png", mask)
    run_restore([tmp_path / "in"], tmp_path / "out", inpaint_model, f"--masks={tmp_path / 'masks'}")
    restored = images.decode((tmp_path / "out" / "restored" / "x.png").read_bytes()).pixels
    holes = mask.astype(bool)
    assert np.array_equal(restored[~holes], pixels[~holes])
    assert np.array_equal(restored, whole_image(inpaint_model, pixels, mask))
    assert np.any(restored[holes] != 0), "the model filled the holes"


def test_mask_flag_mistakes_are_one_line(tmp_path, inpaint_model, capsys):
    write_image(tmp_path / "in" / "x.png", photo("camera", (16, 16)))
    base = [f"--input={tmp_path / 'in'}", f"--output={tmp_path / 'out'}"]
    assert restore.main([*base, f"--model={inpaint_model}"]) == 2
    assert "needs masks: pass --masks DIR" in capsys.readouterr().err
    assert restore.main([*base, f"--model={make_model(tmp_path / 'gray')}", f"--masks={tmp_path / 'in'}"]) == 2
    assert "--masks is for inpainting models" in capsys.readouterr().err
    assert restore.main([*base, f"--model={inpaint_model}", f"--masks={tmp_path / 'nothing'}"]) == 2
    assert "--masks" in capsys.readouterr().err
    assert restore.main([*base, f"--model={inpaint_model}", "--degrade=inpaint", f"--masks={tmp_path / 'in'}"]) == 2
    assert "drop --masks" in capsys.readouterr().err


def rgba_mask(strokes: np.ndarray, *, in_alpha: bool) -> np.ndarray:
    """An RGBA mask: black paint whose strokes are only in alpha (a painted transparent layer),
    or white strokes on opaque black."""
    holes = strokes.astype(bool)
    rgba = np.zeros(strokes.shape[:2] + (4,), np.uint8)
    if in_alpha:
        rgba[..., 3] = np.where(holes[..., 0], 255, 0)
        rgba[..., :3] = 0
    else:
        rgba[..., :3] = np.where(holes, 255, 0)
        rgba[..., 3] = 255
    return rgba


@pytest.mark.parametrize("in_alpha", [True, False])
def test_a_mask_with_alpha_masks_where_it_is_painted_or_by_colour_when_opaque(in_alpha):
    strokes = stroke_mask((12, 14), [((0, 6), (14, 6))], width=2)
    data = png_bytes(rgba_mask(strokes, in_alpha=in_alpha))
    missing = companions.decode_mask("m.png", data, (12, 14, 1), max_pixels=10_000)
    assert np.array_equal(missing, (strokes != 0).astype(np.uint8))
    gray_alpha = np.concatenate([np.zeros_like(strokes), strokes], axis=-1)  # LA, strokes in alpha
    missing = companions.decode_mask("m.png", png_bytes(gray_alpha, mode="LA"), (12, 14, 1), max_pixels=10_000)
    assert np.array_equal(missing, (strokes != 0).astype(np.uint8))


def test_alpha_strokes_are_filled_and_a_mask_without_image_is_listed_unused(tmp_path, inpaint_model, capsys):
    pixels = photo("camera", (32, 40))
    strokes = stroke_mask((32, 40), [((0, 16), (40, 16))], width=4)
    write_image(tmp_path / "in" / "x.png", pixels)
    write_image(tmp_path / "masks" / "x.png", rgba_mask(strokes, in_alpha=True))
    write_image(tmp_path / "masks" / "gone" / "y.png", strokes)  # its image is not among the inputs
    out = tmp_path / "out"
    argv = [f"--input={tmp_path / 'in'}", f"--output={out}", f"--model={inpaint_model}",
            f"--masks={tmp_path / 'masks'}"]
    assert restore.main(argv) == 0
    restored = images.decode((out / "restored" / "x.png").read_bytes()).pixels
    assert np.array_equal(restored, whole_image(inpaint_model, pixels, strokes)), "alpha strokes are holes"
    assert not np.array_equal(restored, pixels)
    unused = str(tmp_path / "masks" / "gone" / "y.png")
    assert json.loads((out / "summary.json").read_text())["unused_masks"] == [unused]
    assert f"1 mask matched no input (e.g. {unused}; all in {out}/summary.json)" in capsys.readouterr().out
