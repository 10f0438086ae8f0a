"""Archive members as inputs: tar (plain or compressed) and zip, read front to back through
Beam's filesystems, in memory only (never extracted to disk).

Only regular files whose normalised path stays inside the archive are read: absolute paths,
``..`` components, links, device files and nested archives are refused with their reason, as
are members over the byte limit (checked against the size the archive claims before anything
is decompressed, and again while reading) and members whose image id or output name clashes
with another's (``outputs.ArchiveNames``). ``sources.ReadInputFiles`` turns refusals into
error records, so every member is accounted for.
"""

from __future__ import annotations

import dataclasses
import posixpath
import stat
import tarfile
import zipfile
from collections.abc import Callable, Iterator

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from pipelines.imaging import images
from pipelines.inputs import local_files, outputs

ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".zip")


def is_archive(path: str) -> bool:
    return path.lower().endswith(ARCHIVE_SUFFIXES)


@dataclasses.dataclass(frozen=True)
class Member:
    """One member of an archive: its bytes, or the reason it was refused (then ``data`` is None)."""

    image_id: str  # archive-image-id/member-path
    data: bytes | None = None
    reason: str | None = None


def count_members(path: str) -> int:
    """How many file members a local archive holds (one read through it), for the progress
    line; 1 for an unreadable archive, which the job reports as one error."""
    try:
        if path.lower().endswith(".zip"):
            with zipfile.ZipFile(path) as archive:
                return sum(1 for info in archive.infolist() if not info.is_dir())
        with tarfile.open(path, mode="r|*") as archive:
            return sum(1 for member in archive if not member.isdir())
    except (OSError, tarfile.TarError, zipfile.BadZipFile, EOFError):
        return 1


def unsafe_member_reason(name: str) -> str | None:
    """Why an archive member name could escape its folder, or None when it is safe."""
    cleaned = name.replace("\\", "/")
    if cleaned.startswith("/") or (len(cleaned) > 1 and cleaned[1] == ":"):
        return "absolute path in archive member name"
    normalized = posixpath.normpath(cleaned)
    if normalized == ".." or normalized.startswith("../") or "/../" in f"/{cleaned}/":
        return "archive member path climbs out of the archive ('..')"
    return None


def read_members(path: str, image_id: str, *, max_bytes: int, output_format: str | None = None) -> Iterator[Member]:
    """Every file member of the archive at ``path`` (whose image id is ``image_id``), in order.

    ``output_format``: the restore job's --format, so that output names are checked too.
    Raises OSError, tarfile.TarError or zipfile.BadZipFile for an unreadable archive.
    """
    problem = local_files.unreadable_reason(path) if "://" not in path else None
    if problem:
        raise OSError(problem)
    names = outputs.ArchiveNames(output_format)
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
        entries = _zip_entries(f) if path.lower().endswith(".zip") else _tar_entries(f)
        for name, size, kind_reason, read in entries:
            yield _member(image_id, name, size, kind_reason, read, names, max_bytes)


def _member(archive_id: str, name: str, size: int, kind_reason: str | None, read: Callable[[int], bytes],
            names: outputs.ArchiveNames, max_bytes: int) -> Member:
    reason = kind_reason or unsafe_member_reason(name)
    member_path = name if reason else posixpath.normpath(name.replace("\\", "/"))
    image_id = f"{archive_id}/{member_path}"
    duplicate = names.path_conflict(member_path)  # refused members count: a later namesake is ambiguous
    reason = reason or duplicate
    if reason is None and size > max_bytes:
        reason = f"archive member claims {size} bytes, over the limit of {max_bytes} (--max_bytes)"
    if reason is None and is_archive(name):
        reason = "nested archives are not expanded"
    if reason is None:
        extension = posixpath.splitext(name)[1].lower()
        if extension and extension not in images.IMAGE_EXTENSIONS:
            reason = f"not an image file (extension {extension})"
    reason = reason or names.output_conflict(image_id)
    if reason is not None:
        return Member(image_id, reason=reason)
    try:
        data = read(max_bytes + 1)
    except Exception as e:  # noqa: BLE001 - zlib.error, lzma.LZMAError, BadZipFile, CRC errors, ...
        return Member(image_id, reason=f"unreadable archive member: {type(e).__name__}: {e}")
    if len(data) > max_bytes:
        return Member(image_id, reason=f"archive member is larger than {max_bytes} bytes (--max_bytes)")
    return Member(image_id, data=data)


def _tar_entries(f) -> Iterator[tuple]:
    """(name, claimed size, reason it is not a regular file or None, read(limit)) per member."""
    # Streaming mode reads the archive once, front to back; nothing touches the disk.
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

            yield member.name, member.size, kind, read


def _zip_entries(f) -> Iterator[tuple]:
    with zipfile.ZipFile(f) as archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            mode = info.external_attr >> 16
            kind = "link member (symbolic link) is not followed" if stat.S_ISLNK(mode) else None

            def read(limit, info=info):
                with archive.open(info) as handle:
                    return handle.read(limit)

            yield info.filename, info.file_size, kind, read
