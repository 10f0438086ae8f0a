"""Tiles: cut from the prepared image, restored, stitched back without seams; the stitcher
reports an image whose tiles failed or never all arrived, once."""

from __future__ import annotations

import dataclasses

import apache_beam as beam
import numpy as np
import pytest
from apache_beam.ml.inference.base import PredictionResult
from apache_beam.testing.util import assert_that, equal_to

from pipelines.imaging import channels, images
from pipelines.restore.inference import InferenceFailure
from pipelines.restore.tiles import Canvas, StitchTiles, cut
from pipelines.restore.values import Chosen, ImageMeta, Prepared, Recorded
from tests.helpers.beam import local_pipeline
from tests.helpers.images import photo
from tests.helpers.restore import UNET, ids_and_stages, make_model, random_tail


def prepared(image_id: str, model_input: np.ndarray, out_dtype=np.float32) -> Prepared:
    height, width = model_input.shape[:2]
    meta = ImageMeta(
        image_id=image_id, source=f"/in/{image_id}", recorded=Recorded("sha", None), started=0.0,
        size_in=(height, width), format_in="PNG", source_mode="L",
        channel_plan=channels.ChannelPlan(None, "same"), out_dtype=np.dtype(out_dtype), out_format="PNG", alpha=None,
        icc_profile=None, reference=None, reference_kind=None, before={}, crop_box=(0, 0, 1, 1),
        crop_before=np.zeros((1, 1, 1), np.uint8), chosen=Chosen("m", "m-id", "key"),
    )
    return Prepared(meta, model_input)


def stitch(model, image: np.ndarray, *, scale: int = 1, channels: int | None = None, shapes: set | None = None,
           **sizes) -> np.ndarray:
    """cut -> the model per tile -> Canvas, as the job does (``shapes`` collects the tiles' shapes)."""
    canvas = None
    for key, tile in cut(prepared("x.png", image), **sizes):
        if key.meta is not None:
            canvas = Canvas.start(key, scale=scale, channels=channels or image.shape[-1])
        if shapes is not None:
            shapes.add(tile.shape)
        canvas.add(key.tile, np.asarray(model(np.ascontiguousarray(tile)[None]))[0])
    return canvas.pixels


def test_tiles_cover_every_pixel_once_and_match_whole_image_inference(gray_model):
    from model.export import load_model

    model, _ = load_model(gray_model)
    image = images.to_float(photo("coins", (45, 61)))
    keys = [key for key, _ in cut(prepared("x.png", image), tile_size=20, overlap=3, multiple=1)]
    assert [k.meta is not None for k in keys] == [True] + [False] * (len(keys) - 1), "metadata on the first tile only"
    assert {k.count for k in keys} == {len(keys)} and {k.source for k in keys} == {"/in/x.png"}
    covered = np.zeros(image.shape[:2], int)
    for key in keys:
        t = key.tile
        covered[t.rows.core_start : t.rows.core_end, t.cols.core_start : t.cols.core_end] += 1
    assert (covered == 1).all(), "cores partition the image"
    assert_float32_equal(stitch(model, image, tile_size=20, overlap=3, multiple=1), model(image[None]).numpy()[0])


def assert_float32_equal(tiled, whole):
    """Equal up to float32 rounding, which scales with the outputs (a random tail makes them
    reach ±7, and AVX2 and AVX-512 kernels round differently); a seam would be off by far more."""
    assert np.abs(tiled - whole).max() <= 1e-5 * max(1.0, np.abs(whole).max())


@pytest.mark.parametrize("length, multiple", [(37, 1), (53, 4), (100, 4), (16, 4), (61, 8)])
def test_tile_spans_partition_the_axis_with_aligned_starts(length, multiple):
    from model import tiling

    unpadded = tiling.axis_spans(length, tile_size=20, overlap=3, multiple=multiple, pad=False)
    assert unpadded[-1].start + unpadded[-1].length == length
    spans = tiling.axis_spans(length, tile_size=20, overlap=3, multiple=multiple)
    assert spans[0].core_start == 0 and spans[-1].core_end == length
    for span, following in zip(spans, spans[1:]):
        assert span.core_end == following.core_start
        assert span.start % multiple == 0 and following.start % multiple == 0
        assert following.start + 3 <= following.core_start and span.core_end <= span.start + span.length - 3
    # one tile length per axis (the engine never re-plans); the last reaches the end, at most
    # multiple - 1 pixels past it (padded as the model pads a whole image)
    assert len({span.length for span in spans}) == 1
    assert length <= spans[-1].start + spans[-1].length < length + multiple


BUNDLED_RESTORERS = ["restore", "denoise-gray", "denoise-color", "denoise-color-level", "jpeg", "deblur", "inpaint",
                     "sr-x2", "sr-x4"]


