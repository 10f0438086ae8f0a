"""Inference engines: what runs a loaded Keras model's forward pass in the restore job.

``tf``: TensorFlow (a ``tf.function``), the engine for GPUs. ``openvino``: the same graph
compiled by OpenVINO's CPU plugin, faster than TensorFlow on CPUs (see bench/RESULTS.md).
``auto`` picks TensorFlow where TensorFlow sees a GPU, OpenVINO otherwise; it is resolved in
the worker, since the machine that launches a job is often not the one that runs it.

Both engines take float32 NHWC batches and return float32 NumPy arrays; their outputs agree
within 1e-4 on [0, 1] images (tests/model/test_engines.py checks every bundled model), so the
engine is not part of a run's settings key. The restore job's workers load a model folder
with ``load_dir``: OpenVINO's conversion (which needs TensorFlow, and a few seconds) happens
once per model and machine, in a child process (``convert_apart``) that fills a cache
(``model.ov_cache``), so that a process that runs OpenVINO, a machine's first run included,
never loads TensorFlow.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import logging
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable

import numpy as np

from restoreflow import quiet_tf
from restoreflow.card import MAX_BF16_COST_DB, bf16_cost_db

ENGINES = ("auto", "tf", "openvino")
PRECISIONS = ("f32", "bf16")
CHOICES = (*PRECISIONS, "auto")  # --precision: auto = bf16 where bf16_refusal finds nothing, else f32
# Set to 1: treat this CPU as one without native bf16 (what --precision auto does on such a worker).
NO_BF16_ENV = "RESTOREFLOW_NO_BF16"
log = logging.getLogger("restoreflow.engines")


@dataclasses.dataclass(frozen=True)
class Predictor:
    """A loaded model's forward pass: ``predictor(batch)`` -> restored batch (NumPy)."""

    engine: str  # "tf" or "openvino"
    version: str  # the engine's version, for logs and benchmarks
    forward: Callable[[np.ndarray], np.ndarray]

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self.forward(batch)


def resolve(engine: str) -> str:
    """``auto`` -> ``tf`` where TensorFlow sees a GPU, else ``openvino``; others unchanged."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}: choose one of {', '.join(ENGINES)}")
    if engine != "auto":
        return engine
    if _gpu_possible():
        import tensorflow as tf

        if tf.config.list_physical_devices("GPU"):
            return "tf"
    try:
        import openvino  # noqa: F401
    except ImportError:
        log.warning("engine auto: openvino is not installed (pip install openvino); using TensorFlow")
        return "tf"
    return "openvino"


def _gpu_possible() -> bool:
    """Whether TensorFlow might see a GPU here. On Linux a GPU it can use has device files
    (NVIDIA's /dev/nvidia0..., ROCm's /dev/kfd): without them the answer needs no TensorFlow,
    which an OpenVINO worker then never loads. Elsewhere only TensorFlow knows."""
    if not sys.platform.startswith("linux"):
        return True
    return bool(glob.glob("/dev/nvidia[0-9]*")) or os.path.exists("/dev/kfd")


def bf16_refusal(card: dict, engine: str, *, here: bool = True) -> str | None:
    """Why ``--precision bf16`` cannot run this model (None: it can).

    bf16 runs only on OpenVINO, only for a model whose card records its measured PSNR cost
    (``inference.bf16.psnr_cost_db``, written by bench/jobs/precision.py) within MAX_BF16_COST_DB,
    and only on a CPU with native bf16 (AVX512_BF16 or AMX). ``here``: also check this
    machine's engine and CPU (the launcher of a remote job cannot: its workers decide)."""
    if engine == "tf":
        return "bf16 runs on the openvino engine only (--engine tf was given)"
    measured = bf16_cost_db(card)
    if measured is None:
        return (f"model {card['model_id']} has no measured bf16 cost in its model.json "
                "(python -m bench.jobs.precision --model DIR --write-card measures it)")
    if measured > MAX_BF16_COST_DB:
        return f"bf16 costs model {card['model_id']} {measured:.3f} dB, over the {MAX_BF16_COST_DB} dB allowed"
    if not here:
        return None
    if resolve(engine) != "openvino":
        return "bf16 runs on the openvino engine only (this worker resolved the engine to tf)"
    if not native_bf16():
        return "this CPU has no native bf16 (AVX512_BF16 or AMX): use --precision f32"
    return None


