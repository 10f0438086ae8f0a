"""Job 1: clean images -> seeded degradations -> patch pairs -> sharded TFRecords + manifest.

Modules, in the order an image meets them:

- ``job``: ``run(argv)`` and ``main(argv)``: read inputs | DegradeToRecords | write shards |
  write index and errors | manifest (``python -m pipelines.shards``);
- ``plan``: the flags, recipe and inputs resolved and checked before anything runs;
- ``degrade``: ``DegradeToRecords``, image bytes -> serialized patch-pair records per writer,
  an index line per image, errors;
- ``write``: ``WriteShards`` (the TFRecord files of each split) and ``WriteJsonLines``;
- ``summary``: ``WriteManifest``, the counts and digest of the index -> ``manifest.json``.
"""

from pipelines.shards.job import build_pipeline, main, run

__all__ = ["build_pipeline", "main", "run"]
