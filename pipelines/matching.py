"""Companion files of inputs (``--reference`` clean images, ``--masks`` inpainting masks), matched
the one way: by relative path and file stem.

``photos/a/b.jpg`` (image id ``a/b.jpg`` under ``--input photos``) matches ``DIR/a/b.<any image
extension>``; an archive member ``box.zip/scans/c.png`` matches ``DIR/box.zip/scans/c.*`` (an
archive counts as a folder of its own name). The folder is listed once, on a worker, into a side
input ``{stem key: [paths]}``, so a bucket of any size is matched without a request per image.
Several files with one stem (``b.png`` and ``b.tif``) are ambiguous: the caller reports that.
"""

from __future__ import annotations

import posixpath

import apache_beam as beam

from pipelines import images, sources


def stem_key(relative_path: str) -> str:
    """``a/b.jpg`` -> ``a/b``: what an input and its companion have in common."""
    return posixpath.splitext(relative_path)[0]


def list_companions(folder: str):
    """(stem key, path) for every image file under ``folder``."""
    listing = sources.list_files(sources.resolve(folder))
    for item in listing.files:
        if posixpath.splitext(item.image_id)[1].lower() in images.IMAGE_EXTENSIONS:
            yield stem_key(item.image_id), item.path


class CompanionIndex(beam.PTransform):
    """The pipeline -> (stem key, sorted paths) for every image under ``folder``; use it as
    ``beam.pvalue.AsDict``."""

    def __init__(self, folder: str):
        super().__init__()
        self._folder = folder

    def expand(self, pipeline):
        return (
            pipeline
            | "Folder" >> beam.Create([self._folder])
            | "List it" >> beam.FlatMap(list_companions)
            | "By stem" >> beam.GroupByKey()
            | "Sorted" >> beam.MapTuple(lambda key, paths: (key, sorted(paths)))
        )


def find(index: dict, image_id: str, *, what: str, folder: str) -> tuple[str | None, str | None]:
    """(path, None) for the one companion of ``image_id``, or (None, why there is none)."""
    paths = index.get(stem_key(image_id), [])
    if len(paths) == 1:
        return paths[0], None
    if paths:
        return None, f"several {what}s match it ({', '.join(paths)}); keep one"
    return None, (f"no {what} for it in {folder} (matched by relative path and file stem: "
                  f"{image_id} <-> {posixpath.join(folder, stem_key(image_id))}.png or another image extension)")
