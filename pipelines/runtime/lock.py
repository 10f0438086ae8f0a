"""One run at a time per output folder: ``OUT/restoreflow.lock``, held by ``restore`` (job 3)
and ``shards`` (job 1) alike.

Two runs writing into one ``--output`` would interleave their files and rows. The launcher
(the process that builds and waits for the pipeline) holds a lock for the whole run; a second
run stops at once with a message naming the holder (run id, host, pid, user, start time).
The lock file holds that description as JSON.

* **Local folders** (and network folders whose locks the kernel honours): ``fcntl.flock`` on
  the lock file. The kernel drops the lock when its process ends, however it ends (kill -9
  included), so a killed run never leaves a stale lock. The file itself stays; its content is
  only the last holder's description. It is opened without following a symbolic link
  (``O_NOFOLLOW``): a link, folder or other non-regular file planted at its name is refused
  in one line, so the lock never writes outside the output folder.
* **Buckets** (``gs://``, ``s3://``: no atomic create or rename through Beam FileSystems): a
  lease. A run writes its description, waits ``SETTLE_S``, and reads it back; the last writer
  wins and any other run stops. The holder rewrites the file every ``HEARTBEAT_S`` seconds;
  a lease not renewed for ``STALE_AFTER_S`` (a launcher killed) is taken over with a warning.
  Limit: a run that stalls for longer than ``SETTLE_S`` between its check and its write can
  still slip in beside another; reruns verify every output on disk (``rerun``), so such an
  interleaving is found and repaired by the next run.
"""

from __future__ import annotations

import contextlib
import datetime
import getpass
import json
import logging
import os
import socket
import stat
import threading
import time

from apache_beam.io.filesystems import FileSystems

from restoreflow.configs import ConfigError

LOCK_FILE = "restoreflow.lock"
SETTLE_S = 2.0
HEARTBEAT_S = 60.0
STALE_AFTER_S = 600.0

log = logging.getLogger("restoreflow.lock")


class OutputLocked(RuntimeError):
    """Another run holds the output folder (the message names it)."""


class LockFileError(ConfigError):
    """The lock's name holds something that is not a regular file (a link, a folder, a FIFO):
    a mistake in the output folder for its owner to fix, never followed or overwritten."""


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def describe(run_id: str) -> dict:
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in some containers
        user = None
    return {"run_id": run_id, "host": socket.gethostname(), "pid": os.getpid(), "user": user,
            "started_utc": _now(), "heartbeat_utc": _now()}


def _holder_text(holder: dict | None) -> str:
    if not holder:
        return "another run (its lock file is being written)"
    return (f"run {holder.get('run_id')} (host {holder.get('host')}, pid {holder.get('pid')}, user "
            f"{holder.get('user')}, started {holder.get('started_utc')})")


def _locked(output: str, holder: dict | None) -> OutputLocked:
    return OutputLocked(f"--output {output} is in use by {_holder_text(holder)}; wait for it to finish, or "
                        f"choose another --output")


@contextlib.contextmanager
def held(output: str, run_id: str):
    """Holds the lock of ``output`` for the ``with`` block; raises OutputLocked."""
    path = FileSystems.join(output, LOCK_FILE)
    if "://" in output:
        lock = Lease(path, run_id)
    else:
        os.makedirs(output, exist_ok=True)
        lock = FileLock(path, run_id)
    lock.acquire(output)
    try:
        yield lock
    finally:
        lock.release()


def check_free(output: str) -> None:
    """Raises OutputLocked when a run holds the local folder ``output`` right now: a probe for
    a job that refuses a folder that is not empty, so that a busy one is named as such."""
    path = os.path.join(output, LOCK_FILE)
    if "://" in output or not os.path.lexists(path):
        return
    import fcntl

    fd = _open_regular(path)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released by the close below
    except BlockingIOError:
        raise _locked(output, _holder_of(fd)) from None
    finally:
        os.close(fd)