@pytest.mark.parametrize("name", [pytest.param(n, marks=[] if n == "restore" else pytest.mark.slow)
                                  for n in BUNDLED_RESTORERS])
def test_tiles_of_one_shape_stitch_to_whole_image_inference_for_every_bundled_model(name):
    """Edges of every remainder modulo the size multiple (201 = 4k+1, 142 = 4k+2, 203 = 4k+3)."""
    from model.export import load_model
    from restoreflow import zoo

    model, card = load_model(zoo.resolve(name))
    radius, multiple, scale = card["receptive_field_radius"], card["size_multiple"], card["scale"]
    for size in ((201, 142), (203, 140)):
        image = images.to_float(photo("astronaut", size))
        image = image.mean(axis=-1, keepdims=True) if card["channels"] == 1 else image
        if card["takes_mask"]:
            mask = np.zeros(size + (1,), np.float32)
            mask[60:90, 30:100] = 1
            image = np.concatenate([np.where(mask > 0, 0, image), mask], axis=-1)
        if card.get("takes_noise_level"):
            image = np.concatenate([image, np.full(size + (1,), 25 / 255, np.float32)], axis=-1)
        shapes = set()
        tiled = stitch(model, image, scale=scale, channels=card["channels"], shapes=shapes,
                       tile_size=2 * radius + 10, overlap=radius, multiple=multiple, pad=scale == 1)
        # x1 models: one shape; SR models' edge tiles end at the image's end (see axis_spans)
        assert len(shapes) == 1 if scale == 1 else len(shapes) <= 4, f"tiles of several shapes: {shapes}"
        assert_float32_equal(tiled, np.asarray(model(image[None]))[0])


@pytest.mark.slow
def test_tiled_unet_equals_whole_image_inference(tmp_path):
    from model.export import load_model

    model, card = load_model(make_model(tmp_path / "unet", "unet", UNET, prepare=random_tail))
    image = images.to_float(photo("camera", (70, 83)))
    radius, multiple = card["receptive_field_radius"], card["size_multiple"]
    tiled = stitch(model, image, tile_size=2 * radius + 8, overlap=radius, multiple=multiple)
    assert_float32_equal(tiled, model(image[None]).numpy()[0])


def test_cores_are_quantized_as_they_arrive_when_no_colour_conversion_follows():
    image = photo("camera", (20, 24))
    pieces = list(cut(prepared("x.png", image, out_dtype=np.uint8), tile_size=16, overlap=3, multiple=1))
    canvas = Canvas.start(pieces[0][0], scale=1, channels=1)
    assert canvas.pixels.dtype == np.uint8
    done = [canvas.add(key.tile, tile) for key, tile in pieces]  # the identity "model"
    assert done == [False] * (len(pieces) - 1) + [True]
    assert np.array_equal(canvas.pixels, image)


def _results(image_id: str, image: np.ndarray, fail: set[int] = frozenset(), drop: set[int] = frozenset()):
    """(TileKey, PredictionResult) per tile, as RunInference gives them: the identity model,
    an InferenceFailure for the tiles in ``fail``; the tiles in ``drop`` never arrive."""
    out = []
    for key, tile in cut(prepared(image_id, image), tile_size=16, overlap=3, multiple=1):
        if key.tile.index in drop:
            continue
        result = InferenceFailure("injected inference failure") if key.tile.index in fail else tile
        out.append((key, PredictionResult(tile, result)))
    return out


def test_the_stitcher_reports_each_failed_or_incomplete_image_once():
    image = images.to_float(photo("camera", (25, 27)))
    last = len(_results("x.png", image)) - 1
    elements = (_results("fine.png", image) + _results("first.png", image, fail={0})
                + _results("last.png", image, fail={last}) + _results("both.png", image, fail={0, last})
                + _results("lost.png", image, drop={1}))
    with local_pipeline() as p:
        out = p | beam.Create(elements, reshuffle=False) | beam.ParDo(StitchTiles(scale=1, channels=1)).with_outputs(
            "errors", main="images")
        assert_that(out.images | beam.Map(lambda s: (s.image_id, s.tiles, bool(np.allclose(s.canvas, image)))),
                    equal_to([("fine.png", last + 1, True)]), label="Stitched")
        assert_that(out.errors | beam.Map(ids_and_stages), equal_to([
            ("first.png", "inference"), ("last.png", "inference"), ("both.png", "inference"), ("lost.png", "stitch"),
        ]), label="Errors")
        assert_that(out.errors | beam.Map(lambda e: e["reason"])
                    | beam.Filter(lambda r: "injected" not in r and "not all tiles" not in r), equal_to([]),
                    label="Reasons")


def test_prepared_values_are_frozen():
    value = prepared("x.png", np.zeros((4, 4, 1), np.float32))
    with pytest.raises(dataclasses.FrozenInstanceError):
        value.meta.before = {"psnr_db_degraded": 1.0}
