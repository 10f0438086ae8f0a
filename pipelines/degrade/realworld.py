"""The second-order ("real-world") degradation step, after Real-ESRGAN (Wang et al. 2021) and
BSRGAN (Zhang et al. 2021): two rounds of {blur, resize, noise, JPEG}, then the resize to the
target scale and a sinc (ringing) filter, with the last JPEG before or after them at random.

One step rather than a list of steps because the rounds change the working size and only the
whole chain knows where it must end: exactly clean size / ``scale``. ``sample`` draws every
choice and parameter of one application (a nested JSON-able dict, stored in each record);
``apply`` runs exactly them. A ``clean_probability`` share of draws skips the damage (only the
bicubic resize to the target scale), so undamaged photographs are learnt to come back as they
were.
"""

from __future__ import annotations

import dataclasses
import math
from typing import ClassVar

import numpy as np

from pipelines.degrade import kernels, ops
from pipelines.degrade.span import Span
from restoreflow.configs import check

RESIZE_KERNELS = tuple(ops.RESIZE_KERNELS)


def _probability(value: float, key: str) -> None:
    check(0.0 <= value <= 1.0, key, f"must lie within [0, 1], got {value}")


@dataclasses.dataclass(frozen=True)
class KernelMix:
    """Relative weights of the blur kernel kinds (Real-ESRGAN's by default)."""

    iso: float = 0.45
    aniso: float = 0.25
    generalized_iso: float = 0.12
    generalized_aniso: float = 0.03
    plateau_iso: float = 0.12
    plateau_aniso: float = 0.03

    def validate(self, key: str) -> None:
        weights = dataclasses.astuple(self)
        check(min(weights) >= 0 and sum(weights) > 0, key, "weights must be >= 0 and not all 0")

    def draw(self, rng: np.random.Generator) -> str:
        weights = np.asarray(dataclasses.astuple(self), np.float64)
        return kernels.KERNEL_KINDS[int(rng.choice(len(weights), p=weights / weights.sum()))]


