"""``RestoreImages``: the restore job's work on images, as one composite transform.

    ImageBytes -> Prepare -> Cut tiles -> Restore tiles (RunInference) -> Stitch -> Write and score

It returns the scores rows (``ScoreRow``: restored, and skipped for work already done) and the
error records of the images it could not restore. Its side inputs (the rows of earlier runs,
the --masks and --reference folders) are read from the pipeline it is applied in.
"""

from __future__ import annotations

import apache_beam as beam

from pipelines.restore import errors, prepare, rerun, write
from pipelines.restore.companions import CompanionIndex
from pipelines.restore.inference import AutoModelHandler, TileModelHandler, by_model, by_tile
from pipelines.restore.settings import Settings
from pipelines.restore.tiles import CutTiles, StitchTiles
from restoreflow import scores


class RestoreTiles(beam.PTransform):
    """(TileKey, tile) -> ((TileKey, PredictionResult), failed inferences): RunInference with the
    run's model, or with --model auto Beam's multi-model handler keyed by each tile's model."""

    def __init__(self, settings: Settings):
        super().__init__()
        self._s = settings

    def expand(self, tiles):
        from apache_beam.ml.inference.base import KeyedModelHandler, RunInference

        s = self._s
        engine = {"tf_threads": s.tf_threads, "engine": s.engine, "precision": s.precision, "strength": s.strength,
                  "keep_colors": s.keep_colors}
        if not s.auto:
            fill = (s.fill_steps, s.fill_resample) if s.fills else None
            handler = KeyedModelHandler(TileModelHandler(s.model_dir, batch_size=s.batch_size,
                                                         batch_pixels=s.batch_pixels, fill=fill, **engine))
            inferred, failed = tiles | "Inference" >> RunInference(handler).with_exception_handling()
            return inferred, failed.failed_inferences
        handler = AutoModelHandler(list(s.auto_models), batch_size=s.batch_size, batch_pixels=s.batch_pixels, **engine)
        keyed = tiles | "Key by model" >> beam.Map(by_model)
        inferred, failed = keyed | "Inference" >> RunInference(handler).with_exception_handling()
        return inferred | "Key by tile" >> beam.Map(by_tile), failed.failed_inferences


class RestoreImages(beam.PTransform):
    """ImageBytes -> (ScoreRow per image, error record per rejected image)."""

    def __init__(self, settings: Settings):
        super().__init__()
        self._s = settings

    def expand(self, images):
        s = self._s
        prepared = images | "Prepare" >> beam.ParDo(
            prepare.PrepareImages(s), **self._side_inputs(images.pipeline)
        ).with_exception_handling().with_outputs(prepare.SKIPPED, prepare.UNCHANGED, main="prepared")
        tiles = prepared.prepared | "Cut tiles" >> beam.ParDo(
            CutTiles(tile_size=s.tile_size, overlap=s.overlap, multiple=s.size_multiple, pad=s.scale == 1))
        inferred, failed = tiles | "Restore tiles" >> RestoreTiles(s)
        unchanged = prepared[prepare.UNCHANGED] | "Write unchanged" >> beam.ParDo(
            write.WriteUnchanged(s)).with_exception_handling()
        stitched = inferred | "Stitch" >> beam.ParDo(
            StitchTiles(scale=s.scale, channels=s.model_channels)).with_outputs(errors.ERRORS, main="images")
        written = stitched.images | "Write and score" >> beam.ParDo(write.WriteAndScore(s)).with_exception_handling()
        rows = (written.good, unchanged.good, prepared[prepare.SKIPPED]) | "Rows" >> beam.Flatten()
        rejected = (
            prepared.bad | "Preparing errors" >> errors.Rejections("decode", prepare.FORESEEN),
            failed | "Inference errors" >> beam.FlatMap(errors.inference_failures),
            stitched[errors.ERRORS],
            written.bad | "Writing errors" >> errors.Rejections("write", write.FORESEEN),
            unchanged.bad | "Copying errors" >> errors.Rejections("write", write.FORESEEN),
        ) | "Errors" >> beam.Flatten()
        return rows, rejected

    def _side_inputs(self, pipeline) -> dict:
        s = self._s
        earlier = [] if s.force else scores.files(s.output)
        # A table of a newer restoreflow stops the run here, in one line, rather than on a
        # worker; the newest run is where one would be (a footer read per run would add up).
        scores.check_versions(scores.newest_run(earlier))
        sides = {"done": beam.pvalue.AsDict(pipeline | "Earlier runs" >> rerun.PreviousResults(earlier))}
        for name, folder in (("masks", s.masks), ("references", s.reference)):
            if folder:
                sides[name] = beam.pvalue.AsDict(pipeline | f"List {name}" >> CompanionIndex(folder))
        return sides
