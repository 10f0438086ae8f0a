"""A live progress line for local runs of the Beam jobs: images done / total, MP/s, ETA.

Beam's counters of a local run can be read only once it has finished, so the workers (threads
of this process, or local worker processes) append one short line per finished image, restored,
skipped or rejected, to a file of their own in a local folder, and a thread of the launching
process adds them up twice a second. On a terminal the line is redrawn in place; otherwise
(a log file, CI) a line is written every ``LOG_INTERVAL_S``. Remote runners get nothing of
this: Dataflow's job page shows the jobs' counters.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid

import apache_beam as beam

from pipelines.inputs import archives, sources

POLL_INTERVAL_S = 0.5
LOG_INTERVAL_S = 30.0  # in a log file or CI, a line every half minute is progress without flooding


class _Record(beam.DoFn):
    """Appends "<megapixels>\\n" per element to this DoFn instance's own file in ``folder``."""

    def __init__(self, folder: str, megapixels):
        self._folder = folder
        self._megapixels = megapixels
        self._file = None

    def setup(self):
        name = f"{os.getpid()}-{uuid.uuid4().hex}.log"
        self._file = open(os.path.join(self._folder, name), "a", encoding="ascii")  # closed in teardown

    def process(self, element):
        try:
            megapixels = float(self._megapixels(element) or 0.0) if self._megapixels else 0.0
            self._file.write(f"{megapixels:.6f}\n")
            self._file.flush()
        except Exception:  # noqa: BLE001 - the progress line must never stop a job
            logging.getLogger("restoreflow.progress").debug("progress not recorded", exc_info=True)

    def teardown(self):
        if self._file is not None:
            self._file.close()


def count_images(files: list[sources.InputFile]) -> int:
    """How many images the listed input files hold, each archive counted by its members (a
    read through a compressed tar: local runs only)."""
    return sum(archives.count_members(f.path) if archives.is_archive(f.path) else 1 for f in files)


class Tracker:
    """Follows PCollections of finished images (``follow``) and prints the progress line while
    the pipeline runs (``with tracker: pipeline.run()``); does nothing unless followed."""

    def __init__(self, label: str, stream=None):
        self.label = label
        self._stream = stream or sys.stderr
        self._folder: str | None = None
        self._total = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def follow(self, *pcollections, total: int, megapixels=None) -> None:
        """Counts every element of ``pcollections`` as one finished image of ``total``;
        ``megapixels(element)`` (picklable) sizes it for the MP/s figure."""
        if self._folder is None:
            self._folder = tempfile.mkdtemp(prefix="restoreflow-progress-")
        self._total = total
        for index, pcollection in enumerate(pcollections):
            _ = pcollection | f"Progress {index + 1}" >> beam.ParDo(_Record(self._folder, megapixels))

    def finished(self) -> tuple[int, int]:
        """(images finished so far, total), while the tracker is entered; (0, 0) when not following."""
        if self._folder is None or not os.path.isdir(self._folder):
            return 0, self._total
        return Counter(self._folder).read()[0], self._total

    def __enter__(self):
        if self._folder is not None:
            self._thread = threading.Thread(target=self._show, name="restoreflow-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc):
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)

    def _show(self):
        counter = Counter(self._folder)
        rate = Rate(self._total)
        live = self._stream.isatty()
        last_logged = time.monotonic()
        while not self._stop.wait(POLL_INTERVAL_S):
            line = rate.line(self.label, *counter.read())
            if live:
                self._stream.write(f"\r{line}\x1b[K")
                self._stream.flush()
            elif time.monotonic() - last_logged >= LOG_INTERVAL_S:
                self._stream.write(line + "\n")
                last_logged = time.monotonic()
        self._stream.write(("\r" if live else "") + rate.line(self.label, *counter.read()) + ("\x1b[K\n" if live else "\n"))
        self._stream.flush()


class Counter:
    """Adds up the workers' files, reading only what was appended since the last call."""

    def __init__(self, folder: str):
        self._folder = folder
        self._offsets: dict[str, int] = {}
        self.done = 0
        self.megapixels = 0.0

    def read(self) -> tuple[int, float]:
        for name in sorted(os.listdir(self._folder)):
            path = os.path.join(self._folder, name)
            with open(path, encoding="ascii") as f:
                f.seek(self._offsets.get(name, 0))
                text = f.read()
            complete = text[: text.rfind("\n") + 1]  # a line being written is read next time
            self._offsets[name] = self._offsets.get(name, 0) + len(complete)
            values = complete.split()
            self.done += len(values)
            self.megapixels += sum(map(float, values))
        return self.done, self.megapixels


class Rate:
    """The progress line: speed from the first finished image on (start-up is not work)."""

    def __init__(self, total: int, clock=time.monotonic):
        self._total = total
        self._clock = clock
        self._started = clock()
        self._first: tuple[float, int, float] | None = None  # (time, done, megapixels) at the first image

    def line(self, label: str, done: int, megapixels: float) -> str:
        now = self._clock()
        total = max(self._total, done)
        parts = [f"{label}: {done}/{total} images", f"{_clock_text(now - self._started)} elapsed"]
        if done and self._first is None:
            self._first = (now, done, megapixels)
        if self._first and done > self._first[1] and now > self._first[0]:
            seconds = now - self._first[0]
            images_per_s = (done - self._first[1]) / seconds
            parts.insert(1, f"{(megapixels - self._first[2]) / seconds:.3g} MP/s")
            if done < total:
                parts.append(f"ETA {_clock_text((total - done) / images_per_s)}")
        return ", ".join(parts)


def _clock_text(seconds: float) -> str:
    minutes, seconds = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"
