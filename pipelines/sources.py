"""Inputs: folders, globs, gs:// and s3:// prefixes (Beam FileSystems), tar and zip archives.

Every image gets an ``image_id``: its path relative to the input's root, with ``/``
separators; inside an archive, ``archive-path/member-path``. An archive is one input whose
members are images. Members are read into memory only (never extracted to disk), and only
regular files whose normalised path stays inside the archive are accepted: absolute paths,
``..`` components, links and device files go to errors, as do members over the byte limit
(checked against the size the archive claims before anything is decompressed, and again
while reading).

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
import stat
import tarfile
import zipfile
from collections.abc import Iterator

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from pipelines import images, local_files, outputs

ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".zip")
ERRORS_TAG = "errors"
MEMBERS_TAG = "members"
_GLOB_CHARS = "*?["


@dataclasses.dataclass(frozen=True)
class InputSpec:
    """One --input as given, resolved to a match pattern and the root image ids hang off."""

    given: str
    pattern: str
    root: str


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


def is_archive(path: str) -> bool:
    return path.lower().endswith(ARCHIVE_SUFFIXES)


def error_record(*, source: str, image_id: str | None, stage: str, reason: str) -> dict:
    """The one shape of an errors/*.jsonl line."""
    return {"source": source, "image_id": image_id, "stage": stage, "reason": reason}


def unexpected(error: Exception, image_id: str | None) -> str:
    """The reason recorded for a failure nobody foresaw: one image must never stop a job, so
    it goes to errors/ (with the traceback in the worker log) and the run goes on."""
    logging.getLogger("restoreflow").exception("unexpected failure on %s", image_id)
    return f"unexpected {type(error).__name__}: {error}"


def _is_local_dir(path: str) -> bool:
    return "://" not in path and os.path.isdir(path)


def resolve(given: str) -> InputSpec:
    """Turns an --input into a pattern to match and the root that image ids are relative to."""
    text = given.rstrip("/") if given not in ("/",) else given
    if any(c in text for c in _GLOB_CHARS):
        head = []
        for part in text.split("/"):
            if any(c in part for c in _GLOB_CHARS):
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


def _entries(spec: InputSpec, limit: int | None = None) -> list[local_files.Entry]:
    """Local inputs are walked by local_files (every entry, links never followed); buckets are
    matched through Beam FileSystems (objects only: no links or special files there)."""
    if "://" not in spec.pattern:
        if not any(c in spec.pattern for c in _GLOB_CHARS) and not os.path.isdir(spec.pattern):
            return [local_files.single(spec.pattern)] if os.path.lexists(spec.pattern) else []
        return list(itertools.islice(local_files.matching(spec.root, spec.pattern), limit))
    found = FileSystems.match([spec.pattern], limits=[limit] if limit else None)[0].metadata_list
    # A "folder/" placeholder object some tools create is not a file.
    return [local_files.Entry(m.path, m.size_in_bytes) for m in found if not m.path.endswith("/")]


def list_files(spec: InputSpec, input_index: int = 0) -> Listing:
    """All entries an input names (construction-time check, and the runtime listing)."""
    try:
        entries = _entries(spec)
    except Exception as e:  # noqa: BLE001 - OSError locally; BeamIOError, IOError, ... per filesystem
        raise InputError(f"--input {spec.given}: cannot list it ({e})") from None
    if not entries:
        raise InputError(f"--input {spec.given}: no files found (pattern {spec.pattern})")
    files, problems = [], []
    for entry in entries:
        relative = entry.path[len(spec.root) :].lstrip("/\\").replace(os.sep, "/")
        image_id = relative or os.path.basename(entry.path)
        if entry.problem:
            problems.append(error_record(source=entry.path, image_id=image_id, stage="list", reason=entry.problem))
        else:
            files.append(InputFile(entry.path, image_id, entry.size_bytes, input_index))
    return Listing(sorted(files, key=lambda f: f.image_id), problems)


def check_exists(spec: InputSpec) -> None:
    """Fails fast when an input names nothing, without listing a whole bucket."""
    try:
        found = _entries(spec, limit=1)
    except Exception as e:  # noqa: BLE001 - OSError locally; BeamIOError, IOError, ... per filesystem
        raise InputError(f"--input {spec.given}: cannot list it ({e})") from None
    if not found:
        raise InputError(f"--input {spec.given}: no files found (pattern {spec.pattern})")


class ListInputFiles(beam.DoFn):
    """(index, InputSpec) -> the InputFiles it names (listed on a worker, so buckets of any size
    work), and an error for every entry that is not read."""

    def process(self, indexed):
        index, spec = indexed
        try:
            listing = list_files(spec, index)
        except InputError as e:
            yield beam.pvalue.TaggedOutput(
                ERRORS_TAG, error_record(source=spec.given, image_id=None, stage="list", reason=str(e))
            )
            return
        yield from listing.files
        for problem in listing.problems:
            yield beam.pvalue.TaggedOutput(ERRORS_TAG, problem)


def unsafe_member_reason(name: str) -> str | None:
    """Why an archive member name could escape its folder, or None when it is safe."""
    cleaned = name.replace("\\", "/")
    if cleaned.startswith("/") or (len(cleaned) > 1 and cleaned[1] == ":"):
        return "absolute path in archive member name"
    normalized = posixpath.normpath(cleaned)
    if normalized == ".." or normalized.startswith("../") or "/../" in f"/{cleaned}/":
        return "archive member path climbs out of the archive ('..')"
    return None


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
                for member in self._archive_members(item):
                    # Members leave through their own output, to be spread over the workers.
                    yield member if isinstance(member, beam.pvalue.TaggedOutput) else beam.pvalue.TaggedOutput(
                        MEMBERS_TAG, member
                    )
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

    def _archive_members(self, item: InputFile) -> Iterator:
        problem = local_files.unreadable_reason(item.path) if "://" not in item.path else None
        if problem:
            raise OSError(problem)
        with FileSystems.open(item.path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
            if item.path.lower().endswith(".zip"):
                yield from self._zip_members(item, f)
            else:
                yield from self._tar_members(item, f)

    def _member(self, item, name, size, kind_reason, read, names: outputs.ArchiveNames):
        reason = kind_reason or unsafe_member_reason(name)
        member_path = name if reason else posixpath.normpath(name.replace("\\", "/"))
        image_id = f"{item.image_id}/{member_path}"
        duplicate = names.path_conflict(member_path)  # refused members count: a later namesake is ambiguous
        reason = reason or duplicate
        if reason is None and size > self._max_bytes:
            reason = f"archive member claims {size} bytes, over the limit of {self._max_bytes} (--max_bytes)"
        if reason is None and is_archive(name):
            reason = "nested archives are not expanded"
        if reason is None:
            extension = posixpath.splitext(name)[1].lower()
            if extension and extension not in images.IMAGE_EXTENSIONS:
                reason = f"not an image file (extension {extension})"
        reason = reason or names.output_conflict(image_id)
        if reason is not None:
            return self._error(item.path, image_id, reason)
        try:
            data = read(self._max_bytes + 1)
        except Exception as e:  # noqa: BLE001 - zlib.error, lzma.LZMAError, BadZipFile, CRC errors, ...
            return self._error(item.path, image_id, f"unreadable archive member: {type(e).__name__}: {e}")
        if len(data) > self._max_bytes:
            return self._error(
                item.path, image_id, f"archive member is larger than {self._max_bytes} bytes (--max_bytes)"
            )
        return ImageBytes(image_id, data, item.path)

    def _tar_members(self, item, f):
        # Streaming mode reads the archive once, front to back; nothing touches the disk.
        names = outputs.ArchiveNames(self._output_format)
        with tarfile.open(fileobj=f, mode="r|*") as archive:
            for member in archive:
                if member.isdir():
                    continue
                kind = None
                if member.issym() or member.islnk():
                    kind = f"link member ({'symbolic' if member.issym() else 'hard'} link to {member.linkname!r}) is not followed"
                elif not member.isfile():
                    kind = "special file member (device, fifo) is not read"

                def read(limit, member=member):
                    handle = archive.extractfile(member)
                    return handle.read(limit) if handle else b""

                yield self._member(item, member.name, member.size, kind, read, names)

    def _zip_members(self, item, f):
        names = outputs.ArchiveNames(self._output_format)
        with zipfile.ZipFile(f) as archive:
            for info in archive.infolist():
                if info.is_dir():
                    continue
                mode = info.external_attr >> 16
                kind = "link member (symbolic link) is not followed" if stat.S_ISLNK(mode) else None

                def read(limit, info=info):
                    with archive.open(info) as handle:
                        return handle.read(limit)

                yield self._member(item, info.filename, info.file_size, kind, read, names)


class ReadImages(beam.PTransform):
    """The inputs -> (ImageBytes, errors): listed on a worker, files spread over the workers,
    archives expanded into their members. Applied to the pipeline itself."""

    def __init__(self, specs: list[InputSpec], max_bytes: int, output_format: str | None = None):
        super().__init__()
        self._specs = specs
        self._max_bytes = max_bytes
        self._output_format = output_format  # restore's --format: output names are checked too

    def expand(self, pipeline):
        listed = (
            pipeline
            | "Inputs" >> beam.Create(list(enumerate(self._specs)))
            | "List files" >> beam.ParDo(ListInputFiles()).with_outputs(ERRORS_TAG, main="files")
        )
        # Grouping by the names files claim finds conflicts (see outputs) before anything is
        # read, and spreads the files over the workers.
        unique = listed.files | "Unique names" >> outputs.UniqueNames(
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
        errors = (listed[ERRORS_TAG], unique[ERRORS_TAG], read[ERRORS_TAG]) | "Input errors" >> beam.Flatten()
        return images, errors
