"""Job 2's training loop, in named steps: the state (model, optimizer, step counter,
checkpoints), the distributed train step, the batches from where a run resumes, and the loop
that trains, logs, checkpoints and evaluates, returning its ``History``.

A custom loop (``strategy.run`` inside a ``tf.function``) serves one device, MirroredStrategy
and MultiWorkerMirroredStrategy alike (Keras 3 ``fit`` fails under the latter,
keras-team/keras#20585). Checkpoints are step-level: a killed run resumes at the step it
reached, with the optimizer state and the exact data position (the data order is a pure
function of the seed, so the records already consumed are skipped).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import posixpath
import tempfile
import time

from model import optimizers
from model.config import Config
from model.evaluation import Evaluation, Evaluator, TrainingError
from model.warm_start import warm_start
from restoreflow.manifest import ShardManifest

log = logging.getLogger("restoreflow.train")


@dataclasses.dataclass(frozen=True)
class Setup:
    """What a run was resolved to before anything trains."""

    config: Config
    workdir: str
    strategy: object  # a tf.distribute.Strategy
    strategy_name: str  # default, mirrored or multi_worker
    chief: bool
    policy: str | None  # the mixed-precision policy, or None for float32
    manifest: ShardManifest
    info: dict  # model.architectures.describe: channels, scale, takes_mask, ...
    shapes: dict  # static shapes of a decoded example
    train_files: list[str]
    val_files: list[str]  # empty when the shards hold no validation records
    style_loss: object = None  # a model.style_features.StyleLoss when the config trains a style

    @property
    def global_batch(self) -> int:
        return self.config.data.batch_size

    @property
    def replicas(self) -> int:
        return self.strategy.num_replicas_in_sync


@dataclasses.dataclass(frozen=True)
class TrainState:
    model: object  # keras.Model
    optimizer: object
    step: object  # tf.Variable: steps trained, saved with the checkpoints
    manager: object  # tf.train.CheckpointManager
    checkpoint_dir: str  # the chief's shared folder, or a worker's private temporary one


@dataclasses.dataclass
class History:
    """What a run did: the loss of every step it trained and every evaluation."""

    started_step: int  # 0, or the step it resumed from
    losses: list[tuple[int, float]] = dataclasses.field(default_factory=list)  # (step, loss)
    evaluations: list[Evaluation] = dataclasses.field(default_factory=list)
    seconds: float = 0.0  # wall time of the loop

    @property
    def step(self) -> int:
        return self.losses[-1][0] if self.losses else self.started_step

    @property
    def final(self) -> Evaluation | None:
        return self.evaluations[-1] if self.evaluations else None

    @property
    def best(self) -> Evaluation | None:
        during = [e for e in self.evaluations if e.tag == "val"]
        return max(during, key=lambda e: e.rank) if during else None  # the first of equals, as it was found


def build_state(setup: Setup) -> TrainState:
    """The model and optimizer under the strategy, resumed from the chief's last checkpoint,
    else started from ``model.init_from`` when given."""
    import keras
    import tensorflow as tf

    from model import architectures

    config = setup.config
    keras.utils.set_random_seed(config.train.seed)
    with setup.strategy.scope():
        model = architectures.build(config.model.architecture, config.model.args)
        optimizer = optimizers.make_optimizer(config.optimizer, config.train.steps,
                                              loss_scale=setup.policy == "mixed_float16")
        optimizer.build(model.trainable_variables)  # slots must exist before the tf.function
        step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, step=step)
    # Every worker resumes from the chief's checkpoints (the workdir is shared: a bucket or a
    # network folder); only the chief's saves land there, the others save to a private
    # temporary folder, as MultiWorkerMirroredStrategy needs every worker to save.
    shared_dir = posixpath.join(setup.workdir, "checkpoints")
    checkpoint_dir = shared_dir if setup.chief else tempfile.mkdtemp(prefix="restoreflow-worker-")
    manager = tf.train.CheckpointManager(checkpoint, checkpoint_dir, max_to_keep=config.train.keep_checkpoints)
    latest = tf.train.latest_checkpoint(shared_dir)
    if latest:
        checkpoint.restore(latest).assert_existing_objects_matched()
        log.info("resumed from %s at step %d", latest, int(step.numpy()))
    elif config.model.init_from:

        warm_start(model, config.model.init_from)
    if int(step.numpy()) >= config.train.steps:
        log.info("already trained for %d steps", int(step.numpy()))
    return TrainState(model=model, optimizer=optimizer, step=step, manager=manager, checkpoint_dir=checkpoint_dir)


def training_batches(setup: Setup, start_step: int):
    """The distributed iterator of training batches, from the position step ``start_step`` reached."""
    from model import data

    config = setup.config

    def dataset_fn(context):
        per_replica = context.get_per_replica_batch_size(setup.global_batch)
        per_pipeline = per_replica * context.num_replicas_in_sync // context.num_input_pipelines
        return data.training_dataset(
            setup.train_files, shapes=setup.shapes, takes_mask=setup.info["takes_mask"], batch_size=per_replica,
            shuffle_buffer=config.data.shuffle_buffer, augment_flips=config.data.augment, seed=config.train.seed,
            compression=setup.manifest.tfrecord_compression, input_context=context,
            start_record=start_step * per_pipeline, target=setup.info.get("outputs", "clean"),
            takes_noise_level=setup.info.get("takes_noise_level", False),
        )

    return iter(setup.strategy.distribute_datasets_from_function(dataset_fn))


def make_train_step(setup: Setup, state: TrainState):
    """``train_step(batches) -> loss``: one optimizer step on every replica, summed loss."""
    import tensorflow as tf

    from model import diffusion, losses

    config, model, optimizer = setup.config, state.model, state.optimizer
    if setup.style_loss is not None:  # a style: content, style and total-variation terms
        loss_fn = setup.style_loss
    elif setup.info.get("outputs") == "diagnosis":  # a damage estimator: targets from the records
        from model.diagnosis_net import diagnosis_loss as loss_fn
    else:
        loss_fn = losses.build_loss(config.train.loss, masked_weight=config.train.masked_weight)
    takes_mask, scales_loss = setup.info["takes_mask"], setup.policy == "mixed_float16"
    edm = diffusion.EDM.from_config(config.diffusion) if config.diffusion.objective == "edm" else None

    def per_example_loss(inputs, clean, mask):
        if edm:  # a generator: learns to denoise the clean patches at noise levels drawn here
            return diffusion.training_loss(model, clean, diffusion.step_seed(config.train.seed, state.step), edm)
        restored = tf.cast(model(inputs, training=True), tf.float32)
        return loss_fn(clean, restored, mask if takes_mask else None)

    def replica_step(batch):
        inputs, clean, mask = batch
        with tf.GradientTape() as tape:
            per_example = per_example_loss(inputs, clean, mask)
            loss = tf.nn.compute_average_loss(per_example, global_batch_size=setup.global_batch)
            if model.losses:
                loss += tf.nn.scale_regularization_loss(tf.add_n(model.losses))
            scaled = optimizer.scale_loss(loss) if scales_loss else loss
        gradients = tape.gradient(scaled, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        return loss

    @tf.function
    def train_step(batches):
        loss = setup.strategy.reduce("SUM", setup.strategy.run(replica_step, args=(next(batches),)), axis=None)
        state.step.assign_add(1)
        return loss

    return train_step


def run_steps(setup: Setup, state: TrainState, train_step, batches, evaluate: Evaluator | None, writer) -> History:
    """Trains up to ``train.steps``: logs, checkpoints (before evaluating: a failing evaluation
    never costs the steps trained) and evaluates on the chief."""
    train = setup.config.train
    history = History(started_step=int(state.step.numpy()))
    progress = ProgressLog(train.steps, setup.global_batch, writer, history.started_step)
    started, step = time.time(), history.started_step
    while step < train.steps:
        with naming_damaged_shards(setup.train_files, setup.manifest.tfrecord_compression):
            loss = float(train_step(batches))
        step = int(state.step.numpy())
        if not math.isfinite(loss):
            last = state.manager.latest_checkpoint or "none (nothing was saved yet)"
            raise TrainingError(
                f"loss became {loss} at step {step}; stopped without saving. Last good "
                f"checkpoint: {last}. Lower optimizer.learning_rate or set optimizer.clip_norm."
            )
        history.losses.append((step, loss))
        done = step >= train.steps
        progress.after_step(step, loss, state.optimizer, done=done, log_every=train.log_every)
        if step % train.checkpoint_every == 0 or done:
            state.manager.save(checkpoint_number=step)
        if evaluate and setup.chief and (step % train.eval_every == 0 or done):
            with naming_damaged_shards(setup.val_files, setup.manifest.tfrecord_compression):
                history.evaluations.append(evaluate(writer, step))
    history.seconds = time.time() - started
    return history


class ProgressLog:
    """The first step at once (its time includes tracing the graph), then every ``log_every``
    steps: loss, learning rate, patches/s and ETA, also as TensorBoard scalars."""

    def __init__(self, total: int, global_batch: int, writer, started_step: int):
        self._total, self._batch, self._writer = total, global_batch, writer
        self._started, self._started_step = time.time(), started_step
        self._window = (self._started, started_step)

    def after_step(self, step: int, loss: float, optimizer, *, done: bool, log_every: int) -> None:
        if step == self._started_step + 1 and not done:
            log.info("step %d/%d  loss %.3e  (first step, graph tracing included: %.1f s)",
                     step, self._total, loss, time.time() - self._started)
            self._window = (time.time(), step)
        elif step % log_every == 0 or done:
            self._log(step, loss, optimizer)

    def _log(self, step: int, loss: float, optimizer) -> None:
        import keras
        import tensorflow as tf

        now = time.time()
        window_start, window_step = self._window
        rate = (step - window_step) * self._batch / max(now - window_start, 1e-9)
        learning_rate = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
        eta = time.strftime("%H:%M:%S", time.gmtime((self._total - step) * self._batch / max(rate, 1e-9)))
        log.info("step %d/%d  loss %.3e  lr %.2e  %.1f patches/s  eta %s",
                 step, self._total, loss, learning_rate, rate, eta)
        with self._writer.as_default(step=step):
            tf.summary.scalar("train/loss", loss)
            tf.summary.scalar("train/learning_rate", learning_rate)
            tf.summary.scalar("train/patches_per_second", rate)
        self._window = (now, step)


@contextlib.contextmanager
def naming_damaged_shards(files, compression: str):
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
