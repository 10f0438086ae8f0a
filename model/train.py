"""Job 2: train a CNN restorer on the shards of job 1.

    restoreflow train --config configs/dncnn-gray-s25.yaml --workdir runs/s25 [--set train.steps=500]

``train(config, workdir)`` is the library entry point. It uses a custom training loop
(``strategy.run`` inside a ``tf.function``) so that one code path serves one device,
MirroredStrategy and MultiWorkerMirroredStrategy (Keras 3 ``fit`` fails under the latter,
keras-team/keras#20585). Step-level checkpoints make a killed run resume at the step it
reached, with the optimizer state and the exact data position (the data order is a pure
function of the seed, so the consumed records are skipped). Only the chief writes
checkpoints, TensorBoard logs and the exported model directory ``workdir/model``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import math
import os
import posixpath
import shutil
import sys
import tempfile
import time
from typing import Any, Literal

import numpy as np
import yaml

from restoreflow import commands
from restoreflow.configs import ConfigError, apply_overrides, check, from_mapping, parse_yaml, to_plain
from restoreflow.console import setup_logging, user_errors
from restoreflow.provenance import hardware_description

log = logging.getLogger("restoreflow.train")


# ----------------------------------------------------------------------------- configuration


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """shards: output folder of ``restoreflow shards`` (local or gs://).
    batch_size: global batch size (split over replicas). max_val_records: 0 = all."""

    shards: str
    batch_size: int = 64
    shuffle_buffer: int = 4096
    augment: bool = True
    val_batch_size: int = 64
    max_val_records: int = 2048

    def __post_init__(self):
        check(self.batch_size >= 1, "data.batch_size", "must be >= 1")
        check(self.shuffle_buffer >= 1, "data.shuffle_buffer", "must be >= 1")
        check(self.val_batch_size >= 1, "data.val_batch_size", "must be >= 1")
        check(self.max_val_records >= 0, "data.max_val_records", "must be >= 0")


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """architecture: a name in ``model.architectures.BUILDERS``; args: its keyword arguments.
    init_from: a bundled model's name or a model directory whose weights start a new run
    (see ``model.warm_start``)."""

    architecture: str = "dncnn"
    args: dict[str, Any] = dataclasses.field(default_factory=dict)
    init_from: str = ""


@dataclasses.dataclass(frozen=True)
class OptimizerConfig:
    """schedule: constant, step (multiply by decay_factor at each of decay_steps) or cosine
    (to min_learning_rate at the last step). clip_norm / ema_decay: 0 = off."""

    name: Literal["adam", "adamw"] = "adam"
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    schedule: Literal["constant", "step", "cosine"] = "cosine"
    warmup_steps: int = 0
    decay_steps: tuple[int, ...] = ()
    decay_factor: float = 0.1
    min_learning_rate: float = 0.0
    clip_norm: float = 0.0
    ema_decay: float = 0.0

    def __post_init__(self):
        check(self.learning_rate > 0, "optimizer.learning_rate", "must be > 0")
        check(0 <= self.ema_decay < 1, "optimizer.ema_decay", "must lie within [0, 1)")
        check(self.clip_norm >= 0, "optimizer.clip_norm", "must be >= 0")
        check(self.warmup_steps >= 0, "optimizer.warmup_steps", "must be >= 0")
        check(list(self.decay_steps) == sorted(self.decay_steps), "optimizer.decay_steps", "must be increasing")
        check(self.name == "adamw" or self.weight_decay == 0, "optimizer.weight_decay", "needs name: adamw")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """strategy: auto (GPUs -> mirrored, TF_CONFIG with several workers -> multi_worker, else
    one device), or forced. devices: for mirrored, e.g. ["/cpu:0", "/cpu:1"] (empty = all GPUs).
    loss: weights of named losses (see model.losses.LOSSES); masked_weight: extra weight of
    masked pixels for inpainting."""

    steps: int = 10000
    seed: int = 0
    loss: dict[str, float] = dataclasses.field(default_factory=lambda: {"mse": 1.0})
    masked_weight: float = 1.0
    log_every: int = 100
    eval_every: int = 1000
    checkpoint_every: int = 500
    keep_checkpoints: int = 3
    image_summaries: int = 3
    strategy: Literal["auto", "default", "mirrored", "multi_worker"] = "auto"
    devices: tuple[str, ...] = ()
    mixed_precision: bool = False  # see mixed_precision_policy

    def __post_init__(self):
        check(self.steps >= 1, "train.steps", "must be >= 1")
        for key in ("log_every", "eval_every", "checkpoint_every", "keep_checkpoints"):
            check(getattr(self, key) >= 1, f"train.{key}", "must be >= 1")
        check(self.masked_weight > 0, "train.masked_weight", "must be > 0")


@dataclasses.dataclass(frozen=True)
class Config:
    data: DataConfig
    model: ModelConfig = ModelConfig()
    optimizer: OptimizerConfig = OptimizerConfig()
    train: TrainConfig = TrainConfig()


def load_config(path: str | None, overrides: list[str] = (), base: dict | None = None) -> Config:
    """YAML file (or ``base`` dict) + ``--set key=value`` overrides -> a checked Config."""
    data = dict(base or {})
    if path:
        try:
            with open(path) as f:
                text = f.read()
        except OSError as e:
            raise ConfigError(f"--config {path}: cannot read it ({e.strerror})") from None
        data = parse_yaml(text, f"--config {path}") or {}
    return from_mapping(Config, apply_overrides(data, list(overrides)))


# ----------------------------------------------------------------------------- set-up


def mixed_precision_policy(config: TrainConfig) -> str | None:
    """The Keras policy ``train.mixed_precision`` asks for on this machine: float16 compute
    (with loss scaling) on GPUs; bfloat16 on a CPU with bfloat16 instructions (measured on an
    AVX512_BF16 CPU: 1.8x the float32 steps/s of the starter U-Net). None when off."""
    import tensorflow as tf

    from restoreflow.provenance import cpu_flags

    if not config.mixed_precision:
        return None
    if tf.config.list_physical_devices("GPU"):
        return "mixed_float16"
    if {"avx512_bf16", "amx_bf16"} & cpu_flags():
        return "mixed_bfloat16"
    raise ConfigError("train.mixed_precision: needs a GPU or a CPU with bfloat16 instructions (avx512_bf16 or amx_bf16)")


def resolve_strategy_name(config: TrainConfig) -> str:
    """``auto`` made concrete: multi_worker, mirrored or default."""
    import tensorflow as tf

    name = config.strategy
    if name == "auto":
        tf_config = json.loads(os.environ.get("TF_CONFIG", "{}"))
        workers = sum(len(v) for k, v in tf_config.get("cluster", {}).items() if k in ("worker", "chief"))
        if workers > 1:
            name = "multi_worker"
        elif tf.config.list_physical_devices("GPU"):
            name = "mirrored"
        else:
            name = "default"
    return name


def make_strategy(name: str, config: TrainConfig):
    import tensorflow as tf

    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy(list(config.devices) or None)
    return tf.distribute.get_strategy()


def is_chief(strategy) -> bool:
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    return resolver.task_type == "chief" or (resolver.task_type == "worker" and resolver.task_id == 0)


def learning_rate_schedule(config: OptimizerConfig, total_steps: int):
    import keras

    if config.schedule == "cosine":
        # Linear warm-up from 0 to learning_rate, then cosine down to min_learning_rate.
        alpha = config.min_learning_rate / config.learning_rate
        decay_steps = max(1, total_steps - config.warmup_steps)
        if config.warmup_steps:
            return keras.optimizers.schedules.CosineDecay(
                0.0, decay_steps, alpha=alpha, warmup_target=config.learning_rate, warmup_steps=config.warmup_steps
            )
        return keras.optimizers.schedules.CosineDecay(config.learning_rate, decay_steps, alpha=alpha)
    if config.schedule == "step" and config.decay_steps:
        values = [config.learning_rate * config.decay_factor**i for i in range(len(config.decay_steps) + 1)]
        return keras.optimizers.schedules.PiecewiseConstantDecay(list(config.decay_steps), values)
    return config.learning_rate


def make_optimizer(config: OptimizerConfig, total_steps: int, *, loss_scale: bool):
    import keras

    common = dict(
        learning_rate=learning_rate_schedule(config, total_steps),
        global_clipnorm=config.clip_norm or None,
        use_ema=config.ema_decay > 0,
        ema_momentum=config.ema_decay or 0.99,
    )
    if config.name == "adamw":
        optimizer = keras.optimizers.AdamW(weight_decay=config.weight_decay, **common)
    else:
        optimizer = keras.optimizers.Adam(**common)
    return keras.optimizers.LossScaleOptimizer(optimizer) if loss_scale else optimizer


def check_model_fits_data(info: dict, manifest: dict) -> None:
    """The shards must be what the architecture expects (channels, scale, mask)."""
    channels = manifest["channels"]
    check(channels == [info["channels"]], "model.args.channels",
          f"the model restores {info['channels']}-channel images but the shards hold {channels}")
    check(info["scale"] == manifest["scale"], "model.args.scale",
          f"the model scales by {info['scale']} but the shards' recipe by {manifest['scale']}")
    check(info["takes_mask"] == manifest["has_mask"], "model.architecture",
          "inpainting models need inpainting shards, and only they carry masks")


def _file_sha256(path: str) -> str:
    import tensorflow as tf

    with tf.io.gfile.GFile(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


# ----------------------------------------------------------------------------- the loop


class TrainingError(RuntimeError):
    """Training cannot go on (e.g. a non-finite loss); the message says what to do."""


@dataclasses.dataclass
class Progress:
    step: int
    best: dict | None = None
    last_eval: dict | None = None


@dataclasses.dataclass
class TrainResult:
    model: object  # the trained keras.Model (EMA weights when EMA is on)
    chief: bool
    started_step: int  # where this run began (0, or the step it resumed from)
    card: dict  # the model card, ready for export


def train(config: Config, workdir: str) -> str:
    """Trains per ``config``, resuming from ``workdir`` (local or gs://) when it holds
    checkpoints; the chief exports ``workdir/model`` (returned)."""
    return export(train_model(config, workdir), workdir)


def export(result: TrainResult, workdir: str) -> str:
    """The chief writes the model directory (model.keras, model.json, config.yaml). A rerun
    that trained no further steps keeps the directory it exported before (with its scores)."""
    import tensorflow as tf

    from model.export import CARD_FILE, export_model

    model_dir = posixpath.join(workdir, "model")
    if not result.chief:
        return model_dir
    if result.card["training"]["steps_this_run"] == 0 and tf.io.gfile.exists(posixpath.join(model_dir, CARD_FILE)):
        log.info("nothing trained in this run; %s is kept as it was", model_dir)
        return model_dir
    export_model(float32_model(result.model, result.card["architecture"]), model_dir, card=result.card)
    tf.io.gfile.copy(posixpath.join(workdir, "config.yaml"), posixpath.join(model_dir, "config.yaml"), overwrite=True)
    log.info("exported %s", model_dir)
    return model_dir


def float32_model(model, architecture: dict):
    """The model as consumers get it: float32 layers throughout. A model trained under a mixed
    policy keeps float32 weights but computes in 16 bits; its exported copy must not."""
    import keras

    from model import architectures

    if model.dtype_policy.name == "float32":
        return model
    keras.mixed_precision.set_global_policy("float32")
    clone = architectures.build(architecture["name"], architecture["args"])
    clone.set_weights(model.get_weights())
    return clone


def train_model(config: Config, workdir: str) -> TrainResult:
    """The training loop; see the module docstring."""
    import keras
    import tensorflow as tf

    from model import architectures, data, losses

    workdir = str(workdir).rstrip("/")
    strategy_name = resolve_strategy_name(config.train)
    strategy = make_strategy(strategy_name, config.train)
    chief = is_chief(strategy)
    policy = mixed_precision_policy(config.train)
    if policy:
        keras.mixed_precision.set_global_policy(policy)
    manifest = data.read_manifest(config.data.shards)
    info = architectures.describe(config.model.architecture, config.model.args)
    check_model_fits_data(info, manifest)
    shapes = data.example_shapes(manifest)
    compression = data.compression_of(manifest)
    replicas = strategy.num_replicas_in_sync
    check(config.data.batch_size % replicas == 0, "data.batch_size",
          f"must be a multiple of the {replicas} replicas")
    if chief:
        _write_resolved_config(config, workdir)
    keras.utils.set_random_seed(config.train.seed)

    with strategy.scope():
        model = architectures.build(config.model.architecture, config.model.args)
        optimizer = make_optimizer(config.optimizer, config.train.steps, loss_scale=policy == "mixed_float16")
        optimizer.build(model.trainable_variables)  # slots must exist before the tf.function
        step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, step=step)
    # Every worker resumes from the chief's checkpoints (the workdir is shared: a bucket or a
    # network folder); only the chief's saves land there, the others save to a private
    # temporary folder, as MultiWorkerMirroredStrategy needs every worker to save.
    shared_dir = posixpath.join(workdir, "checkpoints")
    checkpoint_dir = shared_dir if chief else tempfile.mkdtemp(prefix="restoreflow-worker-")
    manager = tf.train.CheckpointManager(checkpoint, checkpoint_dir, max_to_keep=config.train.keep_checkpoints)
    latest = tf.train.latest_checkpoint(shared_dir)
    if latest:
        checkpoint.restore(latest).assert_existing_objects_matched()
        log.info("resumed from %s at step %d", latest, int(step.numpy()))
    elif config.model.init_from:
        from model.warm_start import warm_start

        warm_start(model, config.model.init_from)
    progress = Progress(step=int(step.numpy()))
    if progress.step >= config.train.steps:
        log.info("already trained for %d steps", progress.step)

    loss_fn = losses.build_loss(config.train.loss, masked_weight=config.train.masked_weight)
    train_files = data.shard_files(config.data.shards, manifest, "train")
    global_batch = config.data.batch_size

    def dataset_fn(context):
        per_replica = context.get_per_replica_batch_size(global_batch)
        per_pipeline = per_replica * context.num_replicas_in_sync // context.num_input_pipelines
        return data.training_dataset(
            train_files,
            shapes=shapes,
            takes_mask=info["takes_mask"],
            batch_size=per_replica,
            shuffle_buffer=config.data.shuffle_buffer,
            augment_flips=config.data.augment,
            seed=config.train.seed,
            compression=compression,
            input_context=context,
            start_record=progress.step * per_pipeline,
        )

    iterator = iter(strategy.distribute_datasets_from_function(dataset_fn))

    def replica_step(batch):
        inputs, clean, mask = batch
        with tf.GradientTape() as tape:
            restored = tf.cast(model(inputs, training=True), tf.float32)
            per_example = loss_fn(clean, restored, mask if info["takes_mask"] else None)
            loss = tf.nn.compute_average_loss(per_example, global_batch_size=global_batch)
            if model.losses:
                loss += tf.nn.scale_regularization_loss(tf.add_n(model.losses))
            scaled = optimizer.scale_loss(loss) if policy == "mixed_float16" else loss
        gradients = tape.gradient(scaled, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        return loss

    @tf.function
    def train_step(iterator):
        loss = strategy.reduce("SUM", strategy.run(replica_step, args=(next(iterator),)), axis=None)
        step.assign_add(1)
        return loss

    writer = tf.summary.create_file_writer(posixpath.join(workdir, "logs")) if chief else tf.summary.create_noop_writer()
    # Empty val files exist when no image fell into the split (e.g. --val_fraction 0).
    val_files = manifest["counts"]["records"]["val"] and data.shard_files(config.data.shards, manifest, "val")
    evaluate = _evaluator(model, val_files, shapes, info, config, compression) if val_files else None
    if not val_files:
        log.warning("the shards hold no validation records (val split empty): training and exporting without "
                    "validation scores; make shards with a larger --val_fraction to get them")

    if progress.step < config.train.steps:
        log.info("training %s (%s parameters): steps %d to %d, batch %d, %s on %d replica(s)", config.model.architecture,
                 f"{model.count_params():,}", progress.step + 1, config.train.steps, global_batch, strategy_name, replicas)
    started, started_step = time.time(), progress.step
    window_start, window_step = started, progress.step
    while progress.step < config.train.steps:
        with _naming_damaged_shards(train_files, compression):
            loss = float(train_step(iterator))
        progress.step = int(step.numpy())
        if not math.isfinite(loss):
            last = manager.latest_checkpoint or "none (nothing was saved yet)"
            raise TrainingError(
                f"loss became {loss} at step {progress.step}; stopped without saving. Last good "
                f"checkpoint: {last}. Lower optimizer.learning_rate or set optimizer.clip_norm."
            )
        done = progress.step >= config.train.steps
        if progress.step == started_step + 1 and not done:
            # The first step of a run traces the graph: its time is no guide to the rest.
            log.info("step %d/%d  loss %.3e  (first step, graph tracing included: %.1f s)",
                     progress.step, config.train.steps, loss, time.time() - started)
            window_start, window_step = time.time(), progress.step
        elif progress.step % config.train.log_every == 0 or done:
            now = time.time()
            rate = (progress.step - window_step) * global_batch / max(now - window_start, 1e-9)
            learning_rate = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
            _log_progress(progress.step, config.train.steps, loss, learning_rate, rate,
                          (config.train.steps - progress.step) * global_batch / max(rate, 1e-9))
            with writer.as_default(step=progress.step):
                tf.summary.scalar("train/loss", loss)
                tf.summary.scalar("train/learning_rate", learning_rate)
                tf.summary.scalar("train/patches_per_second", rate)
            window_start, window_step = now, progress.step
        # Saved before evaluating: a failing evaluation never costs the steps trained.
        if progress.step % config.train.checkpoint_every == 0 or done:
            manager.save(checkpoint_number=progress.step)
        if evaluate and chief and (progress.step % config.train.eval_every == 0 or done):
            with _naming_damaged_shards(val_files, compression):
                progress.last_eval = evaluate(writer, progress.step)
            if progress.best is None or progress.last_eval["psnr_db"] > progress.best["psnr_db"]:
                progress.best = dict(progress.last_eval, step=progress.step)
    seconds = time.time() - started

    if config.optimizer.ema_decay:
        optimizer.finalize_variable_values(model.trainable_variables)
        if evaluate and chief:
            with _naming_damaged_shards(val_files, compression):
                progress.last_eval = evaluate(writer, progress.step, tag="val_ema")
    if not chief:
        shutil.rmtree(checkpoint_dir, ignore_errors=True)  # a private temporary folder
    card = {
        **info,
        "task": manifest["task"],
        "architecture": {"name": config.model.architecture, "args": dict(config.model.args)},
        "data": {
            "shards": config.data.shards,
            "manifest_sha256": _file_sha256(posixpath.join(config.data.shards, "manifest.json")),
            "recipe": manifest["recipe"],
            "seed": manifest["seed"],
            "records": manifest["counts"]["records"],
        },
        "training": {
            "steps": progress.step,
            "global_batch_size": global_batch,
            "replicas": replicas,
            "strategy": strategy_name,
            "precision": policy or "float32",
            "hardware": hardware_description(),
            "seconds_this_run": round(seconds, 1),
            "steps_this_run": progress.step - started_step,
            "config": to_plain(config),
        },
        "validation": {"final": progress.last_eval, "best": progress.best},
    }
    return TrainResult(model=model, chief=chief, started_step=started_step, card=card)


@contextlib.contextmanager
def _naming_damaged_shards(files, compression: str):
    """A read failure inside the block becomes a TrainingError naming the damaged shard."""
    import tensorflow as tf

    from model import data

    try:
        yield
    except (tf.errors.DataLossError, tf.errors.InvalidArgumentError):
        damaged = data.find_damaged(files, compression)
        if damaged is None:
            raise  # not the data: a bug, shown as it is
        raise TrainingError(f"shard {damaged[0]} is damaged ({damaged[1]}); make the shards again with "
                            f"`restoreflow shards` (the checkpoints in the workdir are kept)") from None


def _log_progress(step, total, loss, learning_rate, rate, eta_seconds):
    log.info(
        "step %d/%d  loss %.3e  lr %.2e  %.1f patches/s  eta %s",
        step, total, loss, learning_rate, rate, time.strftime("%H:%M:%S", time.gmtime(eta_seconds)),
    )


def _evaluator(model, val_files, shapes, info, config: Config, compression):
    """Returns evaluate(writer, step, tag) -> {"psnr_db", "ssim"} over the val shards, with the
    published convention (outputs clipped and rounded to 8-bit steps)."""
    import tensorflow as tf

    from model import data, metrics

    dataset = data.validation_dataset(
        val_files, shapes=shapes, takes_mask=info["takes_mask"], batch_size=config.data.val_batch_size,
        compression=compression, max_records=config.data.max_val_records,
    )

    @tf.function
    def predict(inputs):
        return tf.cast(model(inputs, training=False), tf.float32)

    def evaluate(writer, step, tag="val"):
        psnr, ssim, first = [], [], None
        for inputs, clean, _ in dataset:
            restored = predict(inputs)
            psnr.append(metrics.psnr_db(clean, restored, quantize=True).numpy())
            ssim.append(metrics.ssim(clean, restored, quantize=True).numpy())
            first = first if first is not None else (inputs, restored, clean)
        result = {"psnr_db": float(np.mean(np.concatenate(psnr))), "ssim": float(np.mean(np.concatenate(ssim)))}
        with writer.as_default(step=step):
            tf.summary.scalar(f"{tag}/psnr_db", result["psnr_db"])
            tf.summary.scalar(f"{tag}/ssim", result["ssim"])
            tf.summary.image(f"{tag}/degraded_restored_clean", _triplets(*first, info), max_outputs=config.train.image_summaries)
        log.info("%s at step %d: PSNR %.2f dB, SSIM %.4f", tag, step, result["psnr_db"], result["ssim"])
        return result

    return evaluate


def _triplets(inputs, restored, clean, info):
    """Side-by-side degraded | restored | clean images (degraded resized to the clean size)."""
    import tensorflow as tf

    degraded = inputs[..., : info["channels"]]
    size = tf.shape(clean)[1:3]
    degraded = tf.image.resize(degraded, size, method="nearest")
    return tf.clip_by_value(tf.concat([degraded, restored, clean], axis=2), 0.0, 1.0)


def _write_resolved_config(config: Config, workdir: str) -> None:
    """Writes workdir/config.yaml; a rerun in the same workdir must use the same settings
    (only train.steps may change, to extend a run; with a cosine schedule the learning rate
    then follows the new length from the step it resumes at)."""
    import tensorflow as tf

    tf.io.gfile.makedirs(workdir)
    path = posixpath.join(workdir, "config.yaml")
    resolved = to_plain(config)
    if tf.io.gfile.exists(path):
        with tf.io.gfile.GFile(path) as f:
            previous = yaml.safe_load(f.read())
        changed = sorted(k for k in _differences(previous, resolved) - {"train.steps"} if not _new_at_default(k, previous, resolved))
        if changed:
            raise ConfigError(
                f"{workdir} holds a run with other settings (differs at: {', '.join(changed)}); "
                "use a new --workdir, or the same settings to resume"
            )
    with tf.io.gfile.GFile(path, "w") as f:
        f.write(yaml.safe_dump(resolved, sort_keys=False))


def _new_at_default(key: str, previous: dict, resolved: dict) -> bool:
    """A key that an older version of this config did not have, set to its default: the run
    behaves as before, so it can resume."""
    defaults = to_plain(Config(data=DataConfig(shards="")))
    missing = object()
    *parents, last = key.split(".")
    for part in parents:
        previous, resolved, defaults = (d.get(part, {}) if isinstance(d, dict) else {} for d in (previous, resolved, defaults))
    return previous.get(last, missing) is missing and resolved.get(last) == defaults.get(last, missing)


def _differences(a, b, prefix="") -> set[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        keys = set(a) | set(b)
        return set().union(*(_differences(a.get(k), b.get(k), f"{prefix}{k}.") for k in keys)) if keys else set()
    return set() if a == b else {prefix.rstrip(".")}


# ----------------------------------------------------------------------------- command line


@user_errors("restoreflow train", FileNotFoundError, failures=(TrainingError,))
def main(argv: list[str]) -> int:
    args = commands.train().parse_args(argv)
    if "://" not in args.workdir and os.path.exists(args.workdir) and not os.path.isdir(args.workdir):
        raise ConfigError(f"--workdir {args.workdir} is a file; give a folder (it is created when missing)")
    setup_logging(args.verbose)
    config = load_config(args.config, args.overrides)
    model_dir = train(config, args.workdir)
    print(f"train: model directory {model_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
