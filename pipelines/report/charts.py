"""The report's charts as plain geometry (the template draws them as inline SVG): histograms of
score changes and line charts of a value over runs. Numbers only, no markup."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

HISTOGRAM_BINS = 24
WIDTH, HEIGHT = 320, 140
LEFT, RIGHT, TOP, BOTTOM = 40, 10, 8, 20  # margins: room for the axis labels


def number(value, digits: int, signed: bool = False) -> str:
    """A score as the page writes it: a dash when missing, infinity signs, fixed digits."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "\u2013"
    if math.isinf(value):
        return "\u221e" if value > 0 else "\u2212\u221e"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


@dataclasses.dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    anchor: str = "start"


@dataclasses.dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    title: str


@dataclasses.dataclass(frozen=True)
class Point:
    x: float
    y: float
    title: str


@dataclasses.dataclass(frozen=True)
class Chart:
    """One small chart: bars (a histogram) or a polyline through points (a trend)."""

    title: str  # for screen readers (aria-label)
    bars: tuple[Bar, ...] = ()
    points: tuple[Point, ...] = ()
    zero_x: float | None = None  # a histogram's "no change" line
    labels: tuple[Label, ...] = ()
    width: int = WIDTH
    height: int = HEIGHT
    base_y: float = HEIGHT - BOTTOM
    left: float = LEFT
    right: float = WIDTH - RIGHT

    @property
    def path(self) -> str:
        return " ".join(f"{'M' if i == 0 else 'L'}{p.x:.1f},{p.y:.1f}" for i, p in enumerate(self.points))


def _span(lo: float, hi: float, digits: int) -> tuple[float, float]:
    """The axis range; around a single value, a band wide enough to label with ``digits``."""
    if lo != hi:
        return lo, hi
    pad = max(abs(lo) * 0.05, 10.0 ** -digits)
    return lo - pad, hi + pad


def histogram(values: list[float], *, digits: int, title: str) -> Chart:
    """Finite ``values`` in HISTOGRAM_BINS bins; a dashed line marks zero when it is in range."""
    lo, hi = _span(float(min(values)), float(max(values)), digits)
    counts, edges = np.histogram(values, bins=HISTOGRAM_BINS, range=(lo, hi))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    tallest, step = int(counts.max()), plot_w / HISTOGRAM_BINS
    bars = tuple(
        Bar(LEFT + i * step, TOP + plot_h * (1 - n / tallest), max(step - 1, 1), plot_h * n / tallest,
            f"{number(edges[i], digits, True)} to {number(edges[i + 1], digits, True)}: {n}")
        for i, n in enumerate(counts) if n
    )
    zero = LEFT + (0 - lo) / (hi - lo) * plot_w if lo < 0 < hi else None
    labels = (
        Label(LEFT, HEIGHT - 5, number(lo, digits, True)),
        Label(LEFT + plot_w, HEIGHT - 5, number(hi, digits, True), "end"),
        Label(LEFT - 4, TOP + 8, str(tallest), "end"),
        Label(LEFT - 4, TOP + plot_h, "0", "end"),
    )
    return Chart(title=title, bars=bars, zero_x=zero, labels=labels)


def trend(values: list[float | None], runs: list[str], *, digits: int, title: str) -> Chart | None:
    """``values`` (one per run, oldest first; None where a run has none) as a line over the
    runs, evenly spaced; None when fewer than two runs have a value."""
    known = [(i, v) for i, v in enumerate(values) if v is not None and math.isfinite(v)]
    if len(known) < 2:
        return None
    lo, hi = _span(min(v for _, v in known), max(v for _, v in known), digits)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    last = max(len(values) - 1, 1)
    points = tuple(
        Point(LEFT + plot_w * i / last, TOP + plot_h * (hi - v) / (hi - lo), f"{runs[i]}: {number(v, digits)}")
        for i, v in known
    )
    labels = (
        Label(LEFT - 4, TOP + 8, number(hi, digits), "end"),
        Label(LEFT - 4, TOP + plot_h, number(lo, digits), "end"),
        Label(LEFT, HEIGHT - 5, f"run 1 of {len(runs)}"),
        Label(LEFT + plot_w, HEIGHT - 5, f"run {len(runs)}", "end"),
    )
    return Chart(title=title, points=points, labels=labels)
