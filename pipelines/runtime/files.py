"""State and output files, written under a temporary name and then renamed over the final one,
so that a run killed mid-write leaves the previous file (or none), never half of one.

The temporary name is ``FILE.partial-RUN``; the run that next holds the output's lock deletes
the ones killed runs left (``pipelines.restore.rerun.remove_partials``). On buckets a rename is
a copy and a delete, and an object appears whole or not at all, which is the same guarantee.
"""

from __future__ import annotations

from apache_beam.io.filesystems import FileSystems

PARTIAL_MARK = ".partial-"


def partial_name(path: str, run_id: str) -> str:
    return f"{path}{PARTIAL_MARK}{run_id}"


def write_atomically(path: str, data: bytes, run_id: str, *, mime_type: str = "application/octet-stream") -> None:
    temporary = partial_name(path, run_id)
    with FileSystems.create(temporary, mime_type=mime_type) as f:
        f.write(data)
    FileSystems.rename([temporary], [path])
