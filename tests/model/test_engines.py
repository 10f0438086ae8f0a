"""The inference engines, through the restore job's real model handler."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from pipelines.restore.inference import TileModelHandler
from restoreflow import zoo
from restoreflow.diagnosis import OUTPUTS
from tests.helpers.images import photo

# Tiles as the tiler makes them: two of one shape, one smaller edge tile; [0, 1] floats.
TILE_SHAPES = ((2, (48, 64)), (1, (37, 53)))
PHOTOS = ("camera", "astronaut", "coffee", "moon")


def tiles_for(card: dict) -> list[np.ndarray]:
    """Real photographs in the model's input channels (plus a mask channel for inpainting, or a
    noise level for a denoiser told it)."""
    tiles = []
    names = iter(PHOTOS)
    for count, size in TILE_SHAPES:
        for _ in range(count):
            pixels = photo(next(names), size).astype(np.float32) / 255
            if pixels.shape[-1] != card["channels"]:
                pixels = pixels.mean(axis=-1, keepdims=True) if card["channels"] == 1 else np.repeat(pixels, 3, -1)
            if card["takes_mask"]:
                mask = (np.arange(size[0] * size[1]).reshape(*size, 1) % 7 == 0).astype(np.float32)
                pixels = np.concatenate([pixels * (1 - mask), mask], axis=-1)
            if card.get("takes_noise_level"):
                pixels = np.concatenate([pixels, np.full((*size, 1), 25 / 255, np.float32)], axis=-1)
            tiles.append(pixels)
    return tiles


def restored(model: str, engine: str, tiles: list[np.ndarray]) -> list[np.ndarray]:
    handler = TileModelHandler(model, batch_size=len(tiles), engine=engine)
    return [result.inference for result in handler.run_inference(tiles, handler.load_model())]


@pytest.mark.slow
# A generator is the exception: its sampler calls the two-input network on TensorFlow itself
# (pipelines.restore.inference._filler, pipelines.generate), so no engine runs it.
@pytest.mark.parametrize("name", [name for name in zoo.names() if name not in zoo.generators()])
def test_openvino_matches_tensorflow_on_every_bundled_model(name):
    from model.export import read_card

    card = read_card(zoo.resolve(name))
    tiles = tiles_for(card)
    by_tf = restored(name, "tf", tiles)
    by_openvino = restored(name, "openvino", tiles)
    for tile, a, b in zip(tiles, by_tf, by_openvino):
        # a restorer gives an image at its scale; the diagnosis model one row of estimates
        size = (len(OUTPUTS),) if card.get("outputs") == "diagnosis" else tuple(card["scale"] * n for n in tile.shape[:2])
        assert a.shape == b.shape and a.shape[:2] == size
        assert np.abs(a - b).max() <= 1e-4, name


def test_the_zoo_is_not_empty():
    # The test above covers zoo.names(); it must not pass by covering nothing.
    assert zoo.DEFAULT in zoo.names()


def test_auto_is_openvino_on_cpus_and_tensorflow_where_a_gpu_is_visible():
    import tensorflow as tf

    from model import engines

    expected = "tf" if tf.config.list_physical_devices("GPU") else "openvino"
    assert engines.resolve("auto") == expected
    assert engines.resolve("tf") == "tf" and engines.resolve("openvino") == "openvino"
    with pytest.raises(ValueError, match="onnx"):
        engines.resolve("onnx")


def test_one_loaded_openvino_model_serves_several_threads():
    """Beam may call run_inference from several threads on one shared model."""
    from model.export import read_card

    tiles = tiles_for(read_card(zoo.resolve(zoo.DEFAULT)))
    handler = TileModelHandler(zoo.DEFAULT, batch_size=1, engine="openvino")
    model = handler.load_model()
    alone = [handler.run_inference([tile], model)[0].inference for tile in tiles]
    together: dict[int, np.ndarray] = {}

    def restore(i):
        for _ in range(3):
            together[i] = handler.run_inference([tiles[i]], model)[0].inference

    threads = [threading.Thread(target=restore, args=(i,)) for i in range(len(tiles))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i, expected in enumerate(alone):
        np.testing.assert_array_equal(together[i], expected)