@dataclasses.dataclass(frozen=True)
class Round:
    """One round of damage. Sigmas and kernel sizes in pixels of the working image; resize
    factors relative to the working size (first round) or to the target size (second round,
    as Real-ESRGAN does); noise_sigma on the 0-255 scale; poisson_scale multiplies the shot
    noise of 8-bit counts. The second round's JPEG is the final one (see ``SecondOrder``)."""

    blur_probability: float = 1.0
    kernel_size: Span = Span(7.0, 21.0)
    blur_sigma: Span = Span(0.2, 3.0)
    generalized_beta: Span = Span(0.5, 4.0)
    plateau_beta: Span = Span(1.0, 2.0)
    sinc_probability: float = 0.1
    kernels: KernelMix = KernelMix()
    resize_up_probability: float = 0.2
    resize_down_probability: float = 0.7
    resize_up: Span = Span(1.0, 1.5)
    resize_down: Span = Span(0.15, 1.0)
    gaussian_noise_probability: float = 0.5
    noise_sigma: Span = Span(1.0, 30.0)
    poisson_scale: Span = Span(0.05, 3.0)
    gray_noise_probability: float = 0.4
    jpeg_quality: Span = Span(30.0, 95.0)

    def validate(self, key: str) -> None:
        for name in ("blur_probability", "sinc_probability", "resize_up_probability",
                     "resize_down_probability", "gaussian_noise_probability", "gray_noise_probability"):
            _probability(getattr(self, name), f"{key}.{name}")
        check(self.resize_up_probability + self.resize_down_probability <= 1, f"{key}.resize_down_probability",
              "resize_up_probability + resize_down_probability must not exceed 1")
        self.kernel_size.within(f"{key}.kernel_size", 3, 41)
        self.blur_sigma.within(f"{key}.blur_sigma", 0.1, 10.0)
        self.generalized_beta.within(f"{key}.generalized_beta", 0.2, 8.0)
        self.plateau_beta.within(f"{key}.plateau_beta", 0.5, 4.0)
        self.kernels.validate(f"{key}.kernels")
        self.resize_up.within(f"{key}.resize_up", 1.0, 4.0)
        self.resize_down.within(f"{key}.resize_down", 0.05, 1.0)
        self.noise_sigma.within(f"{key}.noise_sigma", 0.0, 255.0)
        self.poisson_scale.within(f"{key}.poisson_scale", 0.0, 10.0)
        self.jpeg_quality.within(f"{key}.jpeg_quality", 1, 95)

    def sample_blur(self, rng):
        if rng.random() >= self.blur_probability:
            return None
        odd = range(int(self.kernel_size.lo) | 1, int(self.kernel_size.hi) + 1, 2)
        size = int(odd[int(rng.integers(len(odd)))])
        if rng.random() < self.sinc_probability:  # ringing in place of a blur (Real-ESRGAN)
            low = math.pi / 3 if size < 13 else math.pi / 5
            return {"kind": "sinc", "size": size, "cutoff": float(rng.uniform(low, math.pi))}
        kind = self.kernels.draw(rng)
        blur = {"kind": kind, "size": size, "sigma_x": self.blur_sigma.draw(rng)}
        if kind.endswith("aniso"):
            blur.update(sigma_y=self.blur_sigma.draw(rng), theta=float(rng.uniform(-math.pi, math.pi)))
        if kind.startswith(("generalized", "plateau")):
            beta = self.generalized_beta if kind.startswith("generalized") else self.plateau_beta
            blur["beta"] = beta.draw(rng)
        return blur

    def sample_resize(self, rng):
        draw = rng.random()
        if draw < self.resize_up_probability:
            direction, factor = "up", self.resize_up.draw(rng)
        elif draw < self.resize_up_probability + self.resize_down_probability:
            direction, factor = "down", self.resize_down.draw(rng)
        else:
            direction, factor = "keep", 1.0
        return {"direction": direction, "factor": factor, "kernel": RESIZE_KERNELS[int(rng.integers(3))]}

    def sample_noise(self, rng):
        gray = bool(rng.random() < self.gray_noise_probability)
        if rng.random() < self.gaussian_noise_probability:
            return {"kind": "gaussian", "sigma": self.noise_sigma.draw(rng), "gray": gray}
        return {"kind": "poisson", "scale": self.poisson_scale.draw(rng), "gray": gray}

    def sample_jpeg(self, rng):
        return {"quality": int(round(self.jpeg_quality.draw(rng)))}


SECOND_ROUND = Round(blur_probability=0.8, blur_sigma=Span(0.2, 1.5), resize_up_probability=0.3,
                     resize_down_probability=0.4, resize_up=Span(1.0, 1.2), resize_down=Span(0.3, 1.0),
                     noise_sigma=Span(1.0, 25.0), poisson_scale=Span(0.05, 2.5))


def blur(image: np.ndarray, params: dict | None) -> np.ndarray:
    if params is None:
        return image
    if params["kind"] == "sinc":
        kernel = kernels.sinc_kernel(size=params["size"], cutoff=params["cutoff"])
    else:
        kernel = kernels.shaped_kernel(kind=params["kind"], size=params["size"], sigma_x=params["sigma_x"],
                                       sigma_y=params.get("sigma_y", params["sigma_x"]),
                                       theta=params.get("theta", 0.0), beta=params.get("beta", 1.0))
    return ops.filter2d(image, kernel)


def noise(image: np.ndarray, params: dict, rng: np.random.Generator) -> np.ndarray:
    if params["kind"] == "gaussian":
        out = ops.gaussian_noise(image, noise_sigma=params["sigma"], color=not params["gray"], rng=rng)
    else:
        out = ops.scaled_poisson_noise(image, scale=params["scale"], gray=params["gray"], rng=rng)
    return np.clip(out, 0.0, 1.0)  # a real file holds no values outside [0, 1]


