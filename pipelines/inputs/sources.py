"""Inputs: folders, globs, gs:// and s3:// prefixes (Beam FileSystems), tar and zip archives.

Every image gets an ``image_id``: its path relative to the input's root, with ``/``
separators; inside an archive, ``archive-path/member-path``. An archive is one input whose
members are images, read by ``pipelines.inputs.archives`` (in memory, never extracted to disk).

Only regular files are read, and links are never followed, in folders and archives alike
(local folders are walked by ``local_files``; buckets hold neither). Every entry a listing
sees ends up read or in ``errors/`` with its reason, and image ids (and the restore job's
output names) are checked for conflicts before anything is read (``outputs``).
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import os
import posixpath
import tarfile
import zipfile

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from pipelines.imaging import images
from pipelines.inputs import archives, local_files, outputs
from pipelines.inputs.archives import is_archive
from pipelines.runtime.errors import ERRORS_TAG, error_record, unexpected

MEMBERS_TAG = "members"
GLOB_CHARS = "*?["


@dataclasses.dataclass(frozen=True)
class InputSpec:
    """One --input as given, resolved to a match pattern and the root image ids hang off."""

    given: str
    pattern: str
    root: str
    exclude: tuple[str, ...] = ()  # folders never listed: the job's --output when it lies inside


@dataclasses.dataclass(frozen=True)
class InputFile:
    path: str
    image_id: str
    size_bytes: int
    input_index: int = 0  # which --input listed it (the first one wins a duplicate image id)


@dataclasses.dataclass(frozen=True)
class ImageBytes:
    image_id: str
    data: bytes
    source: str  # the file (or archive) it was read from


class InputError(ValueError):
    """An --input that does not exist or cannot be listed (stops the job before it starts)."""


class NoFiles(InputError):
    """An --input that names no file (a typo, or an empty folder: see holds_nothing)."""


def _is_local_dir(path: str) -> bool:
    return "://" not in path and os.path.isdir(path)


def resolve(given: str) -> InputSpec:
    """Turns an --input into a pattern to match and the root that image ids are relative to."""
    text = given.rstrip("/") if given not in ("/",) else given
    if any(c in text for c in GLOB_CHARS):
        head = []
        for part in text.split("/"):
            if any(c in part for c in GLOB_CHARS):
                break
            head.append(part)
        if not head and "://" not in text:  # a glob relative to the current folder
            return InputSpec(given, f"./{text}", ".")
        return InputSpec(given, text, "/".join(head))
    if _is_local_dir(text) or given.endswith("/"):
        return InputSpec(given, text + "/**", text)
    if "://" in text and not _object_exists(text):
        # A bucket prefix names no object of its own.
        return InputSpec(given, text + "/**", text)
    return InputSpec(given, text, posixpath.dirname(text) if "://" in text else os.path.dirname(text))


def inside_folder(path: str, folder: str) -> bool:
    return path.startswith(folder.rstrip("/") + "/")


def _object_exists(path: str) -> bool:
    try:
        return FileSystems.exists(path)
    except Exception:  # noqa: BLE001 - a listing failure is reported by the match below
        return False


@dataclasses.dataclass(frozen=True)
class Listing:
    """What an input names: the files to read, and an error record for every other entry
    (links, FIFOs, unreadable folders), so that every entry is accounted for."""

    files: list[InputFile]
    problems: list[dict]
    left_out: list[str] = dataclasses.field(default_factory=list)  # restoreflow output folders met inside


def _entries(spec: InputSpec, limit: int | None = None) -> list[local_files.Entry]:
    """Local inputs are walked by local_files (every entry, links never followed); buckets are
    matched through Beam FileSystems (objects only: no links or special files there)."""
    if "://" not in spec.pattern:
        if not any(c in spec.pattern for c in GLOB_CHARS) and not os.path.isdir(spec.pattern):
            return [local_files.single(spec.pattern)] if os.path.lexists(spec.pattern) else []
        entries = local_files.matching(spec.root, spec.pattern, exclude=spec.exclude)
        return list(itertools.islice((e for e in entries if not (limit and e.left_out)), limit))
    found = FileSystems.match([spec.pattern], limits=[limit] if limit else None)[0].metadata_list
    # A "folder/" placeholder object some tools create is not a file.
    return [local_files.Entry(m.path, m.size_in_bytes) for m in found
            if not m.path.endswith("/") and not any(inside_folder(m.path, folder) for folder in spec.exclude)]


def list_files(spec: InputSpec, input_index: int = 0) -> Listing:
    """All entries an input names (construction-time check, and the runtime listing)."""
    try:
        entries = _entries(spec)
    except Exception as e:  # noqa: BLE001 - OSError locally; BeamIOError, IOError, ... per filesystem
        raise InputError(f"--input {spec.given}: cannot list it ({e})") from None
    if not entries:
        raise NoFiles(f"--input {spec.given}: no files found (pattern {spec.pattern})")
    files, problems, left_out = [], [], []
    for entry in entries:
        relative = entry.path[len(spec.root) :].lstrip("/\\").replace(os.sep, "/")
        image_id = relative or os.path.basename(entry.path)
        if entry.left_out:
            left_out.append(entry.path)
        elif entry.problem:
            problems.append(error_record(source=entry.path, image_id=image_id, stage="list", reason=entry.problem))
        else:
            files.append(InputFile(entry.path, image_id, entry.size_bytes, input_index))
    return Listing(sorted(files, key=lambda f: f.image_id), problems, left_out)


def _listed(index: int, spec: InputSpec) -> Listing:
    """One input's listing; an input that names nothing is one error record, not a failure."""
    try:
        listing = list_files(spec, index)
    except InputError as e:
        return Listing([], [error_record(source=spec.given, image_id=None, stage="list", reason=str(e))])
    for folder in listing.left_out:
        if os.path.realpath(folder) not in spec.exclude:  # the job's own --output was noted at its start
            logging.getLogger("restoreflow").warning(
                "--input %s: left out %s, the output folder of another restoreflow run (it holds %s)",
                spec.given, folder, local_files.OUTPUT_MARK)
    return listing


