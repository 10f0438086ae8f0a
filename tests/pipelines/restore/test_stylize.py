"""``restoreflow stylize``: the restore job with a style model (model.json task: style), on tiny
real images: sizes and modes kept, tiles without seams, --strength 0 bit-exact, --keep_colors,
and each job refusing the other's models in one line."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from pipelines.restore import stylize
from pipelines.restore.job import run
from restoreflow import cli, pixels, zoo
from tests.helpers.images import photo, write_image
from tests.helpers.restore import make_model, read_pixels, rows_of, sha256

TINY_STYLE = {"channels": 3, "width": 4, "blocks": 1}


@pytest.fixture(scope="module")
def style_model(tmp_path_factory) -> str:
    """A tiny seeded style network (random weights: what matters here is the job, not the look)."""
    return make_model(tmp_path_factory.mktemp("models") / "style", name="style_net", args=TINY_STYLE, task="style")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("in")
    write_image(folder / "colour.png", photo("chelsea", (45, 61)))
    write_image(folder / "nested" / "gray.png", photo("camera", (38, 30))[..., :1])
    return folder


def stylized(inputs, output, model, *flags) -> dict:
    return run([f"--input={inputs}", f"--output={output}", f"--model={model}", *flags], job="stylize")


@pytest.mark.slow
def test_stylize_writes_every_image_in_its_size_and_mode_and_tiles_leave_no_seams(inputs, style_model, tmp_path):
    whole = stylized(inputs, tmp_path / "whole", style_model)
    assert whole["counts"]["restored"] == 2 and not whole["counts"]["error"]
    for name, mode in (("colour.png", "RGB"), ("nested/gray.png", "L")):
        written, given = Image.open(tmp_path / "whole" / "restored" / name), Image.open(inputs / name)
        assert (written.size, written.mode) == (given.size, mode), name
        assert not np.array_equal(np.asarray(written), np.asarray(given)), name
    # Tiles of 60 px, overlapping by the model's receptive-field radius (25): several per image,
    # and the same pixels as one tile each (up to the engine's float rounding, 1 level in 255).
    tiled = stylized(inputs, tmp_path / "tiny-tiles", style_model, "--tile_size=60")
    assert tiled["counters"]["tiles"] > whole["counters"]["tiles"] == 2
    for name in ("colour.png", "nested/gray.png"):
        tiled = read_pixels(tmp_path / "tiny-tiles" / "restored" / name).astype(int)
        assert np.abs(tiled - read_pixels(tmp_path / "whole" / "restored" / name)).max() <= 1, name


def test_strength_zero_writes_every_input_bit_exact(inputs, style_model, tmp_path):
    summary = stylized(inputs, tmp_path / "out", style_model, "--strength=0")
    assert summary["counts"]["restored"] == 2 and not summary["counts"]["error"]
    for name in ("colour.png", "nested/gray.png"):
        assert sha256(tmp_path / "out" / "restored" / name) == sha256(inputs / name)


def test_keep_colors_keeps_the_inputs_chroma_and_takes_the_styles_luminance(inputs, style_model, tmp_path):
    stylized(inputs, tmp_path / "full", style_model, "--batch_size=1")
    summary = stylized(inputs, tmp_path / "kept", style_model, "--keep_colors")
    given = read_pixels(inputs / "colour.png").astype(np.float32) / 255
    full = read_pixels(tmp_path / "full" / "restored" / "colour.png").astype(np.float32) / 255
    kept = read_pixels(tmp_path / "kept" / "restored" / "colour.png").astype(np.float32) / 255
    chroma = [pixels.rgb_to_ycbcr(image)[..., 1:] for image in (given, full, kept)]
    # Cb and Cr stay the input's up to 8-bit rounding (and clipping where the luma is extreme).
    assert np.median(np.abs(chroma[2] - chroma[0])) < 2 / 255 < np.median(np.abs(chroma[1] - chroma[0]))
    assert np.abs(pixels.luma(kept) - pixels.luma(full)).mean() < 2 / 255
    assert {row["settings_key"] for row in rows_of(tmp_path / "kept", summary["run_id"])}.isdisjoint(
        {row["settings_key"] for row in rows_of(tmp_path / "full")}), "--keep_colors is part of what makes it done"


def test_each_job_refuses_the_others_models_in_one_line(inputs, style_model, tmp_path, capsys, gray_model):
    restore_args = [f"--input={inputs}", f"--output={tmp_path / 'a'}", f"--model={style_model}"]
    assert cli.main(["restore", *restore_args]) == 2
    err = capsys.readouterr().err
    assert err == (f"restoreflow restore: error: --model {style_model} is a style model, not a restorer: apply it "
                   "with `restoreflow stylize`\n")
    assert stylize.main([f"--input={inputs}", f"--output={tmp_path / 'b'}", f"--model={gray_model}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"restoreflow stylize: error: --model {gray_model} is a denoise model, not a style")
    assert err.count("\n") == 1
    assert not (tmp_path / "a" / "restored").exists() and not (tmp_path / "b" / "restored").exists()


@pytest.fixture(scope="module")
def gray_style(tmp_path_factory) -> str:
    return make_model(tmp_path_factory.mktemp("models") / "gray-style", name="style_net",
                      args={**TINY_STYLE, "channels": 1}, task="style")


@pytest.mark.parametrize("flags, message", [
    ((), "--model is required"),
    (("--model=auto",), "--model auto chooses among restorers; `restoreflow stylize` takes a style: a bundled one "
                        "(style-hubble, style-ihc"),
    (("--model={gray_style}", "--keep_colors"), "--keep_colors needs a colour style model"),
    (("--model={style}", "--strength=2"), "--strength 2.0: must lie within 0..1"),
    (("--model={style}", "--reference={inputs}"), "--reference scores or guides a restoration"),
    (("--model={style}", "--keep_colors=maybe"), "--keep_colors"),
])
def test_stylize_mistakes_are_one_line_and_exit_2(inputs, style_model, gray_style, tmp_path, capsys, flags, message):
    argv = [f"--input={inputs}", f"--output={tmp_path / 'out'}",
            *(f.format(style=style_model, gray_style=gray_style, inputs=inputs) for f in flags)]
    assert stylize.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("restoreflow stylize: error: ") and message in err and err.count("\n") == 1, err


def test_keep_colors_is_a_stylize_flag_only(inputs, gray_model, tmp_path, capsys):
    assert cli.main(["restore", f"--input={inputs}", f"--output={tmp_path}", f"--model={gray_model}",
                     "--keep_colors"]) == 2
    assert "unknown flag --keep_colors" in capsys.readouterr().err


def test_stylize_answers_help_with_restores_flags_and_its_own(capsys):
    assert cli.main(["stylize", "--help"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: restoreflow stylize") and "--keep_colors" in text and "--strength" in text
    assert " --model MODEL " in text.split("\n\n")[0], "shown as required in the usage"
    assert "--reference" not in text and "--degrade" not in text, "restore's flags that a style refuses"


@pytest.mark.slow
@pytest.mark.parametrize("name", zoo.styles())
def test_a_bundled_style_is_found_by_name_and_restyles_a_photo_without_flattening_it(inputs, tmp_path, name):
    summary = stylized(inputs, tmp_path / "out", name)
    assert summary["counts"]["restored"] == 2 and not summary["counts"]["error"]
    given = read_pixels(inputs / "colour.png").astype(int)
    styled = read_pixels(tmp_path / "out" / "restored" / "colour.png").astype(int)
    assert np.abs(styled - given).mean() > 8, "the style changes the photo"
    assert styled.std(axis=(0, 1)).min() > 8, "not a flat colour (the collapse of the first style trained)"


def test_at_least_two_styles_are_bundled_and_each_card_says_where_its_image_comes_from():
    assert len(zoo.styles()) >= 2
    for name in zoo.styles():
        card = zoo.read_card(name)
        assert card.purpose and card.headline and "licen" in card.provenance["style"]["source"].lower()
