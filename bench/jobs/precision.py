"""bf16 inference per model: what it costs in PSNR on the model's own benchmark and what it gains
in speed, both through the restore job (``--precision f32`` against ``--precision bf16``, in
rounds that alternate the order, since the machine is shared).

    python -m bench.jobs.precision [--model NAME_OR_DIR ...] [--rounds 2] [--limit N] [--write-card]

--write-card records the measurement in each model's model.json (``inference.bf16``): that
record is what lets ``restoreflow restore --precision bf16`` run the model, and only where the
cost is within ``restoreflow.card.MAX_BF16_COST_DB``. Needs ../shared and a CPU with native bf16.
"""

from __future__ import annotations

import argparse
import datetime
import shutil
import statistics
import tempfile
from pathlib import Path

from bench.common import PAIRED_FLAGS, first_images, machine, megapixels, record_in_card, restore_job

# Each bundled model's own benchmark: (set, recipe), its training recipe's family on a test set.
OWN_BENCHMARK = {
    "restore": ("cbsd68", "restore-mixed"),
    "denoise-gray": ("bsd68", "denoise-gray-s25"),
    "denoise-color": ("cbsd68", "denoise-color-s25"),
    "denoise-color-level": ("cbsd68", "denoise-color-s25"),
    "jpeg": ("kodak24", "jpeg-q10-40"),
    "deblur": ("cbsd68", "deblur"),
    "inpaint": ("cbsd68", "inpaint"),
    "sr-x2": ("set5", "sr-x2"),
    "sr-x4": ("set5", "sr-x4"),
}
PRECISIONS = ("f32", "bf16")


def measure(model: str, folder: Path, recipe: str, rounds: int, scratch: Path) -> dict[str, dict]:
    """Mean restored PSNR and wall seconds of each precision, alternating the order."""
    runs: dict[str, dict] = {p: {"psnr_db": [], "seconds": []} for p in PRECISIONS}
    for round_index in range(rounds):
        for precision in PRECISIONS if round_index % 2 == 0 else reversed(PRECISIONS):
            out = scratch / f"{Path(model).name}-{precision}-{round_index}"
            summary = restore_job(folder, model, out, f"--degrade={recipe}", f"--precision={precision}",
                                  "--engine=openvino", *PAIRED_FLAGS)
            if summary["counts"].get("error"):
                raise SystemExit(f"{model} with --precision {precision} had errors: see {out}/errors")
            runs[precision]["psnr_db"].append(summary["scores"]["psnr_db_restored"]["mean"])
            runs[precision]["seconds"].append(summary["wall_seconds"])
    return runs


def record(model_dir: Path, entry: dict) -> None:
    record_in_card(model_dir, inference={"bf16": entry})


def under_measurement(model_dir: str, scratch: Path) -> str:
    """A scratch copy of the model whose card lets the job run bf16 while this measures it: the
    job refuses bf16 to a model without a recorded cost, and the cost is what is being measured."""
    copy = scratch / "under-measurement" / Path(model_dir).name
    shutil.copytree(model_dir, copy)
    record(copy, {"psnr_cost_db": 0.0, "note": "being measured by bench.jobs.precision (scratch copy)"})
    return str(copy)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", action="append", help="a bundled name or a model directory "
                        "(with --set and --recipe for one that is not bundled); default: every bundled "
                        f"model among {', '.join(OWN_BENCHMARK)}")
    parser.add_argument("--set", help="benchmark set in ../shared/data (default: the model's own)")
    parser.add_argument("--recipe", help="degradation recipe (default: the model's own)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--limit", type=int, default=0, help="only the first N images (not for --write-card)")
    parser.add_argument("--write-card", action="store_true")
    args = parser.parse_args(argv)
    if args.write_card and args.limit:
        parser.error("--write-card records the whole benchmark: drop --limit")
    from restoreflow import zoo

    models = args.model or [name for name in OWN_BENCHMARK if name in zoo.names()]
    print(f"machine: {machine()}")
    print("| model | benchmark | f32 PSNR | bf16 PSNR | cost dB | f32 s (median) | bf16 s (median) | speed-up |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="bench-precision-") as scratch_name:
        scratch = Path(scratch_name)
        for model in models:
            set_name, recipe = (args.set, args.recipe) if args.set else OWN_BENCHMARK[Path(model).name]
            folder = first_images(set_name, args.limit, scratch)
            runs = measure(under_measurement(zoo.resolve(model), scratch), folder, recipe, args.rounds, scratch)
            f32, bf16 = (statistics.mean(runs[p]["psnr_db"]) for p in PRECISIONS)
            seconds = {p: statistics.median(runs[p]["seconds"]) for p in PRECISIONS}
            cost, speedup = f32 - bf16, seconds["f32"] / seconds["bf16"]
            print(f"| {model} | {set_name} `{recipe}` seed 0 ({megapixels(folder):.1f} MP) | {f32:.3f} | "
                  f"{bf16:.3f} | {cost:+.3f} | {seconds['f32']:.1f} | {seconds['bf16']:.1f} | {speedup:.2f}x |",
                  flush=True)
            if args.write_card:
                record(Path(zoo.resolve(model)), {
                    "psnr_cost_db": round(cost, 3), "psnr_db_f32": round(f32, 3), "psnr_db_bf16": round(bf16, 3),
                    "benchmark": f"{set_name} --degrade {recipe} --seed 0", "speedup": round(speedup, 2),
                    "machine": machine(), "measured": datetime.date.today().isoformat(),
                    "command": "python -m bench.jobs.precision --write-card",
                })


if __name__ == "__main__":
    main()
