"""Advice from the no-reference signals of the inputs: when they do not show the damage the
model is for, the run says so once (summary line, ``summary.json``, report) and points to
``restoreflow models``. A denoiser given clean photographs, or a JPEG model given images
without blocking, mostly smooths detail away while the scores look busy.

The thresholds are medians over a run's restored inputs, measured on clean and degraded
benchmark sets (bench/RESULTS.md, "Guidance thresholds").
"""

from __future__ import annotations

LITTLE_NOISE_SIGMA = 5.0
"""Median estimated noise sigma (0-255) below which inputs show little noise. Clean BSD68,
Kodak24 and Classic5 measure 3.3, 3.2 and 4.6; with Gaussian noise of sigma 5 added, 6.6, 6.2
and 7.1."""

NO_BLOCKING = 1.1
"""Median JPEG blockiness below which inputs show no blocking (1 = none). Clean sets measure
1.00-1.01, JPEG quality 90 0.98-1.07, quality 70 1.17-1.25, quality 50 1.31-1.38."""

NOISIER_THAN_TRAINED = 1.2
"""Inputs whose median sigma exceeds the model's largest training sigma by this factor are
noisier than anything it saw."""

_SEE_MODELS = "`restoreflow models` lists the bundled models and the damage each is for."


def _median(summary: dict, column: str) -> float | None:
    stats = summary.get("scores", {}).get(column)
    return None if stats is None else stats["p50"]


def _trained_max_sigma(card: dict) -> float | None:
    """The largest Gaussian noise sigma in the model's training recipe, when its card says."""
    steps = ((card.get("data") or {}).get("recipe") or {}).get("steps") or []
    sigmas = [s.get("noise_sigma") for s in steps if s.get("op") == "gaussian_noise"]
    values = [v for sigma in sigmas for v in (sigma if isinstance(sigma, list) else [sigma]) if v is not None]
    return max(values) if values else None


def advise(summary: dict, card: dict, *, model: str, paired: bool) -> list[str]:
    """Notes on a finished run, from its summary's medians; none in paired mode (the job
    degraded the inputs itself) or when no image was restored."""
    if paired:
        return []
    task = card.get("task")
    notes = []
    sigma = _median(summary, "noise_sigma_degraded")
    if task == "denoise" and sigma is not None:
        trained = _trained_max_sigma(card)
        if sigma < LITTLE_NOISE_SIGMA:
            notes.append(
                f"the inputs show little noise (median estimated noise sigma {sigma:.1f} on 0-255; clean "
                f"photographs measure 3-5), but {model} is a denoiser: on them it mostly smooths fine detail."
            )
        elif trained and sigma > NOISIER_THAN_TRAINED * trained:
            notes.append(
                f"the inputs are noisier (median estimated noise sigma {sigma:.1f}) than anything {model} was "
                f"trained on (sigma up to {trained:g}): expect leftover noise."
            )
    blockiness = _median(summary, "blockiness_degraded")
    if task == "jpeg" and blockiness is not None and blockiness < NO_BLOCKING:
        notes.append(
            f"the inputs show no JPEG blocking (median blockiness {blockiness:.2f}; 1 = none, quality-50 JPEGs "
            f"measure about 1.35), but {model} removes JPEG artefacts: on them it mostly smooths fine detail."
        )
    return [f"{note} {_SEE_MODELS}" for note in notes]
