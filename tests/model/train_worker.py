"""Runs ``train()`` in a subprocess for the distribution tests, then saves the final weights.

    python -m tests.model.train_worker CONFIG.yaml WORKDIR WEIGHTS.npz [--logical-cpus N]

Logical CPU devices must be configured before TensorFlow initialises, hence a fresh process.
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("config")
    parser.add_argument("workdir")
    parser.add_argument("weights")
    parser.add_argument("--logical-cpus", type=int, default=0)
    args = parser.parse_args(argv)

    import numpy as np
    import tensorflow as tf

    if args.logical_cpus:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * args.logical_cpus)

    from model import train
    from model.config import load_config
    from restoreflow.console import setup_logging

    setup_logging()
    result = train.train_model(load_config(args.config), args.workdir)
    np.savez(args.weights, *result.model.get_weights())
    train.export(result, args.workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
