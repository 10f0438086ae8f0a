"""The damage diagnosis: one typed, versioned, TensorFlow-free value per image, and the
training targets it is learnt from.

The diagnosis model (a small CNN, ``model.diagnosis_net``) reads a few crops of an image and
outputs ``len(OUTPUTS)`` numbers per crop; ``aggregate`` merges the crops and
``Diagnosis.from_outputs`` turns the result into named, unit-carrying fields. The same
``OUTPUTS`` order is what ``targets`` makes from a shard record's ``degradation`` (the list of
sampled steps job 1 stores), so the writer of the training targets and the reader of the
model's outputs share one definition.

Version 2: ``undamaged`` is the verdict "no damage found" (the network's undamaged output, or
no damage above the thresholds the models repair); version 1 held the network's call alone.
Bump ``DIAGNOSIS_VERSION`` when a field's meaning changes: the scores table stores the version
beside the values, and a rerun diagnoses again an image whose stored diagnosis is of another.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence

import numpy as np

from restoreflow.records import ORIGINAL_OPS

DIAGNOSIS_VERSION = 2

# What the network outputs, in order. "logit" outputs are probabilities before a sigmoid;
# "value" outputs are regressions on the scale given (target = physical value / scale).
OUTPUTS = (
    ("noise_sigma", "value", 50.0),  # Gaussian noise sigma on the 0-255 scale
    ("noise_color", "logit", 1.0),  # independent noise per channel (else one gray field)
    ("jpeg", "logit", 1.0),  # JPEG-compressed at some point
    ("jpeg_quality", "value", 100.0),  # its quality (0 when never JPEG)
    ("blur_sigma", "value", 2.5),  # Gaussian blur sigma in pixels (geometric mean of the axes)
    ("resolution_loss", "value", 1.0),  # 1 - the factor it was resampled down by (0 = full)
    ("undamaged", "logit", 1.0),  # no damage applied at all (film grain is not damage)
)
INDEX = {name: i for i, (name, _, _) in enumerate(OUTPUTS)}

# Decision thresholds of from_outputs: below these a damage is not reported. They are the
# smallest amounts the bundled models measurably repair (bench/RESULTS.md, diagnosis section).
MIN_NOISE_SIGMA = 3.0
MAX_JPEG_QUALITY = 90
MIN_BLUR_SIGMA = 0.5
MAX_RESOLUTION = 0.9
# The network's undamaged output at or above this probability says "undamaged" whatever the
# estimates say (film grain and a camera's sharpening are part of the photograph).
MIN_UNDAMAGED_PROBABILITY = 0.5


def targets(degradation: Mapping) -> np.ndarray:
    """The training targets (float32, ``len(OUTPUTS)``) of one record's ``degradation``
    (``{"recipe": ..., "steps": [sampled steps]}``)."""
    steps = degradation["steps"]
    out = np.zeros(len(OUTPUTS), np.float32)
    for step in steps:
        op = step["op"]
        if op == "gaussian_noise":
            out[INDEX["noise_sigma"]] = step["noise_sigma"]
            out[INDEX["noise_color"]] = float(step["color"])
        elif op == "jpeg":
            out[INDEX["jpeg"]] = 1.0
            out[INDEX["jpeg_quality"]] = step["quality"]
        elif op == "gaussian_blur":
            out[INDEX["blur_sigma"]] = math.sqrt(step["sigma_x"] * step["sigma_y"])
        elif op == "resize":
            out[INDEX["resolution_loss"]] = 1.0 - step["scale_factor"]
        elif op in ORIGINAL_OPS:
            continue  # film grain and sharpening belong to the photograph: not damage
        else:
            raise ValueError(f"the diagnosis has no target for degradation {op!r}; use the diagnose recipe")
    out[INDEX["undamaged"]] = float(all(step["op"] in ORIGINAL_OPS for step in steps))
    return out / np.array([scale for _, _, scale in OUTPUTS], np.float32)


def aggregate(outputs: np.ndarray) -> np.ndarray:
    """Per-crop outputs (K, len(OUTPUTS)) -> one row: the median of each column. The median
    keeps one crop of sky or of texture from deciding the whole image."""
    outputs = np.asarray(outputs, np.float64)
    if outputs.ndim != 2 or outputs.shape[1] != len(OUTPUTS) or not len(outputs):
        raise ValueError(f"expected (K, {len(OUTPUTS)}) outputs, got shape {outputs.shape}")
    return np.median(outputs, axis=0)


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(x, 60.0), -60.0)))


@dataclasses.dataclass(frozen=True)
class Diagnosis:
    """What damage an image shows. Units are in the names; None/0 mean "not found"."""

    noise_sigma: float  # estimated Gaussian noise sigma, 0-255 scale
    noise_kind: str  # "none", "luma" (one gray field) or "color" (per channel)
    jpeg_quality: int | None  # estimated quality when JPEG blocking was found, else None
    blur_sigma: float  # estimated Gaussian blur sigma, pixels
    resolution: float  # effective resolution: 1.0 = full, 0.5 = upscaled from half size
    undamaged: bool  # no damage found: the network says so, or no damage is above the thresholds
    undamaged_probability: float  # the network's own call
    estimator: str  # model_id of the diagnosis model
    version: int = DIAGNOSIS_VERSION

    @classmethod
    def from_outputs(cls, row: Sequence[float], estimator: str) -> Diagnosis:
        """One aggregated output row of the network -> a Diagnosis."""
        value = {name: float(row[i]) * scale for i, (name, _, scale) in enumerate(OUTPUTS)}
        sigma = round(max(value["noise_sigma"], 0.0), 2)
        p_undamaged = _sigmoid(float(row[INDEX["undamaged"]]))
        jpeg = _sigmoid(float(row[INDEX["jpeg"]])) >= 0.5
        jpeg_quality = int(min(max(round(value["jpeg_quality"]), 1), 100)) if jpeg else None
        blur_sigma = round(max(value["blur_sigma"], 0.0), 2)
        resolution = round(min(max(1.0 - value["resolution_loss"], 0.05), 1.0), 3)
        return cls(
            noise_sigma=sigma,
            noise_kind="none" if sigma < MIN_NOISE_SIGMA else
            ("color" if _sigmoid(float(row[INDEX["noise_color"]])) >= 0.5 else "luma"),
            jpeg_quality=jpeg_quality,
            blur_sigma=blur_sigma,
            resolution=resolution,
            # Damage too faint for any model to repair is no damage: the image is left as it is.
            undamaged=p_undamaged >= MIN_UNDAMAGED_PROBABILITY or not _kinds(sigma, jpeg_quality, blur_sigma, resolution),
            undamaged_probability=round(p_undamaged, 4),
            estimator=estimator,
        )

    def damage(self) -> tuple[str, ...]:
        """The kinds of damage found, in a fixed order: noise, jpeg, blur, soft."""
        if self.undamaged:
            return ()
        return _kinds(self.noise_sigma, self.jpeg_quality, self.blur_sigma, self.resolution)

    def label(self) -> str:
        """One word for counts and the report: undamaged, noise, jpeg, blur, soft or mixed."""
        kinds = self.damage()
        if not kinds:
            return "undamaged"
        return kinds[0] if len(kinds) == 1 else "mixed"

    def found_by_network(self) -> bool:
        """Whether the network itself called the image undamaged (else: damage below the thresholds)."""
        return self.undamaged_probability >= MIN_UNDAMAGED_PROBABILITY

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping) -> Diagnosis:
        if data.get("version") != DIAGNOSIS_VERSION:
            raise ValueError(f"diagnosis of version {data.get('version')}; this restoreflow reads {DIAGNOSIS_VERSION}")
        return cls(**{f.name: data[f.name] for f in dataclasses.fields(cls)})

    def to_columns(self) -> dict:
        """The scores table's diagnosis_* columns."""
        return {COLUMN_PREFIX + "label": self.label(),
                **{COLUMN_PREFIX + name: value for name, value in self.to_dict().items()}}

    @classmethod
    def from_columns(cls, row: Mapping) -> Diagnosis | None:
        """The diagnosis a scores row recorded, or None (none recorded, or of another version)."""
        data = {f.name: row.get(COLUMN_PREFIX + f.name) for f in dataclasses.fields(cls)}
        if data["version"] != DIAGNOSIS_VERSION or data["estimator"] is None:
            return None
        return cls.from_dict(data)


COLUMN_PREFIX = "diagnosis_"


def _kinds(noise_sigma: float, jpeg_quality: int | None, blur_sigma: float, resolution: float) -> tuple[str, ...]:
    """The kinds of damage above the thresholds, in a fixed order: noise, jpeg, blur, soft."""
    found = (
        ("noise", noise_sigma >= MIN_NOISE_SIGMA),
        ("jpeg", jpeg_quality is not None and jpeg_quality <= MAX_JPEG_QUALITY),
        ("blur", blur_sigma >= MIN_BLUR_SIGMA),
        ("soft", resolution <= MAX_RESOLUTION),
    )
    return tuple(name for name, present in found if present)
