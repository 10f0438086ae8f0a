"""The scores the report shows, in order, and how to read each.

Only the full-reference scores say which output is better (higher is). The no-reference
signals describe a change: a lower noise estimate can mean removed noise or lost detail, so
the page never colours them as better or worse.
"""

from __future__ import annotations

import dataclasses

from pipelines.quality.signals import SAMPLE_PIXELS

# The job reads these signals of a large image on a sample (pipelines.quality.signals.bands).
SAMPLED = f"; above {SAMPLE_PIXELS / 1e6:g} MP, read on evenly spaced bands of {SAMPLE_PIXELS / 1e6:g} MP"


@dataclasses.dataclass(frozen=True)
class Metric:
    name: str  # the Parquet columns are <name>_degraded and <name>_restored
    label: str
    digits: int
    full_reference: bool
    reading: str


METRICS = (
    Metric("psnr_db", "PSNR dB", 2, True, "against the reference: higher is better"),
    Metric("ssim", "SSIM", 4, True, "against the reference: higher is better"),
    Metric("ms_ssim", "MS-SSIM", 4, True, "against the reference: higher is better"),
    Metric("noise_sigma", "noise \u03c3", 2, False, "an estimate: lower means less noise, or less fine detail" + SAMPLED),
    # Laplacian variance: deblurring raises it, denoising lowers it (noise is "sharp" too).
    Metric("sharpness", "sharpness", 1, False, "fine contrast: detail and noise both raise it" + SAMPLED),
    Metric("blockiness", "blockiness", 3, False, "JPEG 8x8 blocking: 1 means none, higher is blockier" + SAMPLED),
    Metric("niqe", "NIQE", 2, False, "naturalness (NIQE): lower looks more like clean photographs; compare only "
           "with NIQE from this project's model (fitted on its training photographs), on at most 1024x1024 "
           "central pixels"),
)
