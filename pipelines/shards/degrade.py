"""``DegradeToRecords``: image bytes -> seeded (clean, degraded[, mask]) patch pairs as
serialized TFRecord examples, an index line per image and an error record per rejected one.

The records of an image go out as one element (a list), so Beam's per-element cost is paid
per image rather than per patch; they are spread over ``groups`` writer tags per split
(``train-0``, ``val-1``, ...) by patch index, so each worker writes several files.
"""

from __future__ import annotations

import hashlib

import apache_beam as beam
from apache_beam.metrics import Metrics

from pipelines.degrade import pairs, recipe as recipes
from pipelines.imaging import images
from pipelines.inputs import sources
from pipelines.runtime import errors
from restoreflow import records
from restoreflow.manifest import SPLITS

ERRORS = errors.ERRORS_TAG
INDEX = "index"
FORESEEN = (images.ImageError, pairs.TooSmall)  # their messages are the reasons as they stand


def writer_tag(split: str, group: int) -> str:
    return f"{split}-{group}"


def writer_tags(groups: int) -> list[str]:
    return [writer_tag(split, group) for split in SPLITS for group in range(groups)]


class MakeRecords(beam.DoFn):
    """ImageBytes -> a list of serialized records per writer tag; an index line; errors."""

    def __init__(self, *, recipe: recipes.Recipe, settings: pairs.PatchSettings, seed: int, max_pixels: int,
                 val_fraction: float, groups: int):
        self._recipe = recipe
        self._settings = settings
        self._seed = seed
        self._max_pixels = max_pixels
        self._val_fraction = val_fraction
        self._groups = groups
        self._images = Metrics.counter("shards", "images")
        self._records = Metrics.counter("shards", "records")

    def process(self, item: sources.ImageBytes):
        # A bad image raises here, before anything is yielded; DegradeToRecords turns the
        # dead letter into its error record (pipelines.runtime.errors).
        decoded = images.decode(item.data, max_pixels=self._max_pixels)
        clean = pairs.prepare_clean(decoded.pixels, self._recipe)
        made = list(pairs.make_pairs(clean, recipe=self._recipe, settings=self._settings, seed=self._seed,
                                     image_id=item.image_id))
        batches = self._serialize(made, item.image_id)
        split = "val" if pairs.is_validation(item.image_id, self._val_fraction) else "train"
        for group, batch in enumerate(batches):
            if batch:
                yield beam.pvalue.TaggedOutput(writer_tag(split, group), batch)
        self._images.inc()
        self._records.inc(len(made))
        yield beam.pvalue.TaggedOutput(INDEX, index_line(item, decoded, clean, made, split))

    def _serialize(self, made: list[pairs.Pair], image_id: str) -> list[list[bytes]]:
        """The records of one image, spread over the writer groups by patch index."""
        batches = [[] for _ in range(self._groups)]
        for pair in made:
            batches[pair.patch_index % self._groups].append(records.make_example(
                clean=pair.clean, degraded=pair.degraded, mask=pair.mask, image_id=image_id,
                patch_index=pair.patch_index, degradation=pair.degradation,
            ))
        return batches


def index_line(item: sources.ImageBytes, decoded: images.DecodedImage, clean, made: list[pairs.Pair],
               split: str) -> dict:
    """What ``index/*.jsonl`` says of one image."""
    return {
        "image_id": item.image_id,
        "content_sha256": hashlib.sha256(item.data).hexdigest(),
        "width": decoded.width,
        "height": decoded.height,
        "source_mode": decoded.source_mode,
        "channels": int(clean.shape[-1]),
        "clean_dtype": clean.dtype.name,
        "degraded_dtype": made[0].degraded.dtype.name,
        "split": split,
        "records": len(made),
    }


class DegradeToRecords(beam.PTransform):
    """PCollection of ``sources.ImageBytes`` -> a dict of PCollections: ``index`` (one line per
    image), ``errors`` (one record per rejected image) and, per writer tag (``writer_tags``),
    lists of serialized records."""

    def __init__(self, *, recipe: recipes.Recipe, settings: pairs.PatchSettings, seed: int, max_pixels: int,
                 val_fraction: float, groups: int = 1):
        super().__init__()
        self._make = MakeRecords(recipe=recipe, settings=settings, seed=seed, max_pixels=max_pixels,
                                 val_fraction=val_fraction, groups=groups)
        self._tags = writer_tags(groups)

    def expand(self, images_in):
        # Every output is tagged; declaring their types keeps Beam from warning that the tags
        # asked of with_outputs() are missing from with_exception_handling()'s type hints.
        make = beam.ParDo(self._make).with_output_types(
            beam.typehints.Any, **{INDEX: dict}, **dict.fromkeys(self._tags, list[bytes]))
        made = images_in | "Make records" >> make.with_exception_handling().with_outputs(INDEX, *self._tags)
        rejected = made.bad | "Errors" >> errors.Rejections("decode", FORESEEN)
        return {INDEX: made[INDEX], ERRORS: rejected, **{tag: made[tag] for tag in self._tags}}