def _holder_of(fd: int, *, tries: int = 20, wait_s: float = 0.025) -> dict | None:
    """The description in a held lock file. A run that has just taken the lock writes it a moment
    later, so an empty file is read again for up to half a second to name the holder."""
    for _ in range(tries):
        holder = _parse(os.pread(fd, 1 << 16, 0).decode(errors="replace"))
        if holder is not None:
            return holder
        time.sleep(wait_s)
    return None


class FileLock:
    def __init__(self, path: str, run_id: str):
        self._path, self._run_id, self._fd = path, run_id, None

    def acquire(self, output: str) -> None:
        import fcntl

        fd = _open_regular(self._path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder_of(fd)
            os.close(fd)
            raise _locked(output, holder) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(describe(self._run_id)).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        os.close(self._fd)  # closing drops the flock


def _open_regular(path: str) -> int:
    """The lock file, opened (created when missing) without following a link; LockFileError
    for anything but a regular file. O_NONBLOCK: opening a planted FIFO must not hang."""
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as e:
        if os.path.islink(path):
            raise LockFileError(f"{path} is a symbolic link (to {os.readlink(path)!r}); restoreflow never "
                                f"writes through links: remove it") from None
        if os.path.isdir(path):
            raise LockFileError(f"{path} is a folder, not the lock file of a run: remove or rename it") from None
        raise LockFileError(f"cannot open the lock file {path}: {e.strerror}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise LockFileError(f"{path} is not a regular file (a FIFO, socket or device): remove it")
    return fd


def _parse(text) -> dict | None:
    try:
        value = json.loads(text)
    except (ValueError, TypeError):
        return None
    return value if isinstance(value, dict) else None


class Lease:
    def __init__(self, path: str, run_id: str, *, settle_s=None, heartbeat_s=None, stale_after_s=None):
        self._path, self._run_id = path, run_id
        self._settle_s = SETTLE_S if settle_s is None else settle_s
        self._heartbeat_s = HEARTBEAT_S if heartbeat_s is None else heartbeat_s
        self._stale_after_s = STALE_AFTER_S if stale_after_s is None else stale_after_s
        self._mine = describe(run_id)
        self._stop = threading.Event()
        self._beat = None

    def _read(self) -> dict | None:
        try:
            with FileSystems.open(self._path) as f:
                return _parse(f.read())
        except Exception:  # noqa: BLE001 - each filesystem has its own "not found"
            return None

    def _write(self) -> None:
        with FileSystems.create(self._path) as f:
            f.write(json.dumps(self._mine).encode())

    def _age_s(self, holder: dict) -> float:
        try:
            beat = datetime.datetime.fromisoformat(holder["heartbeat_utc"])
        except (KeyError, TypeError, ValueError):
            return float("inf")
        return (datetime.datetime.now(datetime.timezone.utc) - beat).total_seconds()

    def acquire(self, output: str) -> None:
        holder = self._read()
        if holder is not None:
            if self._age_s(holder) < self._stale_after_s:
                raise _locked(output, holder)
            log.warning("taking over the lock of %s: not renewed for %.0f s (its launcher is gone)",
                        _holder_text(holder), self._age_s(holder))
        self._write()
        time.sleep(self._settle_s)  # a run that checked at the same moment has written by now
        holder = self._read()
        if not holder or holder.get("run_id") != self._run_id:
            raise _locked(output, holder)
        self._beat = threading.Thread(target=self._renew, name="restoreflow-lock", daemon=True)
        self._beat.start()

    def _renew(self) -> None:
        while not self._stop.wait(self._heartbeat_s):
            holder = self._read()
            if holder and holder.get("run_id") != self._run_id:
                log.error("the lock of %s was taken over by %s", self._path, _holder_text(holder))
                return
            self._mine["heartbeat_utc"] = _now()
            self._write()

    def release(self) -> None:
        self._stop.set()
        if self._beat:
            self._beat.join()
        holder = self._read()
        if holder and holder.get("run_id") == self._run_id:
            FileSystems.delete([self._path])
