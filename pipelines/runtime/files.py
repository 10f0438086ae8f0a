"""Writing the jobs' own files into an output folder: under a temporary name then renamed (a
kill leaves the previous file whole), and never through a symbolic link.

A link planted inside ``--output`` (at a file's final name, at its temporary name, or as one of
the folders on its way) must not make a job write outside the folder. Locally, every file is
written to a temporary name created exclusively (``O_EXCL | O_NOFOLLOW``: an existing name,
link or not, is an error rather than a target), after checking that no folder between the
output root and the file is a link, then renamed over its final name (a rename replaces a link
there instead of following it). A kill leaves the previous file whole, never a partial one.
Buckets have no links; there the same calls go through Beam FileSystems.

Beam's own sinks (Parquet scores, JSON-lines errors, TFRecord shards) write into fresh
``beam-temp-*`` folders and rename too; ``refuse_linked_folders`` checks, before a run, the
folders of the output that they write into.
"""

from __future__ import annotations

import os
import uuid

from apache_beam.io.filesystems import FileSystems

from restoreflow.configs import ConfigError


class LinkedPath(OSError):
    """A folder on the way to an output file is a symbolic link: nothing is written there."""


def is_local(path: str) -> bool:
    return "://" not in path


PARTIAL_MARK = ".partial-"  # FILE.partial-TAG, renamed to FILE once whole


def temporary_name(path: str, tag: str | None = None) -> str:
    """``path`` with a suffix unique to one writer (the run id when given: the next run that
    holds the output's lock deletes a killed run's, ``pipelines.restore.rerun.remove_partials``)."""
    return f"{path}{PARTIAL_MARK}{tag or uuid.uuid4().hex[:12]}"


def partial_name(path: str, run_id: str) -> str:
    return temporary_name(path, run_id)


def check_no_links(path: str, root: str) -> None:
    """Raises LinkedPath when ``root`` itself is fine but a folder between it and ``path``
    is a symbolic link (the root may be one: the user named it)."""
    relative = os.path.relpath(os.path.dirname(path), root)
    if relative == "." or not is_local(path):
        return
    if relative.startswith(".."):
        raise LinkedPath(f"{path} lies outside the output folder {root}: not written")
    folder = root
    for part in relative.split(os.sep):
        folder = os.path.join(folder, part)
        if os.path.islink(folder):
            raise LinkedPath(f"{folder} is a symbolic link (to {os.readlink(folder)!r}); restoreflow never "
                             f"writes through links: remove it")


def write_atomically(path: str, data: bytes, *, root: str, temporary: str | None = None) -> None:
    """Writes ``data`` to ``temporary`` (a fresh name by default), then renames it to ``path``;
    locally without following any link inside ``root`` (LinkedPath, FileExistsError)."""
    temporary = temporary or temporary_name(path)
    if not is_local(path):
        with FileSystems.create(temporary) as f:
            f.write(data)
        FileSystems.rename([temporary], [path])
        return
    check_no_links(path, root)  # before makedirs, which would create folders through a link
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(temporary, flags, 0o644)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(temporary, path)
    except BaseException:
        if os.path.lexists(temporary):
            os.unlink(temporary)
        raise


def refuse_linked_folders(output: str, folders: tuple[str, ...]) -> None:
    """ConfigError (one line) when one of the output's ``folders`` is a symbolic link or not a
    folder: Beam's sinks would write through it."""
    if not is_local(output):
        return
    for name in folders:
        path = os.path.join(output, name)
        if os.path.islink(path):
            raise ConfigError(f"{path} is a symbolic link (to {os.readlink(path)!r}); restoreflow never writes "
                              f"through links: remove it, or choose another --output")
        if os.path.lexists(path) and not os.path.isdir(path):
            raise ConfigError(f"{path} is not a folder; restoreflow writes its {name}/ there: remove it, or "
                              f"choose another --output")
