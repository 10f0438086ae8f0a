"""Job 3: restore and score images with a trained model (Beam RunInference).

Per image: decode -> (paired mode: degrade exactly as job 1 does for whole images) -> the
model's channels -> tiles -> RunInference (batches mix tiles of neighbouring images) ->
stitch -> the image's own channels, bit depth, alpha and format -> write -> score.

Output: ``OUT/restored/<image_id>``, ``OUT/crops/``, ``OUT/scores/<run>/*.parquet``,
``OUT/errors/<run>/*.jsonl``, ``OUT/runs/<run>/summary.json``, ``OUT/summary.json``,
``OUT/report.html``.

Modules, in the order an image meets them:

- ``job``: ``run(argv)`` and ``main(argv)``: read inputs | RestoreImages | write scores |
  write errors | summary, under the output's lock (``pipelines.runtime.lock``, shared with job 1);
  then the page (``pipelines.report.build``);
- ``settings``: the flags checked against the model (the one reader of the model card);
- ``transform``: ``RestoreImages``, the composite transform over the steps below;
- ``prepare`` (with ``rerun``: what is already done, ``companions``: masks and references),
  ``tiles`` (cut and stitch), ``inference`` (the model handler), ``write`` (files and rows),
  ``quality`` (scores and crops);
- ``values``: the frozen values an image travels as; ``errors``: error records;
- ``results``: scores table, error files and the run's summary; ``guidance``: advice on the
  inputs in the summary.
"""

from pipelines.restore.job import build_pipeline, exit_status, main, run
from pipelines.restore.settings import Settings, resolve_settings
from pipelines.restore.transform import RestoreImages

__all__ = ["RestoreImages", "Settings", "build_pipeline", "exit_status", "main", "resolve_settings", "run"]
