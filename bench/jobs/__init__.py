"""Job-level benchmarks, each ``python -m bench.jobs.NAME`` (its docstring says what it
measures; bench/RESULTS.md keeps the figures):

- ``shards``, ``shard_writer``: job 1, the whole job and its TFRecord writer;
- ``train``: job 2's steps/s, input-bound or not;
- ``restore``, ``memory``, ``precision``: job 3's throughput by engine, peak memory, bf16;
- ``restore_profile``, ``precision_large``: job 3 on large photographs, per stage, and ``--precision auto``;
- ``nightly``, ``rerun_verify``: incremental reruns and what verifying outputs costs them;
- ``quality``: job 3 in paired mode on the standard sets next to published numbers;
- ``signals``: the no-reference signals on clean and degraded images (guidance thresholds);
- ``help``: how long ``restoreflow SUBCOMMAND --help`` takes;
- ``write_costs``: the restore writer's PNG encode per zlib level and the signals' sample;
- ``style``: ``restoreflow stylize`` against Magenta's arbitrary-style networks and Gatys (issue 24);
- ``generate`` (with ``generate_metrics``, ``generate_data``, ``dcgan``), ``generate_fill``: a
  generator's KID against a floor and baselines, memorisation, speed; generated fill vs ``inpaint``.
"""
