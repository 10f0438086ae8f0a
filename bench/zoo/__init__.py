"""The model zoo's benchmark (``python -m bench.zoo``): issue 9's targets, each bundled model
next to its baselines, measured through the restore job.

Modules, in the order a run uses them:

- ``benchmark``: the command line and the sections it runs;
- ``runs``: what the sections share: models, benchmark sets, cached restore-job and baseline
  runs, tables and verdicts;
- ``baselines``: classical baselines on exactly the degraded images the job sees;
- ``sections``: denoising (with the published-weights parity check), JPEG, super-resolution;
- ``repair``: deblurring, inpainting and the blind default model;
- ``speed``: every model's megapixels per second through the restore job;
- ``cards``: what was measured, written into the model cards (``--write-cards``).
"""
