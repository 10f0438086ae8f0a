"""The sections of bench/zoo for denoising, JPEG and super-resolution: each prints a
markdown table with the model and every baseline measured in the same run on the same
degraded files, and says for each row whether issue 9's target is met.

Published numbers are from ../shared/data/README.md.
"""

from __future__ import annotations

from bench.common import PUBLISHED_BICUBIC, PUBLISHED_JPEG, jpeg_recipe
from bench.zoo import baselines
from bench.zoo.runs import Bench, Skip, Table, fmt, verdict

SIGMAS = (15, 25, 50)
CDNCNN_B = {15: 33.90, 25: 31.24, 50: 27.95}  # CBSD68, the authors' GD_Color_Blind.mat
CBM3D = {15: 33.52, 25: 30.71, 50: 27.38}  # CBSD68
PARITY_TOLERANCE_DB = 0.05
DENOISE_COLOR_TARGET = {15: 33.70, 25: 31.00, 50: 27.60}
QUALITIES = (10, 20, 30, 40)
JPEG_TARGET = {10: 29.10, 20: 31.25, 30: 32.60, 40: 33.45}  # classic5
ARCNN = {10: 29.03, 20: 31.15, 30: 32.51, 40: 33.34}  # classic5
KODAK_JPEG_GAIN_DB = 1.0  # at quality 10; and never below the input
SR_SCALES = (2, 4)
FSRCNN = {2: 37.05, 3: 33.18, 4: 30.72}  # Set5, Y channel; also the targets


def color_recipe(sigma: int) -> str:
    return f"denoise-color-s{sigma}"


def parity(bench: Bench) -> None:
    """CDnCNN-B's published weights through our colour path must give the paper's figures."""
    weights = bench.weights("GD_Color_Blind.mat")
    table = Table("Colour parity: CDnCNN-B weights (GD_Color_Blind.mat) on CBSD68, PSNR dB on RGB",
                  ["σ", "images", "noisy", "CDnCNN-B (published)", "CDnCNN-B weights, ours", "Δ", "SSIM",
                   f"target ±{PARITY_TOLERANCE_DB}"])
    for sigma in SIGMAS:
        score = bench.job(weights, "cbsd68", color_recipe(sigma))
        delta = score.psnr_db - CDNCNN_B[sigma]
        within = "met" if abs(delta) <= PARITY_TOLERANCE_DB else f"**missed** ({delta:+.3f} dB)"
        table.row(sigma, score.images, fmt(score.psnr_db_degraded), fmt(CDNCNN_B[sigma]), f"**{score.psnr_db:.3f}**",
                  f"{delta:+.3f}", fmt(score.ssim, 4), within)


def denoise_color(bench: Bench) -> None:
    model = bench.model("denoise-color")
    weights = bench.weights("GD_Color_Blind.mat")
    megapixels = bench.megapixels("cbsd68")
    table = Table("denoise-color: CBSD68 colour Gaussian noise, PSNR dB on RGB",
                  ["σ", "noisy", "denoise-color", "SSIM", "CDnCNN-B weights (measured)", "CBM3D (measured)",
                   "CBM3D s/MP", "CBM3D (published)", "CDnCNN-B (published)", "target", "verdict"],
                  note="CBM3D: `bm3d.bm3d_rgb` with the true σ (only with --cbm3d).")
    for sigma in SIGMAS:
        recipe = color_recipe(sigma)
        ours, theirs = bench.job(model, "cbsd68", recipe), bench.job(weights, "cbsd68", recipe)
        cbm3d = bench.baseline("cbsd68", recipe, "CBM3D", baselines.cbm3d(sigma)) if bench.cbm3d else None
        table.row(sigma, fmt(ours.psnr_db_degraded), f"**{ours.psnr_db:.2f}**", fmt(ours.ssim, 4),
                  fmt(theirs.psnr_db), fmt(cbm3d and cbm3d.psnr_db), fmt(cbm3d and cbm3d.seconds / megapixels, 1),
                  fmt(CBM3D[sigma]), fmt(CDNCNN_B[sigma]), f"≥ {DENOISE_COLOR_TARGET[sigma]:.2f}",
                  verdict(ours.psnr_db, DENOISE_COLOR_TARGET[sigma]))
        measured = {"CDnCNN-B": theirs.psnr_db, **({"CBM3D": cbm3d.psnr_db} if cbm3d else {})}
        bench.record("denoise-color", "cbsd68", f"sigma_{sigma}", ours, recipe=recipe, baselines_db=measured)
        if sigma == 25:
            bench.headline("denoise-color", f"cbsd68 σ25 {ours.psnr_db:.2f} dB (published: CBM3D {CBM3D[25]:.2f}, "
                                            f"CDnCNN-B {CDNCNN_B[25]:.2f})")


