"""The colour denoiser told its noise level (``denoise-color-level``, issue 19's strength for
denoisers) on CBSD68, through the restore job, against the blind ``denoise-color`` and ``restore``.

    python -m bench.jobs.noise_level [--limit N] [--strengths 0,0.25,0.5,0.75,1] [--write-card]

1. The DnCNN paper's protocol: unclipped noise of sigma 15, 25, 50 in paired mode
   (``--degrade denoise-color-sN --seed 0``); the level model is told the diagnosed sigma.
2. Noise as 8-bit files hold it: the same sigmas, clipped and rounded (seeded per image and
   sigma), written as PNG and restored as a user would; scored against the clean originals.
3. ``--strength`` on those sigma 25 files: the level model is told strength x the diagnosed
   sigma; the blind ``denoise-color`` blends its output with the input. PSNR against the clean
   original (how much noise went) and against the input (how much of the input stayed).

--write-card records the figures in model/zoo/denoise-color-level/model.json. Needs ../shared.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from bench.common import first_images, machine, paired, record_in_card, restore_job
from bench.jobs.diagnosis import add_noise, psnr, read_rgb
from restoreflow import zoo

LEVEL, BLIND = "denoise-color-level", "denoise-color"
SIGMAS = (15, 25, 50)


def noisy_files(folder: Path, sigma: int, out: Path) -> Path:
    """PNG copies of ``folder``'s images with clipped, rounded colour noise of ``sigma``."""
    out.mkdir(parents=True, exist_ok=True)
    for index, path in enumerate(sorted(folder.iterdir())):
        noisy = add_noise(read_rgb(path), sigma, True, np.random.default_rng([19, sigma, index]))
        Image.fromarray(noisy).save(out / f"{path.stem}.png")
    return out


def scores(folder: Path, restored: Path, against: Path | None = None) -> float:
    """Mean PSNR of the restored PNGs against ``folder``'s clean images (or ``against``'s)."""
    reference = against or folder
    values = [psnr(read_rgb(ref), read_rgb(restored / f"{ref.stem}.png")) for ref in sorted(reference.iterdir())]
    return float(np.mean([v for v in values if np.isfinite(v)] or [np.inf]))


def protocol(folder: Path, scratch: Path) -> dict:
    """sigma -> {model: mean PSNR} on the paper's unclipped noise (paired mode)."""
    table = {}
    for sigma in SIGMAS:
        table[sigma] = {model: paired(folder, zoo.resolve(model), f"denoise-color-s{sigma}",
                                      scratch / f"paired-{model}-{sigma}")["scores"]["psnr_db_restored"]["mean"]
                        for model in (BLIND, LEVEL)}
        print(f"| {sigma} (unclipped) | {table[sigma][BLIND]:.2f} | {table[sigma][LEVEL]:.2f} | - |", flush=True)
    return table


def clipped(folder: Path, scratch: Path) -> dict:
    """sigma -> {model: mean PSNR} on clipped noise written as files."""
    table = {}
    for sigma in SIGMAS:
        noisy = noisy_files(folder, sigma, scratch / f"noisy-{sigma}")
        table[sigma] = {"input": scores(folder, noisy)}
        for model in ("restore", BLIND, LEVEL):
            out = scratch / f"clipped-{model}-{sigma}"
            restore_job(noisy, zoo.resolve(model), out, "--format=png")
            table[sigma][model] = scores(folder, out / "restored")
        row = table[sigma]
        print(f"| {sigma} (clipped) | {row[BLIND]:.2f} | {row[LEVEL]:.2f} | {row['restore']:.2f} |", flush=True)
    return table


def strength_curve(folder: Path, scratch: Path, strengths: list[float]) -> dict:
    """model -> strength -> (PSNR against the clean originals, against the input), sigma 25."""
    noisy = scratch / "noisy-25"
    curve = {BLIND: {}, LEVEL: {}}
    print("\n| --strength | `denoise-color` (blend): vs clean / vs input | `denoise-color-level` (told strength x "
          "sigma): vs clean / vs input |\n|---|---|---|")
    for strength in strengths:
        for model in curve:
            out = scratch / f"strength-{model}-{strength}"
            restore_job(noisy, zoo.resolve(model), out, "--format=png", f"--strength={strength}")
            curve[model][strength] = (scores(folder, out / "restored"), scores(folder, out / "restored", noisy))
        blind, level = curve[BLIND][strength], curve[LEVEL][strength]
        print(f"| {strength:g} | {blind[0]:.2f} / {blind[1]:.2f} | {level[0]:.2f} / {level[1]:.2f} |", flush=True)
    return curve


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.jobs.noise_level", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=0, help="The first N CBSD68 images (0: all 68).")
    parser.add_argument("--strengths", default="0,0.25,0.5,0.75,1")
    parser.add_argument("--write-card", action="store_true", help=f"Record the figures in {LEVEL}'s model.json.")
    parser.add_argument("--scratch", default=None)
    args = parser.parse_args(argv)
    scratch = Path(args.scratch or tempfile.mkdtemp(prefix="bench-noise-level-"))
    folder = first_images("cbsd68", args.limit, scratch)
    print(f"# bench.jobs.noise_level on {machine()}: CBSD68, {len(list(folder.iterdir()))} images, PSNR dB on RGB\n")
    print(f"| σ | `{BLIND}` (blind) | `{LEVEL}` (told the diagnosed σ) | `restore` |\n|---|---|---|---|")
    unclipped, files = protocol(folder, scratch), clipped(folder, scratch)
    curve = strength_curve(folder, scratch, [float(s) for s in args.strengths.split(",")])
    if args.write_card:
        level = {f"sigma_{s}": {"unclipped": round(unclipped[s][LEVEL], 3), "clipped": round(files[s][LEVEL], 3)}
                 for s in SIGMAS}
        record_in_card(zoo.resolve(LEVEL), scores={"cbsd68": level, "strength_psnr_db_sigma_25": {
            f"{k:g}": round(v[0], 3) for k, v in curve[LEVEL].items()}, "machine": machine(),
            "command": "python -m bench.jobs.noise_level (bench/RESULTS.md, issue 19)"},
            headline=[f"cbsd68 σ25 {unclipped[25][LEVEL]:.2f} dB (unclipped), {files[25][LEVEL]:.2f} dB (clipped, "
                      f"as files); --strength sets the σ it removes"])
        print(f"recorded in {zoo.resolve(LEVEL)}/model.json")
    print(f"\nscratch: {scratch}")


if __name__ == "__main__":
    main()
