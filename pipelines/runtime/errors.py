"""How the jobs' steps reject an image: the one place that makes their error records.

A step raises; Beam's ``with_exception_handling()`` routes the element to a dead-letter output
instead of failing the bundle, and ``Rejections`` turns each dead letter into an
``errors/*.jsonl`` record (``error_record``, the one shape of those lines). The reason is the exception's message
for the problems a step foresees (``Rejected``, and the library errors it names), and
"unexpected <type>: <message>" for anything else, with the traceback in the worker log: one
image never stops a run.
"""

from __future__ import annotations

import logging

import apache_beam as beam
from apache_beam.metrics import Metrics

log = logging.getLogger("restoreflow")
ERRORS_TAG = "errors"  # the tagged output of error records, in every step that rejects inputs
ERRORS = ERRORS_TAG


def error_record(*, source: str, image_id: str | None, stage: str, reason: str) -> dict:
    """The one shape of an errors/*.jsonl line."""
    return {"source": source, "image_id": image_id, "stage": stage, "reason": reason}


def unexpected(error: Exception, image_id: str | None) -> str:
    """The reason recorded for a failure nobody foresaw: one image must never stop a job, so
    it goes to errors/ (with the traceback in the worker log) and the run goes on."""
    log.exception("unexpected failure on %s", image_id)
    return f"unexpected {type(error).__name__}: {error}"


class Rejected(Exception):
    """A problem with one input that a person can act on; the message is the reason."""

    stage = "decode"


def record(*, source: str, image_id: str, stage: str, reason: str) -> dict:
    Metrics.counter("restoreflow", "errors").inc()
    return error_record(source=source, image_id=image_id, stage=stage, reason=reason)


def _message(exc_type: type, exc_repr: str, trace: list[str]) -> str:
    """str() of the exception, from the last line of its formatted traceback
    ("module.Type: message"; a dead letter holds that rather than the exception)."""
    name = exc_type.__qualname__
    if exc_type.__module__ not in ("builtins", "__main__"):
        name = f"{exc_type.__module__}.{name}"
    for line in reversed(trace or []):
        if line.startswith(f"{name}: "):
            return line[len(name) + 2 :].rstrip("\n")
        if line.rstrip("\n") == name:
            return ""
    return exc_repr


def from_dead_letter(dead_letter, *, stage: str, foreseen: tuple[type, ...]) -> dict:
    """(element, (exception type, repr, traceback lines)) -> an error record. ``element``
    names its image (``image_id`` and ``source``)."""
    element, (exc_type, exc_repr, trace) = dead_letter
    message = _message(exc_type, exc_repr, trace)
    if issubclass(exc_type, Rejected):
        stage, reason = exc_type.stage, message
    elif issubclass(exc_type, foreseen):
        reason = message
    else:
        log.error("unexpected failure on %s:\n%s", element.image_id, "".join(trace))
        reason = f"unexpected {exc_type.__name__}: {message}"
    return record(source=element.source, image_id=element.image_id, stage=stage, reason=reason)


class Rejections(beam.PTransform):
    """A step's dead letters -> its error records."""

    def __init__(self, stage: str, foreseen: tuple[type, ...] = ()):
        super().__init__()
        self._stage = stage
        self._foreseen = foreseen

    def expand(self, dead_letters):
        return dead_letters | beam.Map(from_dead_letter, stage=self._stage, foreseen=self._foreseen)
