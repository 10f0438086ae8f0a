"""restoreflow: batch image restoration with CNNs (Beam + Keras).

Three layers, each importing only those below it (tests/test_layering.py draws the graph):

- ``restoreflow``: the TensorFlow- and Beam-free core: the contracts between the jobs
  (TFRecord spec, shard manifest, model card, scores schema), strict config loading, the CLI;
- ``model``: everything TensorFlow/Keras (job 2, the engines); never imports Beam;
- ``pipelines``: everything Beam (jobs 1 and 3, the report); may import ``model``.

Imports sit at the top of their module, with one measured exception: the modules that import
TensorFlow or Keras at their top (``model.layers``, ``architectures``, ``data``, ``losses``,
``metrics``) are imported inside the functions that need them, so that a worker, a ``--help``
or a config check loads TensorFlow only when it runs a model (several seconds; a NumPy-only
import takes milliseconds). tests/test_light_imports.py lists the modules this keeps light.
``restoreflow.cli`` names each subcommand's module (and the Beam jobs' flags module, for
``--help``) as a string and imports only the one that runs.
"""
