"""Listing local input folders so that every entry is accounted for.

Beam's local listing (``os.walk``) drops what it cannot use without a word: unreadable folders,
dangling links, linked folders; and it lists FIFOs, which then block their reader forever.
Local inputs are walked here instead, and every entry is either a regular file to read or a
problem with a reason (reported in ``errors/``).

The rule for links, the same as for archive members (buckets have none): a symbolic link met
inside an input is never followed, whatever it points to. It is listed as an error naming its
target, so nothing is read from outside the inputs, nothing is read twice, and a link cycle
cannot trap the walk. An ``--input`` that is itself a link is followed: the user named it.

Output folders are never read as input: the job's own ``--output`` (``exclude``) and any
folder below the input root that holds a ``restoreflow.lock`` (another run's output) are left
out, reported as ``left_out`` entries rather than walked.
"""

from __future__ import annotations

import dataclasses
import os
import re
import stat
from collections.abc import Iterator

from apache_beam.io.filesystem import FileSystem

from pipelines.runtime.lock import LOCK_FILE as OUTPUT_MARK

_SPECIAL_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


@dataclasses.dataclass(frozen=True)
class Entry:
    """One thing a listing saw: a regular file (``problem`` None) or why it is not read."""

    path: str
    size_bytes: int
    problem: str | None = None
    left_out: bool = False  # a folder not walked: a restoreflow output (see the module's docstring)


def special_file_problem(mode: int) -> str | None:
    """Why a file of this ``st_mode`` is not read, or None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    kind = next((name for test, name in _SPECIAL_KINDS if test(mode)), "not a regular file")
    return f"{kind} is not a regular file: not read"


def unreadable_reason(path: str) -> str | None:
    """Checked just before a local file is opened (globs, explicit paths and files replaced
    since the listing): opening a FIFO would block forever."""
    try:
        return special_file_problem(os.stat(path).st_mode)
    except OSError as e:
        return f"cannot read file: {e.strerror}"


def link_problem(path: str, root: str) -> str:
    target = os.readlink(path)
    resolved = os.path.realpath(path)
    if not os.path.exists(resolved):
        return f"dangling symbolic link (to {target!r}, which does not exist): not followed"
    inside = os.path.commonpath([resolved, os.path.realpath(root)]) == os.path.realpath(root)
    where = "inside the input" if inside else "outside the input"
    kind = "folder" if os.path.isdir(resolved) else "file"
    return (f"symbolic link to a {kind} {where} ({target!r}): links are not followed; "
            f"give its target as an --input of its own")


def _is_output(folder: str, exclude: tuple[str, ...]) -> bool:
    return os.path.realpath(folder) in exclude or os.path.lexists(os.path.join(folder, OUTPUT_MARK))


def walk(root: str, exclude: tuple[str, ...] = ()) -> Iterator[Entry]:
    """Every entry under the folder ``root``, depth first in name order, except the output
    folders below it (``exclude``: real paths; or holding a lock file), which are yielded as
    ``left_out``. Raises OSError when ``root`` itself cannot be listed."""
    pending = [root]
    while pending:
        folder = pending.pop()
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as e:
            if folder == root:
                raise
            yield Entry(folder, 0, f"cannot list folder: {e.strerror}")
            continue
        below = []
        for entry in entries:
            if entry.is_symlink():
                yield Entry(entry.path, 0, link_problem(entry.path, root))
            elif entry.is_dir(follow_symlinks=False):
                if _is_output(entry.path, exclude):
                    yield Entry(entry.path, 0, left_out=True)
                else:
                    below.append(entry.path)
            else:
                info = entry.stat(follow_symlinks=False)
                yield Entry(entry.path, info.st_size, special_file_problem(info.st_mode))
        pending.extend(reversed(below))


def matching(root: str, pattern: str, exclude: tuple[str, ...] = ()) -> Iterator[Entry]:
    """The entries under ``root`` that ``pattern`` (Beam's glob syntax: ``*`` within a folder,
    ``**`` across folders) matches, plus every folder that could not be listed (it might
    hold matches) or was left out."""
    matches = re.compile(FileSystem.translate_pattern(pattern)).match
    for entry in walk(root, exclude):
        if matches(entry.path) or entry.left_out or entry.problem and entry.problem.startswith("cannot list folder"):
            yield entry


def single(path: str) -> Entry:
    """An --input naming one local file (followed if it is a link: the user named it)."""
    info = os.stat(path)
    return Entry(path, info.st_size, special_file_problem(info.st_mode))
