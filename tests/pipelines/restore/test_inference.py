"""The restore job's model handler, through its own interface: run_inference(batch, load_model())
with a tiny real model."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.imaging import images
from pipelines.restore.inference import InferenceFailure, TileModelHandler
from tests.helpers.images import photo
from tests.helpers.restore import whole_image


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
