"""The restore job's model handler, through its own interface: run_inference(batch, load_model())
with a tiny real model."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from pipelines.imaging import images
from pipelines.restore.inference import (
    InferenceFailure,
    TileModelHandler,
    keep_checked,
    load_checked_or_from,
    load_from,
)
from tests.helpers.images import photo
from tests.helpers.restore import make_model, whole_image


def tiles() -> list[np.ndarray]:
    """Tiles as the tiler makes them: two of one shape, a smaller edge tile; [0, 1] floats."""
    return [images.to_float(photo(name, size)) for name, size in
            (("camera", (24, 32)), ("moon", (24, 32)), ("coins", (13, 17)))]


@pytest.mark.parametrize("engine", ["tf", "openvino"])
def test_a_batch_of_mixed_shapes_gives_each_tile_its_restored_tile(gray_model, engine):
    handler = TileModelHandler(gray_model, batch_size=3, engine=engine)
    batch = tiles()
    results = handler.run_inference(batch, handler.load_model())
    assert [r.example is tile for r, tile in zip(results, batch)] == [True] * 3
    for result, tile in zip(results, batch):
        assert result.inference.shape == tile.shape
        assert np.abs(result.inference - whole_image(gray_model, tile)).max() <= 1e-4
    assert handler.get_num_bytes(batch) == sum(t.nbytes for t in batch)
    assert handler.batch_elements_kwargs() == {"min_batch_size": 3, "max_batch_size": 3}


def test_a_failing_forward_pass_fails_only_the_tiles_of_its_shape(gray_model):
    handler = TileModelHandler(gray_model, batch_size=3, engine="tf")
    forward = handler.load_model()

    def out_of_memory_on_small_tiles(batch):  # fault injection: the forward pass of one group fails
        if batch.shape[1] < 20:
            raise MemoryError("injected: out of memory")
        return forward(batch)

    results = handler.run_inference(tiles(), out_of_memory_on_small_tiles)
    assert [isinstance(r.inference, InferenceFailure) for r in results] == [False, False, True]
    assert results[2].inference.reason == "MemoryError: injected: out of memory"


def test_the_model_kept_by_the_check_is_taken_once_and_only_while_its_files_are_unchanged(gray_model, tmp_path):
    """The launcher's check hands its loaded model to the first in-process worker (one Keras
    build per run); a later load, or one after model.keras changed, reads the file again."""
    folder = tmp_path / "model"
    shutil.copytree(gray_model, folder)
    checked = load_from(str(folder))
    keep_checked(str(folder), checked)
    assert load_checked_or_from(str(folder)) is checked
    again = load_checked_or_from(str(folder))
    assert again is not checked and _same_weights(again[0], checked[0]), "taken once, then loaded anew"

    keep_checked(str(folder), checked)
    other = make_model(tmp_path / "other", seed=7)  # the same architecture, other weights
    shutil.copy(Path(other) / "model.keras", folder / "model.keras")
    changed = load_checked_or_from(str(folder))
    assert changed is not checked and _same_weights(changed[0], load_from(other)[0])
    assert not _same_weights(changed[0], checked[0])


def _same_weights(a, b) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights(), strict=True))


def test_a_batch_takes_the_tiles_that_fit_its_pixels():
    """One large tile per batch, several small ones (up to the batch size), in Beam's BatchElements."""
    import apache_beam as beam
    from apache_beam.testing.util import assert_that, equal_to

    from pipelines.restore.inference import batch_limits, tile_pixels
    from tests.helpers.beam import local_pipeline

    tiles = [np.zeros((880, 880, 3), np.float32)] * 3 + [np.zeros((321, 481, 3), np.float32)] * 6
    with local_pipeline() as p:
        batches = (p | beam.Create(tiles, reshuffle=False)
                   | beam.BatchElements(**batch_limits(4, 1 << 20, tile_pixels)) | beam.Map(len))
        assert_that(batches, equal_to([1, 1, 1, 4, 2]))
