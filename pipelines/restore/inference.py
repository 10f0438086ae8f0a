"""A RunInference model handler for our model directories.

Beam's TensorFlow handlers stack every batch into one tensor (all elements the same shape),
pull in tensorflow_hub (and with it tf-keras), and under Keras 3 load only .keras/.h5 paths.
This handler loads ``model.keras`` through ``model.export.load_model`` once per worker
process, hands it to an inference engine (``model.engines``: TensorFlow, or OpenVINO on CPU
workers), accepts tiles of mixed shapes (tiles of images smaller than a tile are smaller), and
runs one forward pass per distinct shape in a batch.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Sequence

import numpy as np
from apache_beam.io.filesystems import FileSystems
from apache_beam.ml.inference.base import KeyedModelHandler, KeyModelMapping, ModelHandler, PredictionResult

from model import engines
from model.export import CARD_FILE, MODEL_FILE, load_model, read_card
from restoreflow import pixels, zoo
from restoreflow.card import input_channels

log = logging.getLogger("restoreflow.restore")


def local_model_dir(model_dir: str) -> str:
    """The model directory on local disk (copied from gs:// or s3:// when needed)."""
    if "://" not in model_dir:
        return model_dir

    target = tempfile.mkdtemp(prefix="restoreflow-model-")
    for name in (MODEL_FILE, CARD_FILE):
        with FileSystems.open(FileSystems.join(model_dir, name)) as source, open(os.path.join(target, name), "wb") as out:
            shutil.copyfileobj(source, out)
    return target


def load_from(source: str):
    """(keras model, card) of a model directory, local or in a bucket (copied for the load)."""
    local = local_model_dir(source)
    try:
        return load_model(local)
    finally:
        if local != source:
            shutil.rmtree(local, ignore_errors=True)  # a temporary copy from a bucket


# The model the launcher loaded to check it (pipelines.restore.models), kept for the first worker
# of an in-process runner, which would otherwise build the same Keras model again (measured in
# bench/RESULTS.md, issue 22). One slot, taken once, keyed by the files' identity: a model.keras
# or model.json changed since the check is loaded anew.
_checked: dict = {}


def keep_checked(source: str, loaded: tuple) -> None:
    """Keeps ``loaded`` (model, card) for this process's first worker that loads ``source``."""
    _checked.clear()
    identity = _identity(source)
    if identity is not None:
        _checked[identity] = loaded


def load_checked_or_from(source: str):
    """The model kept by ``keep_checked`` when its files are unchanged, else ``load_from``."""
    identity = _identity(source)
    kept = _checked.pop(identity, None) if identity is not None else None
    return kept or load_from(source)


def _identity(source: str) -> tuple | None:
    if "://" in source:
        return None  # a bucket's copy: its workers are elsewhere anyway
    try:
        stats = [os.stat(os.path.join(source, name)) for name in (MODEL_FILE, CARD_FILE)]
    except OSError:
        return None
    return (os.path.realpath(source), *((s.st_ino, s.st_size, s.st_mtime_ns) for s in stats))


def set_tf_threads(threads: int) -> None:
    """Caps TensorFlow's thread pools (only possible before TF runs its first op)."""
    if threads <= 0:
        return
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(max(1, threads // 2))
    except RuntimeError:
        pass  # TF already initialised in this process (e.g. in-process tests): keep its pools


class InferenceFailure:
    """Stands in for a tile's output when the forward pass of its group failed (e.g. out of
    memory), so the stitcher can report the image instead of the whole batch being lost."""

    def __init__(self, reason: str):
        self.reason = reason


class TileModelHandler(ModelHandler[np.ndarray, np.ndarray, object]):
    """float32 HWC tiles in, float32 HWC restored tiles out (unclipped, as the model gives),
    or an InferenceFailure for the tiles of a shape group whose forward pass raised."""

    def __init__(self, model_dir: str | None, *, batch_size: int, tf_threads: int = 0, engine: str = "auto",
                 precision: str = "f32", strength: float = 1.0, batch_pixels: int = 0, keep_colors: bool = False,
                 fill: tuple[int, int] | None = None):
        super().__init__()
        self._fill = fill  # a generator's (steps, resample): it fills the tiles' holes by sampling
        self._keep_colors = keep_colors  # stylize: the tiles' own colours, the model's luminance
        self._batch_pixels = batch_pixels  # most tile pixels per batch (0: no limit), see batch_limits
        self._precision = precision
        self._strength = strength
        self._model_dir = model_dir
        self._batch_size = batch_size
        self._tf_threads = tf_threads  # threads of whichever engine runs the model
        self._engine = engine

    def load_model(self):
        """The model's forward pass on this worker's engine (``auto`` resolved here); on
        OpenVINO from its cached conversion where there is one, without loading TensorFlow."""
        source = zoo.resolve(self._model_dir)
        if self._fill:
            return self._filler(source)
        local = local_model_dir(source)  # a copy from a bucket: read without TensorFlow
        try:
            card = read_card(local)
            channels = (input_channels(card), card["channels"])
            precision = engines.resolve_precision(self._precision, card, self._engine)  # auto: this worker's choice
            refusal = precision != "f32" and engines.bf16_refusal(card, self._engine)
            if refusal:  # a worker unlike the launcher's machine: fail loudly rather than run f32 under a bf16 key
                raise RuntimeError(f"--precision {precision}: {refusal}")
            predictor = engines.load_dir(local, channels, lambda: self._keras_model(local), engine=self._engine,
                                         threads=self._tf_threads, precision=precision)
        finally:
            if local != source:
                shutil.rmtree(local, ignore_errors=True)
        log.info("model %s on %s %s (%s)", card["model_id"], predictor.engine, predictor.version, precision)
        return predictor

    def _filler(self, source: str) -> engines.Predictor:
        """A generator's generated fill (``model.diffusion_fill``) as a predictor of mask tiles.
        On TensorFlow whatever --engine says: the sampler calls the two-input network itself,
        some 2 x steps x resample times per tile, which no single exported graph covers."""
        import tensorflow as tf

        from model import diffusion
        from model.diffusion_fill import fill_tile

        network, card = self._keras_model_and_card(source)
        sampler = diffusion.Sampler(network, diffusion.EDM.from_card(card))
        steps, resample = self._fill
        multiple = int(card.get("size_multiple", 1))
        log.info("model %s: generated fill, %d steps, resample %d, on tf %s", card["model_id"], steps, resample,
                 tf.__version__)
        return engines.Predictor("tf", tf.__version__, lambda batch: np.stack(
            [fill_tile(sampler, tile, steps=steps, resample=resample, multiple=multiple) for tile in batch]))

    def _keras_model_and_card(self, source: str):
        set_tf_threads(self._tf_threads)  # before TensorFlow runs its first op
        return load_checked_or_from(source)

    def _keras_model(self, source: str):
        set_tf_threads(self._tf_threads)  # before TensorFlow runs its first op
        return load_checked_or_from(source)[0]

    def run_inference(self, batch: Sequence[np.ndarray], model, inference_args=None):
        outputs: list[np.ndarray | None] = [None] * len(batch)
        by_shape: dict[tuple, list[int]] = {}
        for i, tile in enumerate(batch):
            by_shape.setdefault(tile.shape, []).append(i)
        for indices in by_shape.values():
            try:
                tiles = np.stack([batch[i] for i in indices])
                restored = np.asarray(model(tiles))
                if self._keep_colors:  # a 3-channel style model (settings checks); per pixel, so per tile
                    restored = pixels.keep_colours(tiles, restored)
                # A blend needs tiles in the output's channels: a tile with one more carries a noise
                # level, which holds the strength already (a mask's model has none: settings checks).
                if self._strength != 1.0 and tiles.shape[-1] == restored.shape[-1]:
                    restored = tiles + np.float32(self._strength) * (restored - tiles)
            except Exception as e:  # noqa: BLE001 - one bad group must not fail the batch's others
                failure = InferenceFailure(f"{type(e).__name__}: {e}")
                restored = [failure] * len(indices)
            for i, out in zip(indices, restored):
                outputs[i] = out
        return [PredictionResult(tile, out) for tile, out in zip(batch, outputs)]

    def get_num_bytes(self, batch: Sequence[np.ndarray]) -> int:
        return sum(tile.nbytes for tile in batch)

    def get_metrics_namespace(self) -> str:
        return "restoreflow"

    def batch_elements_kwargs(self):
        return batch_limits(self._batch_size, self._batch_pixels, tile_pixels)


def tile_pixels(tile: np.ndarray) -> int:
    return tile.shape[0] * tile.shape[1]


def routed_tile_pixels(element) -> int:
    """AutoModelHandler's element, (model name, (TileKey, tile)) -> the tile's pixels."""
    return tile_pixels(element[1][1])


def batch_limits(batch_size: int, batch_pixels: int, size_fn) -> dict:
    """BatchElements arguments: at most ``batch_size`` tiles (fixed: tiles are already sized
    for memory, so no adaptive growth) and at most ``batch_pixels`` tile pixels, so that a batch
    of small images fills the memory budget one large tile takes alone (one call per tile
    of a large photograph, several small images per call)."""
    limits = {"min_batch_size": batch_size, "max_batch_size": batch_size}
    if batch_pixels:
        limits.update(element_size_fn=size_fn, max_batch_weight=batch_pixels)
    return limits


class KeyedTiles(TileModelHandler):
    """One model of --model auto: (TileKey, tile) examples in, so that each output still names
    its tile after Beam's multi-model handler (whose own key is the model's name). Its batches
    are the outer handler's (Beam ignores an inner handler's batching)."""

    def run_inference(self, batch, model, inference_args=None):
        results = super().run_inference([tile for _, tile in batch], model, inference_args)
        return [PredictionResult(example, result.inference) for example, result in zip(batch, results)]

    def get_num_bytes(self, batch) -> int:
        return sum(tile.nbytes for _, tile in batch)

    def batch_elements_kwargs(self):
        return {}


class AutoModelHandler(KeyedModelHandler):
    """Beam's multi-model RunInference over the models --model auto may pick: one
    ``KeyModelMapping`` each, keyed by the model's name, all of them allowed per worker (a
    few MB each), in fixed-size batches of tiles."""

    def __init__(self, models: Sequence[str], *, batch_size: int, batch_pixels: int = 0, **handler_args):
        mappings = [KeyModelMapping([name], KeyedTiles(name, batch_size=batch_size, **handler_args))
                    for name in models]
        super().__init__(mappings, max_models_per_worker_hint=len(mappings))
        self._batch_size = batch_size
        self._batch_pixels = batch_pixels

    def batch_elements_kwargs(self):
        return batch_limits(self._batch_size, self._batch_pixels, routed_tile_pixels)


def by_model(element):
    """(TileKey, tile) -> (model name, (TileKey, tile)): the key AutoModelHandler routes by."""
    key, tile = element
    return key.model, (key, tile)


def by_tile(element):
    """AutoModelHandler's (model name, PredictionResult((TileKey, tile), out)) -> the
    (TileKey, PredictionResult(tile, out)) the stitcher takes."""
    _, result = element
    key, tile = result.example
    return key, PredictionResult(tile, result.inference)