def list_inputs(specs: list[InputSpec]) -> Listing:
    """Every input listed in this process (a local run's, whose progress line counts them)."""
    listings = [_listed(index, spec) for index, spec in enumerate(specs)]
    return Listing([f for listing in listings for f in listing.files],
                   [problem for listing in listings for problem in listing.problems])


def check_exists(spec: InputSpec) -> None:
    """Fails fast when an input names nothing, without listing a whole bucket."""
    try:
        found = _entries(spec, limit=1)
    except Exception as e:  # noqa: BLE001 - OSError locally; BeamIOError, IOError, ... per filesystem
        raise InputError(f"--input {spec.given}: cannot list it ({e})") from None
    if not found:
        raise NoFiles(f"--input {spec.given}: no files found (pattern {spec.pattern})")


class ListInputFiles(beam.DoFn):
    """(index, InputSpec) -> the InputFiles it names (listed on a worker, so buckets of any size
    work), and an error for every entry that is not read."""

    def process(self, indexed):
        listing = _listed(*indexed)
        yield from listing.files
        for problem in listing.problems:
            yield beam.pvalue.TaggedOutput(ERRORS_TAG, problem)


class ReadInputFiles(beam.DoFn):
    """InputFile -> ImageBytes (plain files and archive members), or errors.

    Files whose extension is neither an image nor an archive are reported as errors so that
    every input is accounted for.
    """

    def __init__(self, max_bytes: int, output_format: str | None = None):
        self._max_bytes = max_bytes
        self._output_format = output_format  # restore: archive members' output names are checked

    def _error(self, source, image_id, reason):
        return beam.pvalue.TaggedOutput(
            ERRORS_TAG, error_record(source=source, image_id=image_id, stage="read", reason=reason)
        )

    def process(self, item: InputFile):
        if is_archive(item.path):
            try:
                for member in archives.read_members(item.path, item.image_id, max_bytes=self._max_bytes,
                                                    output_format=self._output_format):
                    if member.reason is not None:
                        yield self._error(item.path, member.image_id, member.reason)
                    else:  # members leave through their own output, to be spread over the workers
                        yield beam.pvalue.TaggedOutput(MEMBERS_TAG, ImageBytes(member.image_id, member.data, item.path))
            except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError) as e:
                yield self._error(item.path, item.image_id, f"unreadable archive: {e}")
            except Exception as e:  # noqa: BLE001 - see unexpected()
                yield self._error(item.path, item.image_id, unexpected(e, item.image_id))
            return
        extension = posixpath.splitext(item.image_id)[1].lower()
        if extension and extension not in images.IMAGE_EXTENSIONS:
            yield self._error(
                item.path, item.image_id, f"not an image or archive file (extension {extension})"
            )
            return
        if item.size_bytes > self._max_bytes:
            yield self._error(
                item.path,
                item.image_id,
                f"file is {item.size_bytes} bytes, over the limit of {self._max_bytes} (--max_bytes)",
            )
            return
        problem = local_files.unreadable_reason(item.path) if "://" not in item.path else None
        if problem:
            yield self._error(item.path, item.image_id, problem)
            return
        try:
            with FileSystems.open(item.path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
                data = f.read(self._max_bytes + 1)
        except Exception as e:  # noqa: BLE001 - any filesystem's read failure
            yield self._error(item.path, item.image_id, f"cannot read file: {e}")
            return
        yield ImageBytes(item.image_id, data, item.path)


class ReadImages(beam.PTransform):
    """The inputs -> (ImageBytes, errors): listed on a worker (or ``listing``, listed already
    by the launching process), files spread over the workers, archives expanded into their
    members. Applied to the pipeline itself."""

    def __init__(self, specs: list[InputSpec], max_bytes: int, output_format: str | None = None, *,
                 listing: Listing | None = None):
        super().__init__()
        self._specs = specs
        self._listing = listing
        self._max_bytes = max_bytes
        self._output_format = output_format  # restore's --format: output names are checked too

    def expand(self, pipeline):
        files, listing_errors = self._list(pipeline)
        # Grouping by the names files claim finds conflicts (see outputs) before anything is
        # read, and spreads the files over the workers.
        unique = files | "Unique names" >> outputs.UniqueNames(
            output_format_requested=self._output_format, is_archive=is_archive, error_record=error_record,
            errors_tag=ERRORS_TAG)
        read = (
            unique.files
            | "Read files"
            >> beam.ParDo(ReadInputFiles(self._max_bytes, self._output_format)).with_outputs(
                ERRORS_TAG, MEMBERS_TAG, main="images")
        )
        # An archive is read by one worker; its members are spread over all of them.
        members = read[MEMBERS_TAG] | "Spread archive members" >> beam.Reshuffle()
        images = (read.images, members) | "Files and members" >> beam.Flatten()
        errors = (listing_errors, unique[ERRORS_TAG], read[ERRORS_TAG]) | "Input errors" >> beam.Flatten()
        return images, errors

    def _list(self, pipeline):
        if self._listing is not None:  # no reshuffle: "Unique names" groups, which spreads the files already
            return (pipeline | "Listed files" >> beam.Create(self._listing.files, reshuffle=False),
                    pipeline | "Listing errors" >> beam.Create(self._listing.problems))
        listed = (
            pipeline
            | "Inputs" >> beam.Create(list(enumerate(self._specs)))
            | "List files" >> beam.ParDo(ListInputFiles()).with_outputs(ERRORS_TAG, main="files")
        )
        return listed.files, listed[ERRORS_TAG]
