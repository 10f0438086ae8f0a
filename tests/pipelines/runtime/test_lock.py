"""The output folder's lock: a kernel lock for local folders, a lease for buckets (exercised here
on a local folder through the same Beam FileSystems calls)."""

import datetime
import json
import os
import threading
import time

import pytest

from pipelines.runtime import lock


def test_a_local_lock_refuses_a_second_holder_until_released(tmp_path):
    path = str(tmp_path / lock.LOCK_FILE)
    first = lock.FileLock(path, "run-a")
    first.acquire(str(tmp_path))
    with pytest.raises(lock.OutputLocked, match=r"in use by run run-a \(host .*, pid \d+"):
        lock.FileLock(path, "run-b").acquire(str(tmp_path))
    first.release()
    second = lock.FileLock(path, "run-b")
    second.acquire(str(tmp_path))
    assert json.loads((tmp_path / lock.LOCK_FILE).read_text())["run_id"] == "run-b"
    second.release()


def test_a_holder_caught_between_taking_the_lock_and_describing_itself_is_still_named(tmp_path):
    import fcntl

    path = tmp_path / lock.LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)  # taken, nothing written yet: the moment two runs race for
    writer = threading.Timer(0.1, lambda: os.pwrite(fd, json.dumps(lock.describe("run-a")).encode(), 0))
    writer.start()
    with pytest.raises(lock.OutputLocked, match=r"in use by run run-a \(host"):
        lock.FileLock(str(path), "run-b").acquire(str(tmp_path))
    writer.join()
    os.close(fd)


def test_held_creates_the_output_folder_and_releases_on_error(tmp_path):
    output = tmp_path / "new" / "out"
    with pytest.raises(RuntimeError, match="inside"), lock.held(str(output), "run-a"):
        raise RuntimeError("inside")
    with lock.held(str(output), "run-b"):
        assert json.loads((output / lock.LOCK_FILE).read_text())["run_id"] == "run-b"


def test_a_lease_refuses_a_live_holder_and_is_deleted_on_release(tmp_path):
    path = str(tmp_path / lock.LOCK_FILE)
    first = lock.Lease(path, "run-a", settle_s=0)
    first.acquire("gs://b/out")
    with pytest.raises(lock.OutputLocked, match="gs://b/out is in use by run run-a"):
        lock.Lease(path, "run-b", settle_s=0).acquire("gs://b/out")
    first.release()
    assert not (tmp_path / lock.LOCK_FILE).exists()
    second = lock.Lease(path, "run-b", settle_s=0)
    second.acquire("gs://b/out")
    second.release()


def test_a_lease_not_renewed_is_taken_over_with_a_warning(tmp_path, caplog):
    stale = lock.describe("run-killed")
    old = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=lock.STALE_AFTER_S + 5)
    stale["heartbeat_utc"] = old.isoformat(timespec="seconds")
    (tmp_path / lock.LOCK_FILE).write_text(json.dumps(stale))
    lease = lock.Lease(str(tmp_path / lock.LOCK_FILE), "run-new", settle_s=0)
    lease.acquire("gs://b/out")
    assert "taking over the lock of run run-killed" in caplog.text
    assert json.loads((tmp_path / lock.LOCK_FILE).read_text())["run_id"] == "run-new"
    lease.release()


def test_of_two_leases_written_at_once_the_last_writer_wins(tmp_path):
    path = tmp_path / lock.LOCK_FILE
    first = lock.Lease(str(path), "run-a", settle_s=1.0)
    failure = []

    def acquire():
        try:
            first.acquire("gs://b/out")
        except lock.OutputLocked as e:
            failure.append(str(e))

    thread = threading.Thread(target=acquire)
    thread.start()
    deadline = time.time() + 5
    # Until run-a's lease is written whole (the file exists, empty, before its bytes land).
    while not (path.exists() and "run-a" in path.read_text()) and time.time() < deadline:
        time.sleep(0.01)
    # A second run that checked before run-a wrote writes its own lease during run-a's settle.
    path.write_text(json.dumps(lock.describe("run-b")))
    thread.join()
    assert failure and "in use by run run-b" in failure[0]


def test_a_lease_holder_renews_its_heartbeat(tmp_path):
    path = tmp_path / lock.LOCK_FILE
    lease = lock.Lease(str(path), "run-a", settle_s=0, heartbeat_s=0.05)
    lease.acquire("gs://b/out")
    written = path.read_text()
    path.write_text(written.replace(json.loads(written)["heartbeat_utc"], "2000-01-01T00:00:00+00:00"))
    renewed, deadline = None, time.time() + 5
    while time.time() < deadline and not (renewed and renewed["heartbeat_utc"] > "2000-01-02"):
        time.sleep(0.05)
        try:  # a local file is read empty while it is being rewritten (a bucket object never is)
            renewed = json.loads(path.read_text())
        except json.JSONDecodeError:
            pass
    assert renewed and renewed["heartbeat_utc"] > "2000-01-02"
    lease.release()


def test_a_lock_name_planted_as_a_link_is_refused_and_its_target_left_alone(tmp_path):
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    output = tmp_path / "out"
    output.mkdir()
    (output / lock.LOCK_FILE).symlink_to(target)
    with pytest.raises(lock.LockFileError, match="is a symbolic link .*never writes through links"):
        lock.FileLock(str(output / lock.LOCK_FILE), "run-a").acquire(str(output))
    assert target.read_text() == "keep me"
    (output / lock.LOCK_FILE).unlink()
    (output / lock.LOCK_FILE).symlink_to(tmp_path / "missing")  # a dangling link is not created through either
    with pytest.raises(lock.LockFileError, match="symbolic link"):
        lock.FileLock(str(output / lock.LOCK_FILE), "run-a").acquire(str(output))
    assert not (tmp_path / "missing").exists()


def test_a_lock_name_holding_a_folder_or_fifo_is_one_line(tmp_path):
    (tmp_path / lock.LOCK_FILE).mkdir()
    with pytest.raises(lock.LockFileError, match="is a folder, not the lock file"):
        lock.FileLock(str(tmp_path / lock.LOCK_FILE), "run-a").acquire(str(tmp_path))
    fifo_folder = tmp_path / "fifo"
    fifo_folder.mkdir()
    os.mkfifo(fifo_folder / lock.LOCK_FILE)
    with pytest.raises(lock.LockFileError, match="not a regular file"):
        lock.FileLock(str(fifo_folder / lock.LOCK_FILE), "run-a").acquire(str(fifo_folder))
