"""The degradation steps a recipe lists, each a frozen dataclass that owns its whole life:
its YAML fields and their ranges (checked on load), ``sample`` (draws the parameters of one
application from the generator: a plain JSON-able dict, stored in each record), ``apply``
(runs the operator of ``ops`` with those parameters) and ``context_px`` (the margin of real
image a patch needs around it for the step to look right at its edges).

``apply(image, params, rng, margin)`` takes a float32 HWC image and the sampled ``params``
(and the generator for a noise realisation, and the image's outer ``margin`` that is context
only); it returns (degraded image, mask or None). A new degradation is one class here,
listed in ``STEP_TYPES``, plus its operator in ``ops``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import ClassVar, Protocol

import numpy as np

from pipelines.degrade import kernels, ops
from pipelines.degrade.original import FilmGrain, UnsharpMask
from pipelines.degrade.realworld import SecondOrder
from pipelines.degrade.span import Span, check_probability
from restoreflow.configs import check


@dataclasses.dataclass(frozen=True)
class GaussianNoise:
    """Additive Gaussian noise. noise_sigma: 0-255 scale, within [0, 255].
    color_probability: chance of independent noise per channel (else one gray field)."""

    op: ClassVar[str] = "gaussian_noise"
    noise_sigma: Span
    color_probability: float = 0.0
    probability: float = 1.0

    def __post_init__(self):
        self.noise_sigma.within(f"{self.op}.noise_sigma", 0.0, 255.0)
        check(0 <= self.color_probability <= 1, f"{self.op}.color_probability", "must lie within [0, 1]")
        check_probability(self)

    def sample(self, rng):
        return {"noise_sigma": self.noise_sigma.draw(rng), "color": bool(rng.random() < self.color_probability)}

    @staticmethod
    def apply(image, params, rng, margin):
        return ops.gaussian_noise(image, noise_sigma=params["noise_sigma"], color=params["color"], rng=rng), None

    def context_px(self) -> int:
        return 0


@dataclasses.dataclass(frozen=True)
class PoissonNoise:
    """Shot noise. peak: photons at white, within [1, 100000], drawn log-uniformly."""

    op: ClassVar[str] = "poisson_noise"
    peak: Span
    probability: float = 1.0

    def __post_init__(self):
        self.peak.within(f"{self.op}.peak", 1.0, 1e5)
        check_probability(self)

    def sample(self, rng):
        return {"peak": self.peak.draw_log(rng)}

    @staticmethod
    def apply(image, params, rng, margin):
        return ops.poisson_noise(image, peak=params["peak"], rng=rng), None

    def context_px(self) -> int:
        return 0


@dataclasses.dataclass(frozen=True)
class GaussianBlur:
    """Gaussian blur. blur_sigma: pixels, within [0.1, 10]. With anisotropic_probability the
    second axis's sigma is drawn separately from the same range and the kernel rotated by a
    uniform angle."""

    op: ClassVar[str] = "gaussian_blur"
    blur_sigma: Span
    anisotropic_probability: float = 0.0
    probability: float = 1.0

    def __post_init__(self):
        self.blur_sigma.within(f"{self.op}.blur_sigma", 0.1, 10.0)
        check(0 <= self.anisotropic_probability <= 1, f"{self.op}.anisotropic_probability", "must lie within [0, 1]")
        check_probability(self)

    def sample(self, rng):
        sigma_x = self.blur_sigma.draw(rng)
        if rng.random() < self.anisotropic_probability:
            return {"sigma_x": sigma_x, "sigma_y": self.blur_sigma.draw(rng), "theta": float(rng.uniform(0, math.pi))}
        return {"sigma_x": sigma_x, "sigma_y": sigma_x, "theta": 0.0}

    @staticmethod
    def apply(image, params, rng, margin):
        return ops.gaussian_blur(image, sigma_x=params["sigma_x"], sigma_y=params["sigma_y"],
                                 theta=params["theta"]), None

    def context_px(self) -> int:
        return math.ceil(3 * self.blur_sigma.hi)


@dataclasses.dataclass(frozen=True)
class MotionBlur:
    """Linear motion blur. length: pixels, within [1, 64]; angle: degrees, within [0, 360]."""

    op: ClassVar[str] = "motion_blur"
    length: Span
    angle: Span = Span(0.0, 180.0)
    probability: float = 1.0

    def __post_init__(self):
        self.length.within(f"{self.op}.length", 1.0, 64.0)
        self.angle.within(f"{self.op}.angle", 0.0, 360.0)
        check_probability(self)

    def sample(self, rng):
        return {"length": self.length.draw(rng), "angle": self.angle.draw(rng)}

    @staticmethod
    def apply(image, params, rng, margin):
        return ops.motion_blur(image, length=params["length"], angle=params["angle"]), None

    def context_px(self) -> int:
        return math.ceil(self.length.hi / 2) + 1


@dataclasses.dataclass(frozen=True)
class Jpeg:
    """JPEG compression with Pillow. quality: within [1, 95], drawn as an integer."""

    op: ClassVar[str] = "jpeg"
    quality: Span
    probability: float = 1.0

    def __post_init__(self):
        self.quality.within(f"{self.op}.quality", 1, 95)
        check_probability(self)

    def sample(self, rng):
        return {"quality": int(round(self.quality.draw(rng)))}

    @staticmethod
    def apply(image, params, rng, margin):
        return ops.jpeg(image, quality=params["quality"]), None

    def context_px(self) -> int:
        return 8


@dataclasses.dataclass(frozen=True)
class Resize:
    """Shrink by scale_factor (within [0.1, 1]) with bicubic antialiasing, then resize back,
    so the image keeps its size but loses detail (the blind chain's resampling step)."""

    op: ClassVar[str] = "resize"
    scale_factor: Span
    probability: float = 1.0

    def __post_init__(self):
        self.scale_factor.within(f"{self.op}.scale_factor", 0.1, 1.0)
        check_probability(self)

    def sample(self, rng):
        return {"scale_factor": self.scale_factor.draw(rng)}

    @staticmethod
    def apply(image, params, rng, margin):
        height, width = image.shape[:2]
        small_height = max(1, round(height * params["scale_factor"]))
        small_width = max(1, round(width * params["scale_factor"]))
        small = ops.resize(image, height=small_height, width=small_width)
        return ops.resize(small, height=height, width=width), None

    def context_px(self) -> int:
        return math.ceil(4 / self.scale_factor.lo)


@dataclasses.dataclass(frozen=True)
class Downscale:
    """Super-resolution input: bicubic downscale by scale (2, 3 or 4), antialiased; with
    reupscale the result is resized back (the interpolated input of VDSR and DnCNN-3)."""

    op: ClassVar[str] = "downscale"
    scale: int
    reupscale: bool = False
    probability: float = 1.0

    def __post_init__(self):
        check(self.scale in (2, 3, 4), f"{self.op}.scale", f"must be 2, 3 or 4, got {self.scale}")
        check(self.probability == 1.0, f"{self.op}.probability", "downscale always runs (must be 1)")

    def sample(self, rng):
        return {"scale": self.scale, "reupscale": self.reupscale}

    @staticmethod
    def apply(image, params, rng, margin):
        return ops.downscale(image, scale=params["scale"], reupscale=params["reupscale"]), None

    def context_px(self) -> int:
        return 4 * self.scale


@dataclasses.dataclass(frozen=True)
class SincFilter:
    """Ringing and overshoot: the 2-D sinc (ideal low-pass) filter of ``size`` taps (odd,
    within [3, 41]) with a cutoff in radians per pixel, within [0.3, pi] (Real-ESRGAN)."""

    op: ClassVar[str] = "sinc_filter"
    cutoff: Span
    size: int = 21
    probability: float = 1.0

    def __post_init__(self):
        self.cutoff.within(f"{self.op}.cutoff", 0.3, math.pi)
        check(3 <= self.size <= 41 and self.size % 2 == 1, f"{self.op}.size", f"must be odd, within [3, 41], got {self.size}")
        check_probability(self)

    def sample(self, rng):
        return {"cutoff": self.cutoff.draw(rng), "size": self.size}

    @staticmethod
    def apply(image, params, rng, margin):
        return ops.filter2d(image, kernels.sinc_kernel(size=params["size"], cutoff=params["cutoff"])), None

    def context_px(self) -> int:
        return self.size // 2


@dataclasses.dataclass(frozen=True)
class InpaintMask:
    """Free-form strokes and boxes; the masked pixels are set to 0 and the mask stored.
    min_fraction / max_fraction: bounds on the masked share of the image, within [0, 0.9]."""

    op: ClassVar[str] = "inpaint_mask"
    min_fraction: float = 0.05
    max_fraction: float = 0.4
    stroke_probability: float = 0.7
    probability: float = 1.0

    def __post_init__(self):
        check(0 <= self.min_fraction <= self.max_fraction <= 0.9, f"{self.op}.min_fraction",
              "need 0 <= min_fraction <= max_fraction <= 0.9")
        check(0 <= self.stroke_probability <= 1, f"{self.op}.stroke_probability", "must lie within [0, 1]")
        check(self.probability == 1.0, f"{self.op}.probability", "the mask always applies (must be 1)")

    def sample(self, rng):
        return {
            "mask_seed": int(rng.integers(0, 2**63 - 1)),
            "min_fraction": self.min_fraction,
            "max_fraction": self.max_fraction,
            "stroke_probability": self.stroke_probability,
        }

    @staticmethod
    def apply(image, params, rng, margin):
        """The mask (from its own sampled seed) is drawn inside the context ``margin``."""
        height, width = image.shape[0] - 2 * margin, image.shape[1] - 2 * margin
        core = ops.inpaint_mask(height=height, width=width, min_fraction=params["min_fraction"],
                                max_fraction=params["max_fraction"], stroke_probability=params["stroke_probability"],
                                rng=np.random.default_rng(params["mask_seed"]))
        mask = np.pad(core, ((margin, margin), (margin, margin), (0, 0)))
        return ops.apply_mask(image, mask), mask

    def context_px(self) -> int:
        return 0


STEP_TYPES: dict[str, type] = {  # op name -> step class
    cls.op: cls for cls in (FilmGrain, UnsharpMask, GaussianNoise, PoissonNoise, GaussianBlur, MotionBlur, Jpeg, Resize,
                            Downscale, InpaintMask, SincFilter, SecondOrder)
}


class Step(Protocol):
    """What every class above is."""

    op: ClassVar[str]
    probability: float

    def sample(self, rng: np.random.Generator) -> dict: ...

    @staticmethod
    def apply(image: np.ndarray, params: dict, rng: np.random.Generator,
              margin: int) -> tuple[np.ndarray, np.ndarray | None]: ...

    def context_px(self) -> int: ...
