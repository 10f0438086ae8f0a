"""The model zoo's benchmark: issue 9's targets, each model next to its baselines.

    python -m bench.zoo [--only SECTION ...] [--model NAME=DIR ...] [--cbm3d] [--write-cards]
                        [--limit N] [--speed-rounds N]

Sections (each prints a markdown table, row by row, with "met" or "missed" per target):
  parity         CDnCNN-B's published weights on CBSD68 σ 15/25/50: the paper's figures ± 0.05 dB
  denoise-color  `denoise-color` on CBSD68 σ 15/25/50 vs CDnCNN-B weights and (--cbm3d) CBM3D
  jpeg           `jpeg` on classic5 q 10-40 vs DnCNN-3 weights; on kodak24 colour vs the input
  deblur         `deblur` on CBSD68 (blur σ 1.6 + noise σ 2) vs Richardson-Lucy with the true kernel
  sharpen        `sharpen` on CBSD68 resampled ×0.6 and back vs unsharp masking, `restore`, `deblur`
  sr             `sr-x2`, `sr-x4` on Set5 (Y, border = scale) vs bicubic
  inpaint        `inpaint` on CBSD68 with free-form strokes (10-40 %) vs biharmonic inpainting
  restore        `restore` on CBSD68 through restore-mixed vs `denoise-gray` and `denoise-color`;
                 and on clean CBSD68 (output vs input)
  speed          every model's MP/s through the restore job on CBSD68, one at a time

Models are the bundled ones (model/zoo/<name>/) and any given with --model NAME=DIR (which
wins over a bundled one). A section whose model is missing prints "skipped: no model NAME".
Every model number comes from the restore job in paired mode (`restoreflow restore --degrade
RECIPE --seed 0`); the baselines run on the same degraded images (rebuilt by
pipelines.degrade.pairs exactly as the job builds them; the run stops if any per-image input
PSNR differs). --write-cards writes what was measured into each model's model.json (scores,
headline, throughput; nothing else changes). Needs ../shared (benchmark images and weights).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench.common import machine
from bench.zoo import repair, sections, speed
from bench.zoo.runs import Bench, Skip

SECTIONS = {
    "parity": sections.parity,
    "denoise-color": sections.denoise_color,
    "jpeg": sections.jpeg,
    "deblur": repair.deblur,
    "sharpen": repair.sharpen,
    "sr": sections.sr,
    "inpaint": repair.inpaint,
    "restore": repair.restore,
    "speed": speed.speed,
}
MODEL_NAMES = ("restore", "denoise-color", "jpeg", "deblur", "sharpen", "sr-x2", "sr-x4", "inpaint", "denoise-gray")


def parse_model(text: str) -> tuple[str, str]:
    """NAME=DIR, NAME one of the zoo's names and DIR a model directory."""
    name, sep, folder = text.partition("=")
    if not sep or not name or not folder:
        raise argparse.ArgumentTypeError(f"expected NAME=DIR, got {text!r}")
    if name not in MODEL_NAMES:
        raise argparse.ArgumentTypeError(f"unknown model name {name!r}; the zoo's names: {', '.join(MODEL_NAMES)}")
    if not (Path(folder) / "model.json").is_file():
        raise argparse.ArgumentTypeError(f"{folder} is not a model directory (no model.json)")
    return name, str(Path(folder).resolve())


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.zoo", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", nargs="+", action="extend", choices=list(SECTIONS), metavar="SECTION",
                   help=f"Run only these sections ({', '.join(SECTIONS)}); default all.")
    p.add_argument("--model", type=parse_model, action="append", default=[], metavar="NAME=DIR",
                   help="A model directory to measure as NAME (repeatable).")
    p.add_argument("--cbm3d", action="store_true", help="Add CBM3D to denoise-color (slow: tens of seconds per MP).")
    p.add_argument("--write-cards", action="store_true", help="Write the measured scores into the model cards.")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="Only the first N images of each set.")
    p.add_argument("--speed-rounds", type=int, default=2, metavar="N", help="Timed runs per model (default 2).")
    p.add_argument("--speed-models", nargs="+", choices=MODEL_NAMES, metavar="NAME",
                   help="Time only these models (and the gray starter, the yardstick); default every model.")
    return p


def main(argv=None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        p.error("--limit must be at least 1")
    if args.write_cards and args.limit:
        p.error("--write-cards records whole benchmarks: drop --limit")
    if args.speed_rounds < 1:
        p.error("--speed-rounds must be at least 1")
    from restoreflow import zoo

    models = {name: zoo.resolve(name) for name in zoo.restorers()}  # styles and diagnose are not benchmarked here
    models.update(dict(args.model))
    bench = Bench(scratch=Path(tempfile.mkdtemp(prefix="bench-zoo-")), models=models, limit=args.limit,
                  cbm3d=args.cbm3d)
    print(f"machine: {machine()}\nmodels: " + ", ".join(f"{n}={d}" for n, d in sorted(models.items())), flush=True)
    if args.limit:
        print(f"limit: the first {args.limit} image(s) of each set", flush=True)
    for name in args.only or list(SECTIONS):
        try:
            if name == "speed":
                speed.speed(bench, rounds=args.speed_rounds, only=args.speed_models)
            else:
                SECTIONS[name](bench)
        except Skip as skip:
            print(f"\n### {name}\n\n{skip}", flush=True)
    if args.write_cards:
        from bench.zoo.cards import write_cards

        for path in write_cards(models, bench.measured, bench.headlines, bench.throughputs, machine()):
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
