"""`restoreflow restore` with a fault injected, for the corpus tests:

    python -m tests.helpers.with_fault kill-after N RESTORE_ARGS...
        SIGKILLs its own process once N images are written (a run killed part-way).
    python -m tests.helpers.with_fault wait-for PATH RESTORE_ARGS...
        holds the first image until PATH exists (a run that is busy while another starts).
    python -m tests.helpers.with_fault hold-after N RESTORE_ARGS...
        holds every image after the first N written (a run busy part-way, e.g. for a Ctrl-C).
    python -m tests.helpers.with_fault disk-full-under FOLDER RESTORE_ARGS...
        every write to a file opened under OUT/FOLDER/ through Beam's local file system fails
        with OSError(ENOSPC), as on a full disk (the fault is injected at that file-system
        boundary: a real full disk needs a small mount, which needs privileges).
"""

import errno
import os
import signal
import sys
import time

from apache_beam.io import localfilesystem

from pipelines import restore
from pipelines.restore import write


class _FullDisk:
    """A file whose writes fail as on a full disk; everything else is the real file's."""

    def __init__(self, file):
        self._file = file

    def write(self, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __getattr__(self, name):
        return getattr(self._file, name)


def _fill_disk_under(folder: str) -> None:
    real_open = localfilesystem.LocalFileSystem._path_open

    def path_open(self, path, mode, *args, **kwargs):
        file = real_open(self, path, mode, *args, **kwargs)
        return _FullDisk(file) if f"{os.sep}{folder}{os.sep}" in path and "w" in mode else file

    localfilesystem.LocalFileSystem._path_open = path_open


def main() -> int:
    mode, value, *argv = sys.argv[1:]
    if mode == "disk-full-under":
        _fill_disk_under(value)
        return restore.main(argv)
    real_finish = write.finish
    written = []

    def finish(stitched, settings):
        while mode == "wait-for" and not os.path.exists(value):
            time.sleep(0.05)
        while mode == "hold-after" and len(written) >= int(value):
            time.sleep(0.05)
        row = real_finish(stitched, settings)
        written.append(stitched.image_id)
        if mode == "kill-after" and len(written) >= int(value):
            os.kill(os.getpid(), signal.SIGKILL)
        return row

    write.finish = finish
    return restore.main(argv)


if __name__ == "__main__":
    sys.exit(main())
