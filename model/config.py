"""Job 2's configuration: a YAML file loaded into frozen dataclasses (unknown keys and wrong
types are errors naming the key), ``--set key=value`` overrides, and the resolved copy every
workdir keeps (``workdir/config.yaml``), against which a rerun is checked before it resumes.
"""

from __future__ import annotations

import dataclasses
import posixpath
from typing import Any, Literal

import yaml

from restoreflow.configs import ConfigError, apply_overrides, check, from_mapping, parse_yaml, to_plain


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
class StyleConfig:
    """Training a style (``model.style_training``): image: the style image (local or gs://);
    the loss weights of content, style and total variation (each term relative, see
    ``model.style_features``); size: the style image's longer side, in pixels, when its
    statistics are taken (0 = as it is; the scale of its brush strokes against the patches');
    feature_network: random (seeded random-weight convolutions: feature_seed, feature_widths)
    or encoder (the first levels of the trained U-Net restorer ``encoder_model``, a bundled
    name or a model directory; ``model.style_encoder``); content_level: the level whose
    features the content term compares; source: where the style image comes from and its
    licence, in words, copied into the model card (a bundled style must say)."""

    image: str
    content_weight: float = 1.0
    style_weight: float = 5.0
    tv_weight: float = 1.0
    size: int = 256
    feature_seed: int = 0
    feature_widths: tuple[int, ...] = (32, 64, 128, 256)
    content_level: int = 2
    feature_network: Literal["random", "encoder"] = "random"
    encoder_model: str = "restore"
    source: str = ""

    def levels(self) -> int:
        """How many levels the feature network has."""
        from model.style_encoder import ENCODER_LAYERS  # TensorFlow-free

        return len(self.feature_widths) if self.feature_network == "random" else len(ENCODER_LAYERS)

    def __post_init__(self):
        check(bool(self.image.strip()), "style.image", "name the style image (a file, local or gs://)")
        for key in ("content_weight", "style_weight", "tv_weight"):
            check(getattr(self, key) >= 0, f"style.{key}", "must be >= 0")
        check(self.size >= 0, "style.size", "must be >= 0 (0 = the image as it is)")
        check(bool(self.feature_widths) and min(self.feature_widths) >= 1, "style.feature_widths",
              "must list at least one width, each >= 1")
        check(0 <= self.content_level < self.levels(), "style.content_level",
              f"must lie within [0, {self.levels() - 1}] (a level of the {self.feature_network} feature network)")


@dataclasses.dataclass(frozen=True)
class DiffusionConfig:
    """objective: none (a restorer: train.loss between its output and the clean patch) or edm
    (a generator: the denoising objective of Karras et al. 2022, ``model.diffusion``; needs a
    noise-conditional architecture and shards of the ``clean`` recipe). sigma_*: noise levels
    on the [-1, 1] pixel scale; training draws ln(sigma) ~ N(p_mean, p_std^2), sampling runs
    from sigma_max down to sigma_min."""

    objective: Literal["none", "edm"] = "none"
    sigma_data: float = 0.5
    sigma_min: float = 0.002
    sigma_max: float = 80.0
    p_mean: float = -1.2
    p_std: float = 1.2

    def __post_init__(self):
        check(self.sigma_data > 0, "diffusion.sigma_data", "must be > 0")
        check(0 < self.sigma_min < self.sigma_max, "diffusion.sigma_min", "must lie within (0, sigma_max)")
        check(self.p_std > 0, "diffusion.p_std", "must be > 0")


@dataclasses.dataclass(frozen=True)
class Config:
    data: DataConfig
    model: ModelConfig = ModelConfig()
    optimizer: OptimizerConfig = OptimizerConfig()
    train: TrainConfig = TrainConfig()
    style: StyleConfig | None = None  # set: the model learns this style (task style), not restoration
    diffusion: DiffusionConfig = DiffusionConfig()


def load_config(path: str | None, overrides: list[str] = (), base: dict | None = None) -> Config:
    """YAML file (or ``base`` dict) + ``--set key=value`` overrides -> a checked Config."""
    data = dict(base or {})
    if path:
        try:
            with open(path, "rb") as f:  # bytes: parse_yaml names a file that is not UTF-8
                text = f.read()
        except OSError as e:
            raise ConfigError(f"--config {path}: cannot read it ({e.strerror})") from None
        data = parse_yaml(text, f"--config {path}") or {}
    return from_mapping(Config, apply_overrides(data, list(overrides)))


def write_resolved_config(config: Config, workdir: str) -> None:
    """Writes workdir/config.yaml; a rerun in the same workdir must use the same settings
    (only train.steps may change, to extend a run; with a cosine schedule the learning rate
    then follows the new length from the step it resumes at)."""
    import tensorflow as tf

    tf.io.gfile.makedirs(workdir)
    path = posixpath.join(workdir, "config.yaml")
    resolved = to_plain(config)
    if tf.io.gfile.exists(path):
        with tf.io.gfile.GFile(path) as f:
            previous = parse_yaml(f.read(), path)
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
