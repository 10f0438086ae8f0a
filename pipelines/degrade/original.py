"""Steps of the original: what a photograph is as it was taken or scanned, not damage done to
it (film grain, the sharpening of a camera or scanner). They share the shape of the steps in
``steps`` (YAML fields, ``sample``, ``apply``, ``context_px``); their ops are
``restoreflow.records.ORIGINAL_OPS``: a recipe runs them first and does not count them among its
chain's steps, and the diagnosis learns that an image with only these is undamaged.
"""

from __future__ import annotations

import dataclasses
import math
from typing import ClassVar

from pipelines.degrade import ops
from pipelines.degrade.span import Span, check_probability


@dataclasses.dataclass(frozen=True)
class FilmGrain:
    """Film grain, part of the photograph rather than damage done to it: in a shuffled chain
    it always comes first and does not count as a step. grain_sigma: the 0-255 scale at
    mid-gray, within [0, 50]; grain_size: the correlation radius in pixels,
    within [0.3, 4], drawn per axis (scanners smear along their lines); chroma: the share of
    the grain drawn per channel, within [0, 1]."""

    op: ClassVar[str] = "film_grain"
    grain_sigma: Span
    grain_size: Span
    chroma: Span
    probability: float = 1.0

    def __post_init__(self):
        self.grain_sigma.within(f"{self.op}.grain_sigma", 0.0, 50.0)
        self.grain_size.within(f"{self.op}.grain_size", 0.3, 4.0)
        self.chroma.within(f"{self.op}.chroma", 0.0, 1.0)
        check_probability(self)

    def sample(self, rng):
        return {"grain_sigma": self.grain_sigma.draw(rng), "size_x": self.grain_size.draw(rng),
                "size_y": self.grain_size.draw(rng), "chroma": self.chroma.draw(rng)}

    @staticmethod
    def apply(image, params, rng, margin):
        return ops.film_grain(image, grain_sigma=params["grain_sigma"], size_x=params["size_x"],
                              size_y=params["size_y"], chroma=params["chroma"], rng=rng), None

    def context_px(self) -> int:
        return math.ceil(4 * self.grain_size.hi)


@dataclasses.dataclass(frozen=True)
class UnsharpMask:
    """The sharpening a camera or scanner applied, part of the photograph like film grain.
    amount: within [0, 5]; radius: pixels, within [0.3, 5]."""

    op: ClassVar[str] = "unsharp_mask"
    amount: Span
    radius: Span
    probability: float = 1.0

    def __post_init__(self):
        self.amount.within(f"{self.op}.amount", 0.0, 5.0)
        self.radius.within(f"{self.op}.radius", 0.3, 5.0)
        check_probability(self)

    def sample(self, rng):
        return {"amount": self.amount.draw(rng), "radius": self.radius.draw(rng)}

    @staticmethod
    def apply(image, params, rng, margin):
        return ops.unsharp_mask(image, amount=params["amount"], radius=params["radius"]), None

    def context_px(self) -> int:
        return math.ceil(4 * self.radius.hi)
