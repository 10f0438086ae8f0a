"""Job 1's composite transforms and plan; the job itself (``run``, ``main``) is
``pipelines.make_shards``.

- ``plan``: the flags, recipe and inputs resolved and checked before anything runs.
- ``degrade``: ``DegradeToRecords``, image bytes -> serialized patch-pair records per writer,
  an index line per image, errors.
- ``write``: ``WriteShards`` (the TFRecord files of each split) and ``WriteJsonLines``.
- ``summary``: ``WriteManifest``, the counts and digest of the index -> ``manifest.json``.
"""
