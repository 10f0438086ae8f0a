"""Which inputs a run lists: each once, never the run's own output, and whether one is empty.

A job that listed its own ``--output`` would restore its restored images again on every rerun
(3, then 6, then 12 images). So an ``--output`` inside an ``--input`` is left out of that
input's listing (``InputSpec.exclude``; folders of earlier runs, which hold a
``restoreflow.lock``, are left out by ``local_files``), and an ``--input`` that is the
``--output`` or lies inside it is refused: no listing could tell its inputs from its outputs.
"""

from __future__ import annotations

import dataclasses
import logging
import os

from pipelines.inputs.sources import GLOB_CHARS, InputError, InputSpec, NoFiles, check_exists, inside_folder, resolve

log = logging.getLogger("restoreflow")


def _real(path: str) -> str:
    return path.rstrip("/") if "://" in path else os.path.realpath(path)


def apart_from_output(specs: list[InputSpec], output: str) -> tuple[list[InputSpec], list[str]]:
    """The inputs listed once each and never reading the job's own output (what it wrote
    would come back as inputs on every rerun): an input given twice is listed once; an
    --output inside an input is left out of that input's listing; an input that is the
    --output or lies inside it is a mistake (InputError). Returns (specs, notes to show)."""
    out, kept, notes, seen = _real(output), [], [], set()
    for spec in specs:
        key = _real(spec.pattern)
        if key in seen:
            notes.append(f"--input {spec.given} is given more than once: listed once")
            continue
        seen.add(key)
        root = _real(spec.root)
        if root == out or inside_folder(root, out):
            raise InputError(f"--input {spec.given} is inside --output {output}: the job's outputs would be read "
                             f"back as inputs; choose an --output outside every --input")
        if inside_folder(out, root):
            notes.append(f"--output {output} lies inside --input {spec.given}: it is left out of the listing")
            spec = dataclasses.replace(spec, exclude=(out,))
        kept.append(spec)
    return kept, notes


def resolve_inputs(given: list[str], output: str) -> list[InputSpec]:
    """The --input flags resolved and kept apart from ``output`` (see apart_from_output),
    with a note on stderr for each adjustment."""
    specs, notes = apart_from_output([resolve(text) for text in given], output)
    for note in notes:
        log.warning("note: %s", note)
    return specs


def holds_nothing(spec: InputSpec) -> bool:
    """Whether an input exists but names no file now: an empty folder (or one holding only
    the output), a glob matching nothing in an existing folder, a bucket prefix with no
    objects. An input that does not exist at all is not "empty" but a mistake."""
    try:
        check_exists(spec)
    except NoFiles:
        if "://" in spec.root:
            return True
        globbed = any(c in spec.given for c in GLOB_CHARS)
        return os.path.isdir(spec.root if globbed else spec.given.rstrip("/") or "/")
    return False
