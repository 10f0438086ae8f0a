"""Benchmarks that print figures and record them in bench/RESULTS.md:

- ``zoo/``: the model zoo's benchmark (``python -m bench.zoo``), its sections as modules;
- ``jobs/``: job-level benchmarks (``python -m bench.jobs.NAME``);
- ``common``: what they share (data, machine, timing, the restore job run as users run it,
  published numbers); depends on no benchmark.

Scripts that are not benchmarks are in ``tools/``.
"""
