"""``--model auto``: which bundled model restores an image, chosen from its diagnosis.

The rule is a plain function of the ``Diagnosis``, so a rerun recomputes each choice from the
diagnosis stored for the image's bytes, without reading the image again; since an image's
settings key names the model chosen, a changed rule redoes exactly the images whose choice
moved. The thresholds live in ``restoreflow.diagnosis``; which model serves which damage was
measured on the mixed archive of ``bench/jobs/diagnosis.py`` (figures in bench/RESULTS.md).
"""

from __future__ import annotations

import dataclasses

from restoreflow.diagnosis import Diagnosis

AUTO = "auto"
COPY = "copy"  # no model: the input is written unchanged
# The bundled models --model auto may pick. They share one geometry (colour U-Nets of the
# same size), so tiles are cut once and any of them can restore any tile.
AUTO_MODELS = ("restore", "denoise-color", "jpeg", "sharpen")
# Softness (blur or resampling) with at most this much noise is sharpen's: it learnt softness
# with faint noise, and beat deblur on blur as well as restore on resampled photographs. Blur
# makes the faint noise under it read as sigma 3-7; raised from 6 after six draws, where sharpen
# beat restore on 4 of the 5 images read at 6-7 (by 1.1-3.8 dB); noisy images read 7.9 and up.
# Seed 89 was drawn after this and the softness rule below were fixed.
MAX_SHARPEN_NOISE_SIGMA = 7.5
# Colour noise up to this sigma is denoise-color's. It learnt unclipped noise; stronger noise
# clips on bright and dark areas, where restore (trained on clipped files) did up to 6 dB better.
MAX_DENOISE_COLOR_SIGMA = 30.0
# JPEG this heavy (estimated quality) is jpeg's even when the diagnosis also reports noise or
# softness: strong blocking reads as both, and every JPEG-only image of the mixed archive did
# best with jpeg, while the mixed chains (noise and resampling before JPEG) that restore serves
# read as quality 28 or more on the three draws measured. Set on seed 19 (any value from 20
# to 29 gave the same choices there); seed 43 was drawn after it was fixed.
MAX_HEAVY_JPEG_QUALITY = 25
# Lighter JPEG over noise this faint (below what counts as noise on its own) is a chain: noise
# added before compression, which the compression mostly removed, read as sigma 1.8-2.8 where
# JPEG alone read as 0.2-0.8 on the draw seed 61, and restore served those chains 0.4-3.2 dB better.
# Set after the held-out draw seed 61 (any value from 1.0 to 1.75 gave the same choices on the
# five draws); seed 73 was drawn after it was fixed. The same holds where JPEG's smoothing also
# reads as softness: over six draws every JPEG-only image read so had sigma <= 1.3, most chains
# 1.5 or more, and jpeg beat restore on those JPEG-only images by 0.5-1.7 dB (sixth stop).
MIN_CHAIN_NOISE_SIGMA = 1.5


@dataclasses.dataclass(frozen=True)
class Choice:
    """The model an image goes to (a name of AUTO_MODELS, or COPY) and why, in words."""

    model: str
    reason: str

    @property
    def copies(self) -> bool:
        return self.model == COPY


def choose(diagnosis: Diagnosis) -> Choice:
    """Undamaged, or damage too faint to repair: copy. Otherwise the model that measured best
    for that damage on the mixed archive (bench/RESULTS.md): JPEG alone (its smoothing may read
    as softness), or JPEG of quality 25 or less with noise or softness but no blur -> ``jpeg``
    (lighter JPEG over faint noise -> ``restore``); blur or resampling with at most faint
    noise -> ``sharpen``; noise in every channel up to sigma 30
    -> ``denoise-color``, which was trained on it; noise of one gray field or stronger ->
    ``restore`` (``denoise-color`` leaves the one and fails on the clipping of the other);
    every other mix -> ``restore``."""
    kinds = diagnosis.damage()
    if not kinds:
        return Choice(COPY, "no damage found" if diagnosis.found_by_network() else
                      "no damage above what the models repair")
    if kinds in (("jpeg",), ("jpeg", "soft")):
        if diagnosis.noise_sigma >= MIN_CHAIN_NOISE_SIGMA and diagnosis.jpeg_quality > MAX_HEAVY_JPEG_QUALITY:
            return Choice("restore", "JPEG over faint noise (a chain)")
        return Choice("jpeg", "JPEG only" if kinds == ("jpeg",) else "JPEG (its smoothing reads as softness)")
    if "jpeg" in kinds and "blur" not in kinds and diagnosis.jpeg_quality <= MAX_HEAVY_JPEG_QUALITY:
        return Choice("jpeg", "heavy JPEG (its blocking also reads as " + " and ".join(
            "softness" if k == "soft" else k for k in kinds if k != "jpeg") + ")")
    soft = [kind for kind in kinds if kind in ("blur", "soft")]
    if soft and "jpeg" not in kinds and diagnosis.noise_sigma < MAX_SHARPEN_NOISE_SIGMA:
        return Choice("sharpen", " and ".join(soft) + (" with faint noise" if "noise" in kinds else ""))
    if "jpeg" not in kinds and "noise" in kinds and diagnosis.noise_kind == "color" \
            and diagnosis.noise_sigma <= MAX_DENOISE_COLOR_SIGMA:
        return Choice("denoise-color", "colour noise" + ("" if kinds == ("noise",) else " (with " +
                                                         " + ".join(k for k in kinds if k != "noise") + ")"))
    if kinds == ("noise",):
        return Choice("restore", "gray noise" if diagnosis.noise_kind == "luma" else "strong colour noise")
    return Choice("restore", "mixed: " + " + ".join(kinds))
