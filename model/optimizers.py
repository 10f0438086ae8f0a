"""The optimizer of job 2: Adam or AdamW with a constant, step or cosine learning-rate schedule
(with linear warm-up), global gradient clipping and EMA of the weights, from ``OptimizerConfig``.
"""

from __future__ import annotations

from model.config import OptimizerConfig


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
