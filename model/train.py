"""Job 2: train a CNN restorer on the shards of job 1.

    restoreflow train --config configs/dncnn-gray-s25.yaml --workdir runs/s25 [--set train.steps=500]

``train(config, workdir)`` is the library entry point: ``train_model`` runs the named steps
(set up, build the state, train, finish) and returns the trained model with its ``History``
and card; ``export`` writes the model directory ``workdir/model``. The loop itself is in
``model.train_loop``, the configuration in ``model.config``. Only the chief writes
checkpoints, TensorBoard logs and the exported model directory.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import posixpath
import shutil
import sys

from model import evaluation, strategy, style_training, train_loop
from model.config import Config, load_config, write_resolved_config
from model.evaluation import TrainingError
from model.export import CARD_FILE, export_model
from model.train_loop import History, Setup, TrainState, naming_damaged_shards
from restoreflow import commands
from restoreflow.configs import ConfigError, check, to_plain
from restoreflow.console import Interrupted, setup_logging, user_errors
from restoreflow.manifest import MANIFEST_FILE, ShardManifest
from restoreflow.provenance import hardware_description

log = logging.getLogger("restoreflow.train")


@dataclasses.dataclass
class TrainResult:
    model: object  # the trained keras.Model (EMA weights when EMA is on)
    chief: bool
    history: History
    card: dict  # the model card, ready for export

    @property
    def started_step(self) -> int:
        return self.history.started_step


def train(config: Config, workdir: str) -> str:
    """Trains per ``config``, resuming from ``workdir`` (local or gs://) when it holds
    checkpoints; the chief exports ``workdir/model`` (returned)."""
    return export(train_model(config, workdir), workdir)


def train_model(config: Config, workdir: str) -> TrainResult:
    """Set up, build (or resume) the state, train to ``train.steps``, finish."""
    import tensorflow as tf


    setup = set_up(config, str(workdir).rstrip("/"))
    state = train_loop.build_state(setup)
    train_step = train_loop.make_train_step(setup, state)
    batches = train_loop.training_batches(setup, int(state.step.numpy()))
    writer = tf.summary.create_file_writer(posixpath.join(setup.workdir, "logs")) if setup.chief \
        else tf.summary.create_noop_writer()
    evaluate = validation(setup, state)
    if int(state.step.numpy()) < config.train.steps:
        log.info("training %s (%s parameters): steps %d to %d, batch %d, %s on %d replica(s)",
                 config.model.architecture, f"{state.model.count_params():,}", int(state.step.numpy()) + 1,
                 config.train.steps, setup.global_batch, setup.strategy_name, setup.replicas)
    history = train_loop.run_steps(setup, state, train_step, batches, evaluate, writer)
    finish(setup, state, history, evaluate, writer)
    return TrainResult(model=state.model, chief=setup.chief, history=history, card=model_card(setup, history))


def set_up(config: Config, workdir: str) -> Setup:
    """Strategy, precision and the shards, checked against the architecture; the chief writes
    (or checks) ``workdir/config.yaml``."""
    import keras

    from model import architectures, data, diffusion

    strategy_name = strategy.resolve_strategy_name(config.train)
    distribution = strategy.make_strategy(strategy_name, config.train)
    chief = strategy.is_chief(distribution)
    policy = strategy.mixed_precision_policy(config.train)
    if policy:
        keras.mixed_precision.set_global_policy(policy)
    manifest = data.read_manifest(config.data.shards)
    info = architectures.describe(config.model.architecture, config.model.args)
    check_model_fits_data(info, manifest)
    style_training.check_style_config(config, info, manifest)
    style_loss = style_training.build_style_loss(config, info["channels"]) if config.style else None
    shapes = data.example_shapes(manifest)
    diffusion.check_setup(config, info, shapes)
    replicas = distribution.num_replicas_in_sync
    check(config.data.batch_size % replicas == 0, "data.batch_size", f"must be a multiple of the {replicas} replicas")
    if chief:
        write_resolved_config(config, workdir)
    # Empty val files exist when no image fell into the split (e.g. --val_fraction 0).
    val_files = data.shard_files(config.data.shards, manifest, "val") if manifest.counts.records.val else []
    return Setup(config=config, workdir=workdir, strategy=distribution, strategy_name=strategy_name, chief=chief,
                 policy=policy, manifest=manifest, info=info, shapes=shapes,
                 train_files=data.shard_files(config.data.shards, manifest, "train"), val_files=val_files,
                 style_loss=style_loss)


def check_model_fits_data(info: dict, manifest: ShardManifest) -> None:
    """The shards must be what the architecture expects (channels, scale, mask)."""
    channels = list(manifest.channels)
    check(channels == [info["channels"]], "model.args.channels",
          f"the model restores {info['channels']}-channel images but the shards hold {channels}")
    check(info["scale"] == manifest.scale, "model.args.scale",
          f"the model scales by {info['scale']} but the shards' recipe by {manifest.scale}")
    check(info["takes_mask"] == manifest.has_mask, "model.architecture",
          "inpainting models need inpainting shards, and only they carry masks")


def validation(setup: Setup, state: TrainState):
    """The evaluator over the val shards, or None (with a warning) when there are none."""

    if setup.style_loss is not None:
        log.info("a style is trained without validation scores (PSNR against its content means nothing for it)")
        return None
    if setup.info.get("conditioning") == "noise_level":
        log.info("a generator: no validation scores during training (its samples are judged by bench/)")
        return None
    if not setup.val_files:
        if setup.manifest.val_fraction == 0:  # asked for: say so, but it is no warning
            log.info("the shards were made with --val_fraction 0: training and exporting without validation scores")
        else:
            log.warning("the shards hold no validation records (val split empty): training and exporting without "
                        "validation scores; make shards with a larger --val_fraction to get them")
        return None
    data = setup.config.data
    listed = setup.manifest.counts.records.val
    counted = {"max_records": data.max_val_records, "compression": setup.manifest.tfrecord_compression,
               "expected_records": min(listed, data.max_val_records) if data.max_val_records else listed,
               "manifest": posixpath.join(data.shards, MANIFEST_FILE)}
    if setup.info.get("outputs") == "diagnosis":
        return evaluation.make_diagnosis_evaluator(state.model, setup.val_files, shapes=setup.shapes,
                                                   batch_size=data.val_batch_size, **counted)
    return evaluation.make_evaluator(state.model, setup.val_files, shapes=setup.shapes, channels=setup.info["channels"],
                          takes_mask=setup.info["takes_mask"], batch_size=data.val_batch_size,
                          image_summaries=setup.config.train.image_summaries,
                          takes_noise_level=setup.info.get("takes_noise_level", False), **counted)


def finish(setup: Setup, state: TrainState, history: History, evaluate, writer) -> None:
    """EMA weights into the model (and evaluated); a worker's private checkpoints removed."""

    if setup.config.optimizer.ema_decay:
        state.optimizer.finalize_variable_values(state.model.trainable_variables)
        if evaluate and setup.chief:
            with naming_damaged_shards(setup.val_files, setup.manifest.tfrecord_compression):
                history.evaluations.append(evaluate(writer, history.step, tag="val_ema"))
    if not setup.chief:
        shutil.rmtree(state.checkpoint_dir, ignore_errors=True)  # a private temporary folder


def model_card(setup: Setup, history: History) -> dict:
    """The card's fields beside those export fills in: what the model is, the data and training."""
    config, manifest = setup.config, setup.manifest
    best = history.best
    return {
        **setup.info,
        **generation_entry(setup),
        "task": _task(setup.info, manifest.task),
        **(style_training.card_entries(config) if config.style else {}),  # task: style
        "architecture": {"name": config.model.architecture, "args": dict(config.model.args)},
        "data": {
            "shards": config.data.shards,
            "manifest_sha256": _file_sha256(posixpath.join(config.data.shards, MANIFEST_FILE)),
            "recipe": manifest.recipe,
            "seed": manifest.seed,
            "records": to_plain(manifest.counts.records),
        },
        "training": {
            "steps": history.step,
            "global_batch_size": setup.global_batch,
            "replicas": setup.replicas,
            "strategy": setup.strategy_name,
            "precision": setup.policy or "float32",
            "hardware": hardware_description(),
            "seconds_this_run": round(history.seconds, 1),
            "steps_this_run": history.step - history.started_step,
            "config": to_plain(config),
        },
        "validation": {"final": history.final and history.final.scores(),
                       "best": best and {**best.scores(), "step": best.step}},
    }


def _task(info: dict, recipe_task: str) -> str:
    """A model that is not a restorer says so in its card's task (consumers refuse other kinds)."""
    if info.get("outputs") == "diagnosis":
        return "diagnose"
    return "generate" if info.get("conditioning") == "noise_level" else recipe_task


def generation_entry(setup: Setup) -> dict:
    """A generator's card entry: what its sampler needs (model.diffusion.CARD_KEY)."""
    from model import diffusion

    if setup.config.diffusion.objective != "edm":
        return {}
    size = setup.shapes["clean"][:2]
    return {diffusion.CARD_KEY: diffusion.EDM.from_config(setup.config.diffusion).card_entry(size)}


def _file_sha256(path: str) -> str:
    import tensorflow as tf

    with tf.io.gfile.GFile(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def export(result: TrainResult, workdir: str) -> str:
    """The chief writes the model directory (model.keras, model.json, config.yaml). A rerun
    that trained no further steps keeps the directory it exported before (with its scores)."""
    import tensorflow as tf


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


@user_errors("restoreflow train", FileNotFoundError, failures=(TrainingError,))
def main(argv: list[str]) -> int:
    args = commands.train().parse_args(argv)
    if "://" not in args.workdir and os.path.exists(args.workdir) and not os.path.isdir(args.workdir):
        raise ConfigError(f"--workdir {args.workdir} is a file; give a folder (it is created when missing)")
    setup_logging(args.verbose)
    config = load_config(args.config, args.overrides)
    try:
        model_dir = train(config, args.workdir)
    except KeyboardInterrupt:
        raise Interrupted(interrupted_note(args.workdir)) from None
    print(f"train: model directory {model_dir}")
    return 0


def interrupted_note(workdir: str) -> str:
    """What a Ctrl-C left: the last checkpoint, from which the same command continues."""
    import tensorflow as tf

    latest = tf.train.latest_checkpoint(posixpath.join(workdir.rstrip("/"), "checkpoints"))
    if latest is None:
        return f"interrupted (Ctrl-C) before the first checkpoint; the same command run again starts afresh in {workdir}"
    return (f"interrupted (Ctrl-C): the checkpoint of step {latest.rsplit('-', 1)[1]} ({latest}) is kept; "
            "the same command run again continues from it")


if __name__ == "__main__":
    sys.exit(main())
