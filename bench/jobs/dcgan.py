"""A small DCGAN (Radford et al., ICLR 2016): a baseline of the generator benchmark (issue 25),
trained on the same clean patches for a fixed wall-clock budget.

    python -m bench.jobs.dcgan --shards /work/runs/shards-clean-32 --minutes 20 --output DIR

Generator: z (128) -> dense 4x4x256 -> transposed convs 128, 64 (batch norm, ReLU) -> 3
(tanh), doubling the size each time up to the patch size; discriminator: strided convs 64,
128, 256 (leaky ReLU), a dense logit. Adam 2e-4, beta1 0.5, batch 64, the non-saturating loss:
the paper's settings. Writes DIR/generator.keras and DIR/dcgan.json (steps, seconds, machine).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

LATENT = 128
GENERATOR_FILE = "generator.keras"


def generator(size: int, channels: int):
    import keras

    start = size // 8
    z = keras.Input((LATENT,))
    x = keras.layers.Dense(start * start * 256, use_bias=False)(z)
    x = keras.layers.ReLU()(keras.layers.BatchNormalization()(keras.layers.Reshape((start, start, 256))(x)))
    for filters in (128, 64):
        x = keras.layers.Conv2DTranspose(filters, 4, strides=2, padding="same", use_bias=False)(x)
        x = keras.layers.ReLU()(keras.layers.BatchNormalization()(x))
    out = keras.layers.Conv2DTranspose(channels, 4, strides=2, padding="same", activation="tanh")(x)
    return keras.Model(z, out, name="dcgan_generator")


def discriminator(size: int, channels: int):
    import keras

    image = keras.Input((size, size, channels))
    x = image
    for filters in (64, 128, 256):
        x = keras.layers.LeakyReLU(0.2)(keras.layers.Conv2D(filters, 4, strides=2, padding="same")(x))
    return keras.Model(image, keras.layers.Dense(1)(keras.layers.Flatten()(x)), name="dcgan_discriminator")


def train(patches: np.ndarray, seconds: float, seed: int, *, batch: int = 64) -> tuple[object, int]:
    """Trains on uint8 patches until ``seconds`` of wall clock are spent; (generator, steps)."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    size, channels = patches.shape[1], patches.shape[3]
    g, d = generator(size, channels), discriminator(size, channels)
    g_opt, d_opt = (keras.optimizers.Adam(2e-4, beta_1=0.5) for _ in range(2))
    bce = keras.losses.BinaryCrossentropy(from_logits=True)

    @tf.function
    def step(real, z):
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = g(z, training=True)
            real_logits, fake_logits = d(real, training=True), d(fake, training=True)
            d_loss = bce(tf.ones_like(real_logits), real_logits) + bce(tf.zeros_like(fake_logits), fake_logits)
            g_loss = bce(tf.ones_like(fake_logits), fake_logits)
        d_opt.apply_gradients(zip(d_tape.gradient(d_loss, d.trainable_variables), d.trainable_variables))
        g_opt.apply_gradients(zip(g_tape.gradient(g_loss, g.trainable_variables), g.trainable_variables))
        return d_loss, g_loss

    rng = np.random.default_rng(seed)
    started, steps = time.perf_counter(), 0
    while time.perf_counter() - started < seconds:
        real = patches[rng.integers(len(patches), size=batch)].astype(np.float32) / 127.5 - 1.0
        d_loss, g_loss = step(real, rng.standard_normal((batch, LATENT)).astype(np.float32))
        steps += 1
        if steps % 500 == 0:
            print(f"dcgan step {steps}: d {float(d_loss):.3f} g {float(g_loss):.3f} "
                  f"({time.perf_counter() - started:.0f} s)", flush=True)
    return g, steps


def sample(generator_path: Path, count: int, seed: int) -> np.ndarray:
    """``count`` uint8 samples of a saved generator, from the latents of ``seed``."""
    import keras

    g = keras.saving.load_model(generator_path)
    z = np.random.default_rng(seed).standard_normal((count, LATENT)).astype(np.float32)
    out = np.asarray(g.predict(z, batch_size=256, verbose=0))
    return np.clip(np.rint((out + 1.0) * 127.5), 0, 255).astype(np.uint8)


def main(argv=None) -> None:
    from bench.common import machine
    from bench.jobs.generate_data import training_patches

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shards", required=True, help="The clean patch shards the diffusion model trained on.")
    parser.add_argument("--minutes", type=float, default=20.0, help="Wall-clock training budget.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", required=True)
    args = parser.parse_args(argv)
    patches = training_patches(Path(args.shards))
    g, steps = train(patches, args.minutes * 60, args.seed)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    g.save(out / GENERATOR_FILE)
    (out / "dcgan.json").write_text(json.dumps({"steps": steps, "minutes": args.minutes, "batch": 64,
                                                "patches": len(patches), "shards": args.shards,
                                                "machine": machine()}, indent=1))
    print(f"dcgan: {steps} steps in {args.minutes} min, generator {out / GENERATOR_FILE}")


if __name__ == "__main__":
    main()
