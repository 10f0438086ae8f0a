"""Benchmark of issue 19: damage diagnosis, `--model auto` and `--strength` on a mixed archive.

    python -m bench.jobs.diagnosis [--limit N] [--scratch DIR]

The archive: CBSD68 and Kodak24 (``../shared/data``), each image given, seeded by its index,
one of: undamaged; colour or gray noise sigma 5-50; JPEG quality 10-60; Gaussian blur sigma
0.8-2.0 with faint noise; soft (downscaled by 0.5-0.8, then upscaled back); a mixed chain
(mild blur, resampling, noise, JPEG). The damage is made here with Pillow and NumPy, not with
the recipes the models were trained on. JPEG-damaged images are written as .jpg files (as an
archive holds them), the others as PNG.

Then, through the whole restore job (PSNR of the written files against the clean originals,
8-bit RGB, no border crop): the input, `restore`, each ×1 specialist, the oracle (the best of
those models for each image, picked with the reference), `--model auto`; `restoreflow diagnose`'s
accuracy against the known damage; speed of `auto`, `restore` and `diagnose` (wall time of
each whole job, MP/s of input); PSNR against `--strength` on the noisy images.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import math
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from bench.common import machine, shared_path
from restoreflow.routing import AUTO_MODELS

KINDS = ("undamaged", "noise", "jpeg", "blur", "soft", "mixed")
SPECIALISTS = AUTO_MODELS  # every model auto may choose; "restore" first


@dataclasses.dataclass(frozen=True)
class Damaged:
    name: str  # file name in the archive
    stem: str
    kind: str
    noise_sigma: float  # 0 when none was added
    jpeg_quality: int | None
    clean: np.ndarray


def add_noise(image: np.ndarray, sigma: float, color: bool, rng) -> np.ndarray:
    shape = image.shape if color else image.shape[:2] + (1,)
    noisy = image.astype(np.float64) + rng.normal(0.0, sigma, shape)
    return np.clip(np.round(noisy), 0, 255).astype(np.uint8)


def jpeg_bytes(image: np.ndarray, quality: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def blur(image: np.ndarray, sigma: float) -> np.ndarray:
    return np.asarray(Image.fromarray(image).filter(ImageFilter.GaussianBlur(sigma)))


def soften(image: np.ndarray, factor: float) -> np.ndarray:
    height, width = image.shape[:2]
    small = Image.fromarray(image).resize((max(1, round(width * factor)), max(1, round(height * factor))),
                                          Image.BICUBIC)
    return np.asarray(small.resize((width, height), Image.BICUBIC))


def damage(clean: np.ndarray, kind: str, rng) -> tuple[np.ndarray | bytes, float, int | None]:
    """(pixels, or JPEG bytes; the noise sigma added; the JPEG quality)."""
    if kind == "undamaged":
        return clean, 0.0, None
    if kind == "noise":
        sigma = float(rng.uniform(5, 50))
        return add_noise(clean, sigma, bool(rng.random() < 0.5), rng), sigma, None
    if kind == "jpeg":
        quality = int(rng.integers(10, 61))
        return jpeg_bytes(clean, quality), 0.0, quality
    if kind == "blur":
        sigma = float(rng.uniform(1.0, 3.0))
        return add_noise(blur(clean, float(rng.uniform(0.8, 2.0))), sigma, False, rng), sigma, None
    if kind == "soft":
        return soften(clean, float(rng.uniform(0.5, 0.8))), 0.0, None
    # mixed: mild blur, resampling, noise, then JPEG
    sigma, quality = float(rng.uniform(3, 15)), int(rng.integers(30, 71))
    chain = add_noise(soften(blur(clean, float(rng.uniform(0.5, 1.2))), float(rng.uniform(0.6, 0.9))), sigma,
                      bool(rng.random() < 0.5), rng)
    return jpeg_bytes(chain, quality), sigma, quality


def build_archive(folder: Path, limit: int, seed: int) -> list[Damaged]:
    """Writes archive/ under ``folder``; returns what was done to each image (with its clean
    original, against which every output is scored)."""
    items = []
    sources = [p for name in ("cbsd68", "kodak24") for p in sorted(shared_path("data", name).iterdir())]
    for index, path in enumerate(sources[:limit] if limit else sources):
        rng = np.random.default_rng([seed, index])
        clean = np.asarray(Image.open(path).convert("RGB"))
        kind = KINDS[int(rng.integers(len(KINDS)))]
        damaged, sigma, quality = damage(clean, kind, rng)
        stem = f"{path.parent.name}-{path.stem}"
        name = stem + (".jpg" if isinstance(damaged, bytes) else ".png")
        (folder / "archive").mkdir(parents=True, exist_ok=True)
        if isinstance(damaged, bytes):
            (folder / "archive" / name).write_bytes(damaged)
        else:
            Image.fromarray(damaged).save(folder / "archive" / name)
        items.append(Damaged(name, stem, kind, sigma, quality, clean))
    return items


def psnr(clean: np.ndarray, image: np.ndarray) -> float:
    mse = np.mean((clean.astype(np.float64) - image.astype(np.float64)) ** 2)
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


def read_rgb(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def restore(archive: Path, out: Path, model: str, *flags: str) -> float:
    """Runs the whole restore job; returns its wall seconds."""
    from pipelines import restore as job

    started = time.perf_counter()
    job.run([f"--input={archive}", f"--output={out}", f"--model={model}", *flags])
    return time.perf_counter() - started


def scores_of(items: list[Damaged], restored: Path) -> dict[str, float]:
    return {item.name: psnr(item.clean, read_rgb(restored / item.name)) for item in items}


def mean(values) -> float:
    values = [v for v in values if math.isfinite(v)]
    return statistics.fmean(values) if values else math.nan


def quality_tables(items, psnr_by: dict[str, dict[str, float]]) -> None:
    oracle = {i.name: max(psnr_by[m][i.name] for m in SPECIALISTS) for i in items}
    columns = ["input", *SPECIALISTS, "oracle", "auto"]
    table = {**psnr_by, "oracle": oracle}
    print("\n### PSNR (dB) per kind of damage, the written files against the clean originals\n")
    print("| kind | images | " + " | ".join(columns) + " |\n|" + "---|" * (len(columns) + 2))
    for kind in (*KINDS[1:], "all damaged"):
        chosen = [i for i in items if (i.kind == kind if kind != "all damaged" else i.kind != "undamaged")]
        if chosen:
            cells = [f"{mean(table[c][i.name] for i in chosen):.2f}" for c in columns]
            print(f"| {kind} | {len(chosen)} | " + " | ".join(cells) + " |")
    undamaged = [i for i in items if i.kind == "undamaged"]
    if undamaged:
        worst = {m: min(psnr_by[m][i.name] for i in undamaged) for m in ("auto", "restore")}
        print(f"\nUndamaged images ({len(undamaged)}), worst against the input (inf = written unchanged): "
              f"auto {worst['auto']:.2f} dB, restore {worst['restore']:.2f} dB")


def diagnosis_figures(items, out: Path) -> tuple[dict, dict]:
    """(the figures of issue 19's diagnosis targets, the diagnose table's rows by image)."""
    import pyarrow.parquet as pq

    rows = {r["image_id"]: r for path in sorted((out / "diagnosis").glob("*/*.parquet"))
            for r in pq.read_table(path).to_pylist()}
    noisy = [i for i in items if i.kind == "noise"]
    low_q = [i for i in items if i.jpeg_quality is not None and i.jpeg_quality <= 60]
    never = [i for i in items if i.jpeg_quality is None]
    undamaged, damaged = [i for i in items if i.kind == "undamaged"], [i for i in items if i.kind != "undamaged"]

    def share(group, test):
        return round(sum(1 for i in group if test(rows[i.name])) / len(group), 4) if group else None

    errors = [abs(rows[i.name]["diagnosis_noise_sigma"] - i.noise_sigma) for i in noisy]
    figures = {
        "noise_sigma_median_abs_error": round(statistics.median(errors), 2) if errors else None,
        "noisy_images": len(noisy),
        "jpeg_found_quality_le_60": share(low_q, lambda r: r["diagnosis_jpeg_quality"] is not None),
        "jpeg_q_le_60_images": len(low_q),
        "jpeg_found_never_jpeg": share(never, lambda r: r["diagnosis_jpeg_quality"] is not None),
        "never_jpeg_images": len(never),
        # the verdict: the network's call, or no damage above what the models repair (copied)
        "undamaged_recognised": share(undamaged, lambda r: r["diagnosis_undamaged"]),
        "undamaged_by_network": share(undamaged, lambda r: r["diagnosis_undamaged_probability"] >= 0.5),
        "undamaged_images": len(undamaged),
        "damaged_called_undamaged": share(damaged, lambda r: r["diagnosis_undamaged"]),
        "damaged_images": len(damaged),
    }
    return figures, rows


def print_diagnosis(items, figures: dict, rows: dict) -> None:
    def pct(value):
        return "-" if value is None else f"{100 * value:.0f} %"

    print("\n### Diagnosis against the known damage\n")
    print("| what | measured | target |\n|---|---|---|")
    print(f"| noise sigma, median absolute error ({figures['noisy_images']} noisy images) | "
          f"{figures['noise_sigma_median_abs_error']} | <= 3 |")
    print(f"| JPEG found, quality <= 60 ({figures['jpeg_q_le_60_images']} images) | "
          f"{pct(figures['jpeg_found_quality_le_60'])} | >= 95 % |")
    print(f"| JPEG found, never JPEG ({figures['never_jpeg_images']} images) | "
          f"{pct(figures['jpeg_found_never_jpeg'])} | <= 5 % |")
    print(f"| undamaged recognised ({figures['undamaged_images']} images) | "
          f"{pct(figures['undamaged_recognised'])} | >= 90 % |")
    print(f"| undamaged, by the network's own call ({figures['undamaged_images']} images) | "
          f"{pct(figures['undamaged_by_network'])} | (the rest: no damage above the thresholds) |")
    print(f"| damaged images called undamaged ({figures['damaged_images']} images) | "
          f"{pct(figures['damaged_called_undamaged'])} | (copied unrepaired) |")
    print("\nPer image: kind -> diagnosis label (chosen model; estimated vs true noise sigma and JPEG quality)")
    for item in items:
        row = rows[item.name]
        print(f"  {item.name}: {item.kind} -> {row['diagnosis_label']} ({row['chosen_model']}; "
              f"sigma {row['diagnosis_noise_sigma']:.1f} vs {item.noise_sigma:.1f}, "
              f"q {row['diagnosis_jpeg_quality']} vs {item.jpeg_quality})")


def write_card(figures: dict, seed: int, limit: int) -> None:
    """Records the diagnosis figures, purpose and headline in the bundled diagnose card."""
    from restoreflow import zoo
    from restoreflow.card import ModelCard

    path = zoo.zoo_dir() / "diagnose" / "model.json"
    card = ModelCard.from_json(path.read_text(), source=str(path))
    command = f"python -m bench.jobs.diagnosis --seed {seed}" + (f" --limit {limit}" if limit else "")
    headline = (f"mixed archive (seed {seed}): noise sigma error {figures['noise_sigma_median_abs_error']}, JPEG q<=60 found "
                f"{100 * figures['jpeg_found_quality_le_60']:.0f} %, undamaged recognised "
                f"{100 * figures['undamaged_recognised']:.0f} %")
    # purpose and reproduce stay as tools.package_model wrote them from the training config.
    card = card.with_provenance(
        headline=[headline],
        scores={"mixed_archive": {**figures, "command": command, "machine": machine()}},
    )
    path.write_text(card.to_json())


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=0, help="First N images of CBSD68+Kodak24 (0 = all 92).")
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--scratch", default=None, help="Working folder (default: a temporary one).")
    parser.add_argument("--strengths", default="0,0.25,0.5,0.75,1")
    parser.add_argument("--rounds", type=int, default=2, help="Alternating speed rounds of diagnose, auto, restore.")
    parser.add_argument("--write-card", action="store_true",
                        help="Record the diagnosis figures in model/zoo/diagnose/model.json.")
    args = parser.parse_args(argv)
    scratch = Path(args.scratch or tempfile.mkdtemp(prefix="bench-diagnosis-"))
    items = build_archive(scratch, args.limit, args.seed)
    archive = scratch / "archive"
    megapixels = sum(i.clean.shape[0] * i.clean.shape[1] for i in items) / 1e6
    print(f"# bench.jobs.diagnosis: {len(items)} images, {megapixels:.2f} MP, on {machine()}")
    print("kinds: " + ", ".join(f"{k} {sum(i.kind == k for i in items)}" for k in KINDS))
    from pipelines.diagnose import job as diagnose_job

    seconds = {name: [] for name in ("diagnose", "auto", "restore")}

    def diagnose() -> float:
        started = time.perf_counter()
        diagnose_job.run([f"--input={archive}", f"--output={scratch / 'diagnose'}"])
        return time.perf_counter() - started

    psnr_by = {"input": {i.name: psnr(i.clean, read_rgb(archive / i.name)) for i in items}}
    # Speed: the three jobs alternate, round after round (the machine is shared and noisy);
    # each round redoes everything (--force). The first round's outputs are the ones scored.
    for round_index in range(args.rounds):
        seconds["diagnose"].append(diagnose())
        for model in ("auto", "restore"):
            seconds[model].append(restore(archive, scratch / model, model, *(["--force"] if round_index else [])))
    for model in SPECIALISTS[1:]:
        restore(archive, scratch / model, model)
    for model in ("auto", *SPECIALISTS):
        psnr_by[model] = scores_of(items, scratch / model / "restored")
    figures, rows = diagnosis_figures(items, scratch / "diagnose")
    print_diagnosis(items, figures, rows)
    if args.write_card:
        write_card(figures, args.seed, args.limit)
    quality_tables(items, psnr_by)
    print(f"\n### Speed (whole job, wall seconds with start-up, median of {args.rounds} alternating rounds; "
          "MP/s of input)\n\n| job | seconds (each round) | MP/s | speed vs restore |\n|---|---|---|---|")
    base = statistics.median(seconds["restore"])
    for name, values in seconds.items():
        value = statistics.median(values)
        print(f"| {name} | {value:.1f} ({', '.join(f'{v:.1f}' for v in values)}) | {megapixels / value:.3f} | "
              f"{base / value:.2f} |")
    noisy = [i for i in items if i.kind == "noise"]
    if noisy:
        (scratch / "noisy").mkdir(exist_ok=True)
        for item in noisy:
            (scratch / "noisy" / item.name).write_bytes((archive / item.name).read_bytes())
        print("\n### PSNR against --strength (auto, the noisy images)\n\n| strength | PSNR (dB) |\n|---|---|")
        for strength in (float(s) for s in args.strengths.split(",")):
            out = scratch / f"strength-{strength}"
            restore(scratch / "noisy", out, "auto", f"--strength={strength}")
            print(f"| {strength:g} | {mean(scores_of(noisy, out / 'restored').values()):.2f} |")
    print(f"\nscratch: {scratch}")


if __name__ == "__main__":
    main()