def resolve_precision(precision: str, card: dict, engine: str) -> str:
    """``auto`` -> "bf16" where ``bf16_refusal`` finds nothing against it on this machine (the
    model's measured cost within MAX_BF16_COST_DB, OpenVINO, a CPU with native bf16), else
    "f32"; "f32" and "bf16" unchanged."""
    if precision != "auto":
        return precision
    return "f32" if bf16_refusal(card, engine) else "bf16"


def native_bf16() -> bool:
    """Whether OpenVINO's CPU plugin runs bf16 natively on this machine (never with
    RESTOREFLOW_NO_BF16=1)."""
    if os.environ.get(NO_BF16_ENV, "") == "1":
        return False
    import openvino as ov

    return "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


def load(model, channels_in: int, *, engine: str, threads: int = 0, precision: str = "f32") -> Predictor:
    """A Predictor for the Keras ``model`` (inputs with ``channels_in`` channels) on ``engine``
    (resolved first); ``threads`` caps OpenVINO's threads (0: its default, every core).
    TensorFlow's pools are set by ``pipelines.restore.inference.set_tf_threads`` before TF starts.
    ``precision`` "bf16" (OpenVINO only) is what the restore job runs after ``bf16_refusal``
    found nothing against it; benchmarks call it directly."""
    engine = _checked(engine, precision)
    if engine == "tf":
        import tensorflow as tf

        function = _function(model, channels_in)
        return Predictor("tf", tf.__version__, lambda batch: function(batch).numpy())
    return _openvino(_read_frozen(_ov().Core(), _function(model, channels_in)), threads, precision)


def load_dir(model_dir: str, channels: tuple[int, int], keras_model: Callable[[], object], *, engine: str,
             threads: int = 0, precision: str = "f32") -> Predictor:
    """``load`` for the local model directory ``model_dir`` (``channels``: its inputs' and
    outputs'), whose OpenVINO conversion is cached (``model.ov_cache``): a worker that finds
    it never loads TensorFlow. ``keras_model()`` gives the Keras model, called only where
    TensorFlow runs it or no usable conversion of these weights is cached yet."""
    if _checked(engine, precision) == "tf":
        return load(keras_model(), channels[0], engine=engine, threads=threads, precision=precision)
    from model import export, ov_cache

    core = _ov().Core()
    folder = ov_cache.entry_folder(export.model_file_sha256(model_dir), channels[0])
    converted = ov_cache.read(core, folder, channels)  # None with the cache off, too
    if converted is None and ov_cache.enabled() and convert_apart(model_dir, channels) is None:
        converted = ov_cache.read(core, folder, channels)
    if converted is None:  # where the child could not: here, with TensorFlow (its error, if any, is raised)
        log.info("converting %s for OpenVINO in this process%s", model_dir,
                 f" (once: kept in {folder})" if ov_cache.enabled() else " (the cache is off)")
        converted = _read_frozen(core, _function(keras_model(), channels[0]))
        if ov_cache.store(converted, folder):  # run what later workers will read: the same outputs
            converted = ov_cache.read(core, folder, channels) or converted
    return _openvino(converted, threads, precision)


def convert_apart(model_dir: str, channels: tuple[int, int]) -> str | None:
    """Converts the local ``model_dir`` for OpenVINO into the cache in a child process, which
    takes TensorFlow's memory (about 450 MB) with it when it exits; None once the cache holds the
    conversion, else why not (the child's last line of error)."""
    log.info("converting %s for OpenVINO (once per machine, in a child process)", model_dir)
    command = [sys.executable, "-c", _CHILD, model_dir, str(channels[0]), str(channels[1])]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode == 0 or _cached_if_readable(model_dir, channels):  # the cache is what counts
        return None
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    why = lines[-1] if lines else f"exit status {result.returncode}"
    log.info("the conversion's child process failed (%s); converting in this process", why)
    return why


def _cached_if_readable(model_dir: str, channels: tuple[int, int]) -> bool:
    try:
        return cached(model_dir, channels, "openvino")
    except OSError:  # no model file to hash: the child's error says what is wrong
        return False


# convert_apart's child. Its working directory leaves sys.path first, so that a user's own
# model/ package there is never imported as ours (Python 3.11's -P; this runs on 3.10 too).
_CHILD = """import os, sys
if sys.path and sys.path[0] in ("", os.getcwd()):
    del sys.path[0]
from model.engines import _convert_into_cache
status = _convert_into_cache(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
sys.stderr.flush()
os._exit(status)  # no interpreter teardown: TensorFlow's and OpenVINO's take time and are not needed
"""