def jpeg(bench: Bench) -> None:
    model = bench.model("jpeg")
    dncnn3 = bench.weights("DnCNN3.mat")
    table = Table("jpeg: classic5 (gray), PSNR dB",
                  ["quality", "JPEG input", "jpeg", "SSIM", "DnCNN-3 weights (measured)", "DnCNN-3 (published)",
                   "ARCNN (published)", "target", "verdict"])
    for quality in QUALITIES:
        recipe = jpeg_recipe(bench.scratch, quality)
        ours, theirs = bench.job(model, "classic5", recipe), bench.job(dncnn3, "classic5", recipe)
        table.row(quality, fmt(ours.psnr_db_degraded), f"**{ours.psnr_db:.2f}**", fmt(ours.ssim, 4),
                  fmt(theirs.psnr_db), fmt(PUBLISHED_JPEG[quality]), fmt(ARCNN[quality]),
                  f"≥ {JPEG_TARGET[quality]:.2f}", verdict(ours.psnr_db, JPEG_TARGET[quality]))
        bench.record("jpeg", "classic5", f"q_{quality}", ours, recipe=recipe, baselines_db={"DnCNN-3": theirs.psnr_db})
        if quality == 10:
            bench.headline("jpeg", f"classic5 q10 {ours.psnr_db:.2f} dB (ARCNN {ARCNN[10]:.2f})")
    jpeg_kodak(bench, model, dncnn3)


def jpeg_kodak(bench: Bench, model: str, dncnn3: str) -> None:
    table = Table("jpeg: kodak24 colour, PSNR dB on Y (the JPEG convention)",
                  ["quality", "JPEG input", "jpeg", "gain", "worst image's gain", "DnCNN-3 weights on luma (measured)",
                   "target", "verdict"],
                  note="Target: at least +1.0 dB over the input at quality 10, and no image ever below its input.")
    for quality in QUALITIES:
        recipe = jpeg_recipe(bench.scratch, quality)
        ours, theirs = bench.job(model, "kodak24", recipe), bench.job(dncnn3, "kodak24", recipe)
        need = KODAK_JPEG_GAIN_DB if quality == 10 else 0.0
        target = (f"gain ≥ +{need:.1f}, " if need else "") + "worst ≥ 0"
        if ours.worst_gain_db < 0:
            result = f"**missed**: an image lost {-ours.worst_gain_db:.2f} dB"
        else:
            result = verdict(ours.gain_db, need)
        table.row(quality, fmt(ours.psnr_db_degraded), f"**{ours.psnr_db:.2f}**", f"{ours.gain_db:+.2f}",
                  f"{ours.worst_gain_db:+.2f}", fmt(theirs.psnr_db), target, result)
        bench.record("jpeg", "kodak24", f"q_{quality}", ours, recipe=recipe, baselines_db={"DnCNN-3": theirs.psnr_db})
        if quality == 10:
            bench.headline("jpeg", f"kodak24 q10 {ours.gain_db:+.2f} dB over the JPEG")


def sr(bench: Bench) -> None:
    names = {scale: f"sr-x{scale}" for scale in SR_SCALES}
    for name in names.values():
        if not bench.has(name):
            print(Skip(name), flush=True)
    scales = [scale for scale, name in names.items() if bench.has(name)]
    if not scales:
        return
    table = Table("sr: Set5, PSNR dB on Y, border = scale",
                  ["scale", "bicubic (measured)", "bicubic (published)", "model", "SSIM", "FSRCNN (published)",
                   "target", "verdict"])
    for scale in scales:
        name = recipe = names[scale]
        bicubic = bench.baseline("set5", recipe, "bicubic", baselines.bicubic)
        ours = bench.job(bench.model(name), "set5", recipe)
        table.row(f"×{scale}", fmt(bicubic.psnr_db), fmt(PUBLISHED_BICUBIC[scale]), f"{name} **{ours.psnr_db:.2f}**",
                  fmt(ours.ssim, 4), fmt(FSRCNN[scale]), f"≥ {FSRCNN[scale]:.2f}", verdict(ours.psnr_db, FSRCNN[scale]))
        bench.record(name, "set5", f"x{scale}", ours, recipe=recipe, baselines_db={"bicubic": bicubic.psnr_db})
        bench.headline(name, f"set5 ×{scale} {ours.psnr_db:.2f} dB on Y (FSRCNN {FSRCNN[scale]:.2f}, "
                             f"bicubic {bicubic.psnr_db:.2f})")
