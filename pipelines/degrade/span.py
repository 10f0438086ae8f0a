"""Ranges of degradation parameters: ``[lo, hi]`` in a recipe, drawn uniformly (or
log-uniformly); a single number is a fixed value."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from restoreflow.configs import ConfigError, check, shown


@dataclasses.dataclass(frozen=True)
class Span:
    """A closed range [lo, hi]; a single number in YAML means lo == hi."""

    lo: float
    hi: float

    @classmethod
    def from_config(cls, value, key: str) -> Span:
        if isinstance(value, bool):
            raise ConfigError(f"{key}: expected a number or [lo, hi], got {shown(value)}")
        if isinstance(value, (int, float)):
            return cls(float(value), float(value))
        if isinstance(value, (list, tuple)) and len(value) == 2 and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value
        ):
            lo, hi = float(value[0]), float(value[1])
            check(lo <= hi, key, f"range [{lo}, {hi}] has lo > hi")
            return cls(lo, hi)
        raise ConfigError(f"{key}: expected a number or [lo, hi], got {shown(value)}")

    def to_config(self):
        return self.lo if self.lo == self.hi else [self.lo, self.hi]

    def within(self, key: str, lo: float, hi: float) -> None:
        check(lo <= self.lo and self.hi <= hi, key, f"must lie within [{lo}, {hi}], got {self.to_config()}")

    def draw(self, rng: np.random.Generator) -> float:
        return self.lo if self.lo == self.hi else float(rng.uniform(self.lo, self.hi))

    def draw_log(self, rng: np.random.Generator) -> float:
        if self.lo == self.hi:
            return self.lo
        return float(math.exp(rng.uniform(math.log(self.lo), math.log(self.hi))))


def check_probability(step) -> None:
    check(0.0 <= step.probability <= 1.0, f"{step.op}.probability", "must lie within [0, 1]")