def resize_to(image: np.ndarray, height: int, width: int, kernel: str) -> np.ndarray:
    if image.shape[:2] == (height, width):
        return image
    return ops.resize(image, height=height, width=width, kernel=kernel)


@dataclasses.dataclass(frozen=True)
class SecondOrder:
    """The whole second-order chain as one step. scale: how much smaller the result is (1 keeps
    the size; 2, 3, 4 for super-resolution); clean_probability: share of draws left undamaged
    (only the bicubic resize to the target); first/second: the two rounds; final_sinc_probability:
    chance of the sinc filter after the final resize (cutoff within [pi/3, pi], 21 taps)."""

    op: ClassVar[str] = "second_order"
    scale: int = 1
    clean_probability: float = 0.1
    first: Round = Round()
    second: Round = SECOND_ROUND
    final_sinc_probability: float = 0.8
    probability: float = 1.0

    def __post_init__(self):
        check(self.scale in (1, 2, 3, 4), f"{self.op}.scale", f"must be 1, 2, 3 or 4, got {self.scale}")
        _probability(self.clean_probability, f"{self.op}.clean_probability")
        _probability(self.final_sinc_probability, f"{self.op}.final_sinc_probability")
        check(self.probability == 1.0, f"{self.op}.probability",
              "the chain always runs (must be 1); use clean_probability for undamaged draws")
        self.first.validate(f"{self.op}.first")
        self.second.validate(f"{self.op}.second")

    def sample(self, rng):
        if rng.random() < self.clean_probability:
            return {"scale": self.scale, "clean": True}
        first = {"blur": self.first.sample_blur(rng), "resize": self.first.sample_resize(rng),
                 "noise": self.first.sample_noise(rng), "jpeg": self.first.sample_jpeg(rng)}
        second = {"blur": self.second.sample_blur(rng), "resize": self.second.sample_resize(rng),
                  "noise": self.second.sample_noise(rng)}
        sinc = rng.random() < self.final_sinc_probability
        final = {"jpeg_first": bool(rng.random() < 0.5), "kernel": RESIZE_KERNELS[int(rng.integers(3))],
                 "sinc_cutoff": float(rng.uniform(math.pi / 3, math.pi)) if sinc else None,
                 **self.second.sample_jpeg(rng)}
        return {"scale": self.scale, "clean": False, "first": first, "second": second, "final": final}

    @staticmethod
    def apply(image, params, rng, margin):
        """Runs the sampled chain; the result is exactly the input's size / scale (the input's
        sides are multiples of the scale, as patches and modcropped images are)."""
        height, width = image.shape[0] // params["scale"], image.shape[1] // params["scale"]
        if params["clean"]:
            return resize_to(image, height, width, "bicubic"), None
        first, second, final = params["first"], params["second"], params["final"]
        out = blur(image, first["blur"])
        factor = first["resize"]["factor"]
        out = resize_to(out, max(2, int(image.shape[0] * factor)), max(2, int(image.shape[1] * factor)),
                        first["resize"]["kernel"])
        out = ops.jpeg(noise(out, first["noise"], rng), quality=first["jpeg"]["quality"])
        out = blur(out, second["blur"])
        factor = second["resize"]["factor"]
        out = resize_to(out, max(2, int(height * factor)), max(2, int(width * factor)), second["resize"]["kernel"])
        out = noise(out, second["noise"], rng)
        if final["jpeg_first"]:
            out = ops.jpeg(out, quality=final["quality"])
        out = resize_to(out, height, width, final["kernel"])
        if final["sinc_cutoff"] is not None:
            out = ops.filter2d(out, kernels.sinc_kernel(size=21, cutoff=final["sinc_cutoff"]))
        if not final["jpeg_first"]:
            out = ops.jpeg(out, quality=final["quality"])
        return out, None

    def context_px(self) -> int:
        """The first blur's radius plus one JPEG block at the target scale (where the chain's
        grid is coarsest that a patch must see whole)."""
        return math.ceil(self.first.kernel_size.hi / 2) + 8 * self.scale