def _convert_into_cache(model_dir: str, channels_in: int, channels_out: int) -> int:
    """Converts ``model_dir`` into the cache (convert_apart's child); its exit status."""
    from model import export, ov_cache

    core = _ov().Core()
    converted = _read_frozen(core, _function(export.load_model(model_dir)[0], channels_in))
    folder = ov_cache.entry_folder(export.model_file_sha256(model_dir), channels_in)
    stored = ov_cache.store(converted, folder) and ov_cache.read(core, folder, (channels_in, channels_out))
    if not stored:
        print(f"the OpenVINO cache {folder} could not be written", file=sys.stderr)
    return 0 if stored else 1


def cached(model_dir: str, channels: tuple[int, int], engine: str) -> bool:
    """Whether ``load_dir`` would run this model directory from its cached conversion (whose
    weights, converted earlier, therefore load) on this machine."""
    try:
        if resolve(engine) != "openvino":
            return False
        import openvino as ov
    except ImportError:
        return False  # no OpenVINO here: the worker says so when it loads the model
    from model import export, ov_cache

    folder = ov_cache.entry_folder(export.model_file_sha256(model_dir), channels[0])
    return ov_cache.read(ov.Core(), folder, channels) is not None


def _checked(engine: str, precision: str) -> str:
    """``engine`` resolved, once ``precision`` is known to run on it."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}: choose one of {', '.join(PRECISIONS)}")
    engine = resolve(engine)
    if engine == "tf" and precision != "f32":
        raise ValueError("--precision bf16 runs on the openvino engine only")
    return engine


def _ov():
    try:
        import openvino
    except ImportError:
        raise ImportError("--engine openvino needs the openvino package: pip install openvino") from None
    return openvino


def _function(model, channels_in: int):
    import tensorflow as tf

    return tf.function(
        lambda batch: tf.cast(model(batch, training=False), tf.float32),
        input_signature=[tf.TensorSpec([None, None, None, channels_in], tf.float32, name="degraded")],
    )


def _openvino(converted, threads: int, precision: str) -> Predictor:
    """The OpenVINO ``converted`` model (an ``openvino.Model``) compiled for this CPU."""
    ov = _ov()
    compiled = ov.Core().compile_model(converted, "CPU", _cpu_properties(threads, precision))
    local = threading.local()  # an infer request serves one call at a time; Beam may use threads

    def forward(batch: np.ndarray) -> np.ndarray:
        request = getattr(local, "request", None)
        if request is None:
            request = local.request = compiled.create_infer_request()
        request.infer({0: np.ascontiguousarray(batch, dtype=np.float32)})
        return request.get_output_tensor(0).data.copy()  # the request reuses its output buffer

    return Predictor("openvino", ov.get_version(), forward)


def _read_frozen(core, function):
    """The tf.function's graph with its weights frozen to constants, read by OpenVINO's
    TensorFlow frontend. Why not ``openvino.convert_model``: it sends usage telemetry unless
    the user opted out, and workers must not call home; ``Core.read_model`` sends nothing.
    Why not a SavedModel: the frontend cannot resolve Keras 3's variables in one."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    # Grappler prints its informational lines ("Starting new session") to fd 2 here.
    with contextlib.nullcontext() if quiet_tf.verbose() else quiet_tf.startup_lines_dropped():
        frozen = convert_variables_to_constants_v2(function.get_concrete_function())
    with tempfile.TemporaryDirectory(prefix="restoreflow-openvino-") as folder:
        tf.io.write_graph(frozen.graph.as_graph_def(), folder, "model.pb", as_text=False)
        return core.read_model(os.path.join(folder, "model.pb"))


def _cpu_properties(threads: int, precision: str) -> dict:
    properties = {
        # OpenVINO runs bf16 by default on CPUs that have it (AVX512_BF16, AMX): outputs then
        # moved by up to 4e-3 here. float32 keeps them equal to TensorFlow's.
        "INFERENCE_PRECISION_HINT": precision,
        # One stream: a batch runs on all of the process's threads, as with TensorFlow.
        "PERFORMANCE_HINT": "LATENCY",
        # Pinned threads were 2.6x slower here with other processes on the same cores (Beam
        # starts one SDK process per core on Dataflow; a laptop runs other things).
        "ENABLE_CPU_PINNING": False,
    }
    if threads > 0:
        properties["INFERENCE_NUM_THREADS"] = threads
    return properties
