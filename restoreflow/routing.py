"""``--model auto``: which bundled model restores an image, chosen from its diagnosis.

The rule is a plain function of the ``Diagnosis`` so that a rerun can recompute the choice
from a stored diagnosis without reading the image again; ``ROUTING_VERSION`` is stored beside
the choice and changes whenever the rule does (a rerun then redoes the images whose choice
moved). The thresholds live in ``restoreflow.diagnosis``; which model serves which damage was
measured on the mixed archive of ``bench/jobs/diagnosis.py`` (figures in bench/RESULTS.md).
"""

from __future__ import annotations

import dataclasses

from restoreflow.diagnosis import Diagnosis

ROUTING_VERSION = 1
AUTO = "auto"
COPY = "copy"  # no model: the input is written unchanged
# The bundled models --model auto may pick. They share one geometry (colour U-Nets of the
# same size), so tiles are cut once and any of them can restore any tile.
AUTO_MODELS = ("restore", "denoise-color", "jpeg", "deblur")
_SPECIALISTS = {"noise": "denoise-color", "jpeg": "jpeg", "blur": "deblur", "soft": "deblur"}


@dataclasses.dataclass(frozen=True)
class Choice:
    """The model an image goes to (a name of AUTO_MODELS, or COPY) and why, in words."""

    model: str
    reason: str

    @property
    def copies(self) -> bool:
        return self.model == COPY


def choose(diagnosis: Diagnosis) -> Choice:
    """Undamaged, or damage too faint to repair: copy. One kind of damage: its specialist.
    Several kinds: the blind default ``restore``."""
    kinds = diagnosis.damage()
    if diagnosis.undamaged:
        return Choice(COPY, "no damage found")
    if not kinds:
        return Choice(COPY, "damage below what the models repair")
    if len(kinds) == 1:
        return Choice(_SPECIALISTS[kinds[0]], f"{kinds[0]} only")
    return Choice("restore", "mixed: " + " + ".join(kinds))
