"""Benchmark of issue 25: a diffusion generator against the floor and two baselines.

    python -m bench.jobs.generate --model DIR --shards DIR [--dcgan DIR] [--count 1000]
        [--steps 25] [--speed-steps 10 25 50] [--speed-count 50] [--heldout cbsd68] [--sheets]

- samples: ``--count`` images of the generate job (``pipelines.generate``, as a user runs it) at
  ``--steps``; the job's images/s is also the speed at that step count;
- speed: a fresh job of ``--speed-count`` images at each of ``--speed-steps`` (whole job: start-up,
  model load, sampling, PNG writes, report), images per second;
- real patches: the training patches (read back from ``--shards``), and held-out patches cut at
  the shards' patch size (stride 3/4 of it) from a set in ../shared/data never used in training;
- quality: KID (``bench.jobs.generate_metrics``) of each set against ``--reference-count`` held-out
  patches: the diffusion samples, the floor (as many training patches), a Gaussian fitted to
  ``--gaussian-fit`` training patches (mean and full covariance), a DCGAN (``bench.jobs.dcgan``, given by ``--dcgan``);
- memorisation: the RMS pixel distance of each image to its nearest training patch (all of them),
  for the samples and for as many held-out patches;
- ``--sheets``: writes bench/generate-sheet.png (samples beside their nearest training patch, and
  the baselines) and docs/images/generate-sheet.png (samples only).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from bench.common import ROOT, SHARED, machine, record_in_card
from bench.jobs import dcgan, generate_data as data, generate_metrics as metrics

SHEET = ROOT / "bench" / "generate-sheet.png"
README_SHEET = ROOT / "docs" / "images" / "generate-sheet.png"


def generate_job(model: str, count: int, steps: int, out: Path, seed: int) -> tuple[np.ndarray, float]:
    """Runs the generate job; (its images in index order, images per second of the whole job)."""
    from pipelines.generate import job

    started = time.perf_counter()
    summary = job.run([f"--model={model}", f"--count={count}", f"--seed={seed}", f"--steps={steps}",
                       f"--output={out}"])
    seconds = time.perf_counter() - started
    if summary["made"] != count:
        raise SystemExit(f"the generate job made {summary['made']} of {count} images (see {out}/errors/)")
    images = np.stack([np.asarray(Image.open(p).convert("RGB")) for p in sorted((out / "generated").glob("*.png"))])
    return images, count / seconds


def real_sets(args, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(training patches, held-out patches), or SystemExit naming what is missing."""
    folder = SHARED / "data" / args.heldout
    if not folder.is_dir():
        raise SystemExit(f"skipped: the held-out photographs {folder} are not here (../shared beside the "
                         "checkout); KID and memorisation need real patches never used in training")
    return data.training_patches(Path(args.shards)), data.heldout_patches(folder, size, max(1, size * 3 // 4))


def quality(sets: dict[str, np.ndarray], reference: np.ndarray, args) -> dict[str, np.ndarray]:
    """Each set's KID on every subset against the held-out reference, in one standardised
    feature space; sets of one size get the same subset draws (``metrics.paired``)."""
    reference_features = metrics.pooled_features(reference)
    scale = metrics.Standardiser.of(reference_features)
    return {name: metrics.kid_subsets(scale(metrics.pooled_features(images)), scale(reference_features),
                                      subsets=args.subsets, subset_size=args.subset_size, seed=args.seed)
            for name, images in sets.items()}


def print_paired(values: dict[str, np.ndarray], baseline: str) -> None:
    """Each set's KID minus the baseline's, subset by subset."""
    print(f"\n| set, against the {baseline.split(' ')[0]} | KID x 1000 difference (mean ± std over the same "
          "subsets) | subsets where it is lower |")
    print("|---|---|---|")
    for name, found in values.items():
        if name != baseline and found.shape == values[baseline].shape:
            mean, spread, lower = metrics.paired(found, values[baseline])
            print(f"| {name} | {mean * 1000:+.2f} ± {spread * 1000:.2f} | {lower:.0%} |")


def print_tables(count: int, kids: dict, distances: dict, speeds: dict) -> None:
    print(f"\n| set ({count} images unless said) | KID x 1000 (mean ± std over subsets) |")
    print("|---|---|")
    for name, (value, spread) in kids.items():
        print(f"| {name} | {value * 1000:.2f} ± {spread * 1000:.2f} |")
    print("\n| set | RMS distance to the nearest training patch (0-255): mean | median | min |")
    print("|---|---|---|---|")
    for name, found in distances.items():
        print(f"| {name} | {found.mean():.2f} | {np.median(found):.2f} | {found.min():.2f} |")
    if not speeds:
        return
    print("\n| --steps | images | images/s (whole generate job) |")
    print("|---|---|---|")
    for (steps, images), rate in sorted(speeds.items()):
        print(f"| {steps} | {images} | {rate:.3f} |")


def card_entries(kids: dict, distances: dict, speeds: dict, args) -> dict:
    """What ``--write-card`` records in the generator's model.json (provenance keys)."""
    ours = f"diffusion, {args.steps} steps"
    scores = {"kid_x1000": {name: [round(v * 1000, 3), round(s * 1000, 3)] for name, (v, s) in kids.items()},
              "nearest_training_rms": {name: round(float(found.mean()), 3) for name, found in distances.items()},
              "images_per_s": {str(steps): round(rate, 4) for (steps, _), rate in sorted(speeds.items())},
              "count": args.count, "heldout": args.heldout, "features": "style random-weight net, pooled mean/std",
              "machine": machine(), "command": "python -m bench.jobs.generate (bench/RESULTS.md, issue 25)"}
    floor = kids["floor: training patches"][0]
    headline = (f"KID x1000 {kids[ours][0] * 1000:.2f} at {args.steps} steps (floor {floor * 1000:.2f}; "
                f"project features only)")
    return {"generation_benchmark": scores, "headline": headline}


def write_sheets(samples: np.ndarray, nearest: np.ndarray, baselines: dict[str, np.ndarray]) -> None:
    """bench/generate-sheet.png: rows of samples, each over its nearest training patches, then
    a row per baseline; docs/images/generate-sheet.png: two rows of samples."""
    from tools.sheet import enlarge_nearest, sheet

    def row(label, images, first=0):
        return [(f"{label}{first + i}" if label.startswith("#") else label, enlarge_nearest(image, 3))
                for i, image in enumerate(images)]

    columns = 8
    rows = []
    for start in range(0, 3 * columns, columns):
        rows += [row("#", samples[start:start + columns], start), row("nearest", nearest[start:start + columns])]
    rows += [row(name, images[:columns]) for name, images in baselines.items()]
    SHEET.parent.mkdir(parents=True, exist_ok=True)
    sheet(rows).save(SHEET)
    README_SHEET.parent.mkdir(parents=True, exist_ok=True)
    sheet([row("#", samples[s:s + columns], s) for s in (0, columns)]).save(README_SHEET)
    print(f"sheets: {SHEET}, {README_SHEET}")


def nearest_patches(queries: np.ndarray, training: np.ndarray) -> np.ndarray:
    """The training patch nearest to each query (pixel space), for the sheet."""
    flat = training.reshape(len(training), -1).astype(np.float32)
    norms = np.einsum("ij,ij->i", flat, flat)
    found = [(norms - 2.0 * flat @ q.reshape(-1).astype(np.float32)).argmin() for q in queries]
    return training[found]


def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None,
                        help="The generator's model directory (without it: the floor and the baselines only).")
    parser.add_argument("--shards", required=True, help="The clean patch shards it was trained on.")
    parser.add_argument("--dcgan", default=None, help="A folder written by bench.jobs.dcgan (skipped if absent).")
    parser.add_argument("--size", type=int, default=32, help="The patches' side (the shards' patch size).")
    parser.add_argument("--count", type=int, default=1000, help="Samples compared (each set's size).")
    parser.add_argument("--steps", type=int, default=25, help="Sampler steps of the compared samples.")
    parser.add_argument("--speed-steps", type=int, nargs="*", default=[10, 25, 50])
    parser.add_argument("--speed-count", type=int, default=50, help="Images per speed run.")
    parser.add_argument("--heldout", default="cbsd68", help="A set in ../shared/data never used in training.")
    parser.add_argument("--reference-count", type=int, default=2000, help="Held-out patches KID compares with.")
    parser.add_argument("--gaussian-fit", type=int, default=30000,
                        help="Training patches the Gaussian baseline is fitted to (a draw: 3072-dim covariance).")
    parser.add_argument("--subsets", type=int, default=50)
    parser.add_argument("--subset-size", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sheets", action="store_true", help="Write the sample sheets (the real model only).")
    parser.add_argument("--write-card", action="store_true", help="Record the figures in --model's model.json.")
    parser.add_argument("--scratch", default=None)
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse(argv)
    scratch = Path(args.scratch or tempfile.mkdtemp(prefix="bench-generate-"))
    print(f"# bench.jobs.generate on {machine()}")
    samples, speeds = None, {}
    if args.model:
        samples, rate = generate_job(args.model, args.count, args.steps, scratch / "samples", args.seed)
        speeds[(args.steps, args.count)] = rate
        for steps in args.speed_steps:
            speeds[(steps, args.speed_count)] = generate_job(args.model, args.speed_count, steps,
                                                             scratch / f"speed-{steps}", args.seed + 1)[1]
        if samples.shape[1] != args.size:
            raise SystemExit(f"the model makes {samples.shape[1]} px images; --size says {args.size}")
    else:
        print("no --model: the floor and the baselines only")
    training, heldout = real_sets(args, args.size)
    print(f"real patches: {len(training)} training, {len(heldout)} held-out ({args.heldout})")
    reference = data.draw(heldout, args.reference_count, args.seed)
    diffusion = {f"diffusion, {args.steps} steps": samples} if samples is not None else {}
    sets = {**diffusion, "floor: training patches": data.draw(training, args.count, args.seed + 1),
            "Gaussian fitted to the training patches": data.fitted_gaussian(
                data.draw(training, args.gaussian_fit, args.seed + 5), args.count, args.seed + 2)}
    if args.dcgan and (Path(args.dcgan) / dcgan.GENERATOR_FILE).exists():
        sets["DCGAN"] = dcgan.sample(Path(args.dcgan) / dcgan.GENERATOR_FILE, args.count, args.seed + 3)
    else:
        print(f"skipped the DCGAN baseline: no {dcgan.GENERATOR_FILE} in --dcgan {args.dcgan}")
    values = quality(sets, reference, args)
    kids = {name: (float(found.mean()), float(found.std())) for name, found in values.items()}
    heldout_queries = data.draw(heldout, args.count, args.seed + 4)
    compared = {**diffusion, "held-out real patches": heldout_queries,
                **{k: v for k, v in sets.items() if k.startswith(("Gaussian", "DCGAN"))}}
    distances = {name: metrics.nearest_distances(images, training) for name, images in compared.items()}
    print_tables(args.count, kids, distances, speeds)
    print_paired(values, "Gaussian fitted to the training patches")
    if args.write_card and samples is not None:
        record_in_card(args.model, **card_entries(kids, distances, speeds, args))
        print(f"recorded in {args.model}/model.json")
    if args.sheets and samples is not None:
        baselines = {"held-out": heldout_queries, "Gaussian": sets["Gaussian fitted to the training patches"],
                     **({"DCGAN": sets["DCGAN"]} if "DCGAN" in sets else {})}
        write_sheets(samples, nearest_patches(samples[:24], training), baselines)
    print(f"\nscratch: {scratch}")


if __name__ == "__main__":
    main()
