"""Everything Apache Beam: the shards job (job 1) and the restore job (job 3)."""

import logging

from restoreflow import console, quiet_tf

# Local worker processes import this package before any model code: TensorFlow's C++
# start-up lines stay out of their output too (see quiet_tf).
quiet_tf.install()
# Beam's expected messages, also when a library user logs without restoreflow.console.
logging.getLogger().addFilter(console.DropExpectedNoise())
