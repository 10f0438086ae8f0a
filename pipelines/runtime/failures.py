"""How a Beam job's run ends when it cannot finish: a full disk is one line and exit 1, Ctrl-C
one line and exit 130 (``restoreflow.console.user_errors`` prints them), never the worker's
traceback; either way the temporary folders of Beam's file sinks (``beam-temp-*``) go.

The cause is found along the exception's chain (``restoreflow.console.in_chain``): on the local
runner a transform's exception reaches the launcher wrapped, with "[while running 'STEP']".
"""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import re
import shutil
from collections.abc import Callable

from apache_beam.io.filesystems import FileSystems

from restoreflow.console import Interrupted, in_chain

FULL_DISK = (errno.ENOSPC, errno.EDQUOT)
BEAM_TEMP = "beam-temp-*"  # where WriteToParquet / WriteToText write before they rename


class RunFailed(RuntimeError):
    """A run that could not finish for a reason outside the job (e.g. a full disk); one line."""


def _full_disk(error: BaseException) -> bool:
    return isinstance(error, OSError) and error.errno in FULL_DISK or "[Errno 28]" in str(error)


def _step(error: BaseException) -> str:
    """The top-level step Beam names in a wrapped error ("Write scores"), or ''."""
    found = in_chain(error, lambda e: "[while running '" in str(e))
    match = found and re.search(r"\[while running '([^/']+)", str(found))
    return f" in step '{match.group(1)}'" if match else ""


def remove_beam_temps(folders: list[str]) -> int:
    """Deletes Beam's temporary sink files under ``folders`` (local, gs://, s3://); returns how
    many files went. Only for folders of this run: another run's may be in use."""
    found = FileSystems.match([FileSystems.join(folder, BEAM_TEMP, "**") for folder in folders])
    files = [m.path for result in found for m in result.metadata_list]
    if files:
        FileSystems.delete(files)
    for folder in folders:  # local folders keep the emptied directories (buckets have none)
        if "://" not in folder:
            for path in glob.glob(os.path.join(glob.escape(folder), BEAM_TEMP)):
                shutil.rmtree(path, ignore_errors=True)
    return len(files)


@contextlib.contextmanager
def ends_in_one_line(job: str, output: str, temp_folders: list[str], *, finished: Callable[[], str]):
    """Runs the block (the pipeline's run); a full disk becomes RunFailed and Ctrl-C Interrupted,
    each naming ``finished()`` (what the run got done, and what a rerun does); the temporary sink
    folders are removed whenever the block fails."""
    try:
        yield
    except BaseException as e:
        remove_beam_temps(temp_folders)
        if in_chain(e, lambda x: isinstance(x, KeyboardInterrupt)) is not None:
            raise Interrupted(f"interrupted (Ctrl-C): {finished()}") from None
        full = in_chain(e, _full_disk)
        if full is not None:
            reason = " ".join(str(full).split("[while running")[0].split())
            raise RunFailed(f"no space left on the device of {output}{_step(e)} ({reason}); free space first: "
                            f"{finished()}") from None
        raise
