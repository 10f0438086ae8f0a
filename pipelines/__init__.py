"""Everything Apache Beam: the shards job (job 1), the restore job (job 3) and its report.

Packages, in the order data flows through them (each has its modules listed in its own
docstring):

- ``runtime``: the jobs' flags and PipelineOptions, the progress line, error records;
- ``inputs``: listing and reading folders, globs, buckets and archives; output names;
- ``imaging``: image files <-> arrays (bit depth, alpha, 16-bit colour, channels);
- ``degrade``: the degradation steps and recipes (``recipes``: the built-in ones as YAML);
- ``shards``: job 1 (``python -m pipelines.shards``): patch pairs -> TFRecord shards;
- ``quality``: full-reference scores and no-reference signals, in NumPy;
- ``diagnose``: ``restoreflow diagnose``, the damage of each image (the triage of an archive);
  job 3's ``--model auto`` routes each image by it;
- ``restore``: job 3 (``python -m pipelines.restore``): restore, write and score images;
- ``report``: the run summaries and ``report.html``, built from a restore output's files;
- ``nightly``: incremental restore + report for schedulers; ``demo``: the three jobs end to end.

Why some imports sit inside functions: ``restoreflow``'s docstring.
"""

import logging

from restoreflow import console, quiet_tf

# Local worker processes import this package before any model code: TensorFlow's C++
# start-up lines stay out of their output too (see quiet_tf).
quiet_tf.install()
# Beam's expected messages, also when a library user logs without restoreflow.console.
logging.getLogger().addFilter(console.DropExpectedNoise())
