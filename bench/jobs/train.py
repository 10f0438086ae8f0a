"""Job 2 throughput: training steps/s reading the shards vs the same batches from memory
(how input-bound the trainer is), and patches/s of the DnCNN default on this CPU.

    python -m bench.jobs.train [--steps 20] [--batch 128]

Shards: train400 with the sigma 25 recipe, 40 px patches (made here unless --shards is given).
The step is the trainer's: DnCNN-17x64 with batch norm, Adam, MSE, one device.
"""

from __future__ import annotations

import argparse
import tempfile
import time

from bench.common import machine, median, shared_path


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--shards", default=None)
    args = parser.parse_args()

    import keras
    import tensorflow as tf

    from model import architectures, data, losses
    from pipelines.shards import job as make_shards

    shards = args.shards
    if shards is None:
        shards = tempfile.mkdtemp(prefix="bench-train-") + "/s25"
        make_shards.run([f"--input={shared_path('data', 'train400')}", f"--output={shards}",
                         "--recipe=denoise-gray-s25", "--direct_running_mode=multi_processing",
                         "--direct_num_workers=2"])
    manifest = data.read_manifest(shards)
    dataset = data.training_dataset(
        data.shard_files(shards, manifest, "train"), shapes=data.example_shapes(manifest), takes_mask=False,
        batch_size=args.batch, shuffle_buffer=8192, augment_flips=True, seed=0,
        compression=manifest.tfrecord_compression,
    )
    keras.utils.set_random_seed(0)
    model = architectures.build("dncnn", {"channels": 1, "depth": 17, "width": 64, "batch_norm": True})
    optimizer = keras.optimizers.Adam(1e-3)
    optimizer.build(model.trainable_variables)
    loss_fn = losses.build_loss({"mse": 1.0})

    @tf.function
    def step(batch):
        inputs, clean, _ = batch
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(loss_fn(clean, model(inputs, training=True)))
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        return loss

    stream = iter(dataset)
    in_memory = [next(stream) for _ in range(args.steps)]  # the same kind of batches, already decoded
    for batch in in_memory[:2]:
        step(batch)  # trace and warm up

    def from_shards():
        start = time.perf_counter()
        for _ in range(args.steps):
            step(next(stream)).numpy()
        return time.perf_counter() - start

    def from_memory():
        start = time.perf_counter()
        for batch in in_memory:
            step(batch).numpy()
        return time.perf_counter() - start

    shard_times, memory_times = [], []
    for i in range(args.repeats):
        shard_times.append(from_shards())
        memory_times.append(from_memory())
        print(f"  run {i}: shards {shard_times[-1]:.1f} s, memory {memory_times[-1]:.1f} s for {args.steps} steps")
    shard_rate, memory_rate = args.steps / median(shard_times), args.steps / median(memory_times)
    print(f"machine: {machine()}")
    print(f"model: dncnn 17x64 with batch norm ({model.count_params():,} parameters), batch {args.batch} of 40x40")
    print()
    print("| input | steps/s | patches/s |")
    print("|---|---|---|")
    print(f"| TFRecord shards (tf.data) | {shard_rate:.3f} | {shard_rate * args.batch:.1f} |")
    print(f"| the same batches in memory | {memory_rate:.3f} | {memory_rate * args.batch:.1f} |")
    print(f"| **shards / memory** | **{shard_rate / memory_rate:.3f}** | |")


if __name__ == "__main__":
    main()
