"""Error records from Beam's dead letters: the reason a person reads, the stage that found it."""

from __future__ import annotations

import sys
import traceback

import apache_beam as beam
from apache_beam.testing.util import assert_that, equal_to

from pipelines.imaging import images
from pipelines.inputs import sources
from pipelines.restore import errors
from tests.helpers.beam import local_pipeline

ITEM = sources.ImageBytes("a/b.png", b"bytes", "/in/a/b.png")


def dead_letter(error: Exception):
    """What with_exception_handling() outputs for ``error`` raised on ITEM."""
    try:
        raise error
    except Exception as exn:  # noqa: BLE001 - as Beam catches it
        return ITEM, (type(exn), repr(exn), traceback.format_exception(*sys.exc_info()))


def reason_and_stage(error: Exception, *, foreseen=(images.ImageError,)) -> tuple[str, str]:
    record = errors.from_dead_letter(dead_letter(error), stage="decode", foreseen=foreseen)
    assert (record["image_id"], record["source"]) == ("a/b.png", "/in/a/b.png")
    return record["reason"], record["stage"]


def test_foreseen_problems_give_their_message_as_the_reason():
    assert reason_and_stage(images.ImageError("truncated file")) == ("truncated file", "decode")
    assert reason_and_stage(errors.Rejected("image is 3x9, too small")) == ("image is 3x9, too small", "decode")
    assert reason_and_stage(errors.MaskProblem("no mask for it")) == ("no mask for it", "mask")


def test_anything_else_is_unexpected_with_its_type_and_message():
    assert reason_and_stage(RuntimeError("injected bug")) == ("unexpected RuntimeError: injected bug", "decode")
    assert reason_and_stage(KeyError("x")) == ("unexpected KeyError: 'x'", "decode")
    assert reason_and_stage(RuntimeError()) == ("unexpected RuntimeError: ", "decode")
    multi_line = ValueError("first line\nsecond line")
    assert reason_and_stage(multi_line, foreseen=(ValueError,)) == ("first line\nsecond line", "decode")


def test_a_chained_exception_gives_the_last_ones_message():
    try:
        try:
            raise OSError("disk full")
        except OSError as e:
            raise images.ImageError("cannot write") from e
    except images.ImageError as exn:
        letter = ITEM, (type(exn), repr(exn), traceback.format_exception(*sys.exc_info()))
    record = errors.from_dead_letter(letter, stage="write", foreseen=(images.ImageError,))
    assert (record["reason"], record["stage"]) == ("cannot write", "write")


def _explode(element):
    if element.image_id == "bad.png":
        raise images.ImageError("not a recognised image format")
    return element.image_id


def test_dead_letters_of_a_real_pipeline_become_records():
    items = [sources.ImageBytes(name, b"", f"/in/{name}") for name in ("good.png", "bad.png")]
    with local_pipeline() as p:
        good, bad = p | beam.Create(items) | beam.Map(_explode).with_exception_handling()
        assert_that(good, equal_to(["good.png"]), label="Good")
        records = bad | errors.Rejections("decode", (images.ImageError,))
        assert_that(records, equal_to([{"source": "/in/bad.png", "image_id": "bad.png", "stage": "decode",
                                        "reason": "not a recognised image format"}]), label="Records")
