"""Benchmark of issue 20: small, damaged photographs restored and enlarged.

    python -m bench.jobs.realworld [--limit N] [--scales 4 2] [--models NAME ...] [--scratch DIR] [--write-cards]

The photographs: CBSD68 and Kodak24 (``../shared/data``), cropped to multiples of the scale.
For each scale two inputs per photograph: ``damaged``, a realistic second-order chain written
here and not the training recipe (Gaussian blur sigma 0.4-1.6; bicubic or bilinear reduction by
the square root of the scale; Gaussian noise sigma 2-10, colour or gray; JPEG 50-70; reduction
to exactly 1/scale; noise sigma 1-5; JPEG 40-60, written as a .jpg file), seeded per image; and
``clean``, the bicubic reduction alone (PNG).

Methods, each through the whole restore job (``--format png``): bicubic upscaling (Pillow, no
job), ``sr-xN``, ``restore`` then ``sr-xN`` (two jobs chained, PNG between), and each bundled
model named with ``--models`` (a xN model alone; a x1 model followed by ``sr-xN``). Scores: PSNR
and SSIM on Y of the written files against the clean originals with ``scale`` pixels of border
cropped (``pipelines.quality.scoring``); NIQE of each output set (``pipelines.quality.niqe``);
the Pearson and Spearman correlation of NIQE with PSNR over the damaged sets; MP/s of input of
each whole job (start-up included; two jobs chained count both).
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import math
import statistics
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import stats

from bench.common import machine, record_in_card, restore_job, shared_path
from bench.jobs.diagnosis import add_noise, blur, jpeg_bytes, read_rgb
from pipelines.quality import niqe, scoring

SETS = ("cbsd68", "kodak24")
KINDS = ("damaged", "clean")


@dataclasses.dataclass(frozen=True)
class Item:
    name: str  # the input's file name: <set>-<stem>.jpg or .png
    stem: str
    set_name: str
    clean: np.ndarray  # the original, cropped to multiples of the scale


def resize(image: np.ndarray, height: int, width: int, kernel=Image.BICUBIC) -> np.ndarray:
    return np.asarray(Image.fromarray(image).resize((width, height), kernel))


def realistic(clean: np.ndarray, scale: int, rng: np.random.Generator) -> bytes:
    """The benchmark's damage: blur, reduce, noise, JPEG 50-70, reduce to 1/scale, noise, JPEG 40-60."""
    height, width = clean.shape[:2]
    step = math.sqrt(scale)
    image = blur(clean, float(rng.uniform(0.4, 1.6)))
    kernel = (Image.BICUBIC, Image.BILINEAR)[int(rng.integers(2))]
    image = resize(image, round(height / step), round(width / step), kernel)
    image = add_noise(image, float(rng.uniform(2, 10)), bool(rng.random() < 0.5), rng)
    image = np.asarray(Image.open(io.BytesIO(jpeg_bytes(image, int(rng.integers(50, 71))))))
    image = resize(image, height // scale, width // scale)
    image = add_noise(image, float(rng.uniform(1, 5)), bool(rng.random() < 0.5), rng)
    return jpeg_bytes(image, int(rng.integers(40, 61)))


def build_inputs(folder: Path, scale: int, limit: int, seed: int) -> list[Item]:
    """Writes folder/damaged and folder/clean; returns the photographs with their originals."""
    items = []
    for kind in KINDS:
        (folder / kind).mkdir(parents=True, exist_ok=True)
    for set_index, set_name in enumerate(SETS):
        paths = sorted(shared_path("data", set_name).iterdir())
        for index, path in enumerate(paths[:limit] if limit else paths):
            original = read_rgb(path)
            clean = original[: original.shape[0] // scale * scale, : original.shape[1] // scale * scale]
            stem = f"{set_name}-{path.stem}"
            rng = np.random.default_rng([seed, scale, set_index, index])
            (folder / "damaged" / f"{stem}.jpg").write_bytes(realistic(clean, scale, rng))
            Image.fromarray(resize(clean, clean.shape[0] // scale, clean.shape[1] // scale)).save(
                folder / "clean" / f"{stem}.png")
            items.append(Item(f"{stem}.jpg", stem, set_name, clean))
    return items


def score(items: list[Item], outputs: dict[str, np.ndarray], scale: int) -> dict[str, dict]:
    """Per image: psnr, ssim (Y, border of ``scale`` cropped) and niqe of the output."""
    conventions = {"data_range": 255.0, "crop_border": scale, "y_channel": True}
    return {item.stem: {"psnr": scoring.psnr_db(item.clean, outputs[item.stem], **conventions),
                        "ssim": scoring.ssim(item.clean, outputs[item.stem], **conventions),
                        "niqe": niqe.niqe(outputs[item.stem])} for item in items}


def written(out: Path, items: list[Item]) -> dict[str, np.ndarray]:
    return {item.stem: read_rgb(next((out / "restored").glob(f"{item.stem}.*"))) for item in items}


def bicubic(folder: Path, items: list[Item]) -> dict[str, np.ndarray]:
    return {item.stem: resize(read_rgb(next(folder.glob(f"{item.stem}.*"))), *item.clean.shape[:2])
            for item in items}


def run_chain(folder: Path, chain: tuple[str, ...], scratch: Path) -> tuple[Path, float]:
    """Runs the models one job after the other, each on the previous one's PNGs; returns the
    last output folder and the wall seconds of all the jobs."""
    seconds, source = 0.0, folder
    for model in chain:
        out = scratch / f"{folder.name}-{'+'.join(chain)}-{model}"
        seconds += restore_job(source, model, out, "--format=png", "--force")["wall_seconds"]
        source = out / "restored"
    return source.parent, seconds


def chains(scale: int, extra: list[str]) -> list[tuple[str, ...]]:
    """The model chains of one scale: sr-xN, restore then sr-xN, and the --models that fit."""
    from restoreflow import zoo

    found = [(f"sr-x{scale}",), ("restore", f"sr-x{scale}")]
    for name in extra:
        if name not in zoo.names():
            print(f"skipped --models {name}: not a bundled model (restoreflow models lists them)")
            continue
        model_scale = zoo.read_card(name).scale
        chain = (name,) if model_scale == scale else (name, f"sr-x{scale}") if model_scale == 1 else None
        if chain and chain not in found:
            found.append(chain)
    return found


def mean(values) -> float:
    values = [v for v in values if math.isfinite(v)]
    return statistics.fmean(values) if values else math.nan


def run_scale(scale: int, args, scratch: Path) -> list[dict]:
    folder = scratch / f"x{scale}"
    items = build_inputs(folder, scale, args.limit, args.seed)
    print(f"NIQE of the clean originals (x{scale} crop): {mean(niqe.niqe(i.clean) for i in items):.2f}")
    rows = []
    for kind in KINDS:
        megapixels = sum(i.clean.shape[0] * i.clean.shape[1] for i in items) / scale**2 / 1e6
        results = {"bicubic": (score(items, bicubic(folder / kind, items), scale), None)}
        for chain in chains(scale, args.models):
            out, seconds = run_chain(folder / kind, chain, folder / "runs")
            results[" then ".join(chain)] = (score(items, written(out, items), scale), seconds)
        for method, (per_image, seconds) in results.items():
            rows.append({"scale": scale, "kind": kind, "method": method, "per_image": per_image,
                         "mp_per_s": megapixels / seconds if seconds else None, "items": items})
    return rows


def print_tables(rows: list[dict]) -> None:
    print("\n| scale | input | method | CBSD68 PSNR / SSIM | Kodak24 PSNR / SSIM | NIQE | MP/s of input |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        cells = []
        for set_name in SETS:
            chosen = [row["per_image"][i.stem] for i in row["items"] if i.set_name == set_name]
            cells.append(f"{mean(c['psnr'] for c in chosen):.2f} / {mean(c['ssim'] for c in chosen):.4f}")
        speed = "-" if row["mp_per_s"] is None else f"{row['mp_per_s']:.3f}"
        niqe_mean = mean(c["niqe"] for c in row["per_image"].values())
        print(f"| ×{row['scale']} | {row['kind']} | {row['method']} | {' | '.join(cells)} | {niqe_mean:.2f} | {speed} |")
    pairs = [(c["niqe"], c["psnr"]) for row in rows if row["kind"] == "damaged" for c in row["per_image"].values()
             if math.isfinite(c["niqe"]) and math.isfinite(c["psnr"])]
    if len(pairs) > 2:
        values, psnrs = zip(*pairs)
        print(f"\nNIQE against PSNR over the damaged sets ({len(pairs)} outputs of every method and scale): "
              f"Pearson {stats.pearsonr(values, psnrs)[0]:+.3f}, Spearman {stats.spearmanr(values, psnrs)[0]:+.3f} "
              "(negative: a lower NIQE goes with a higher PSNR)")


def set_means(row: dict) -> dict[str, dict[str, float]]:
    """Per set: mean PSNR and SSIM of one table row."""
    means = {}
    for set_name in SETS:
        chosen = [row["per_image"][i.stem] for i in row["items"] if i.set_name == set_name]
        means[set_name] = {"psnr_db": round(mean(c["psnr"] for c in chosen), 2),
                           "ssim": round(mean(c["ssim"] for c in chosen), 4)}
    return means


def write_cards(rows: list[dict], models: list[str], seed: int) -> None:
    """Records each bundled xN model's figures (and its baselines') in its card: scores.realworld
    and a headline."""
    from restoreflow import zoo

    for name in models:
        card = zoo.read_card(name)
        table = {(r["kind"], r["method"]): set_means(r) for r in rows if r["scale"] == card.scale}
        if ("damaged", name) not in table:
            continue
        sr = f"sr-x{card.scale}"
        figures = {kind: {method: means for (k, method), means in table.items() if k == kind} for kind in KINDS}
        damaged, clean = table["damaged", name]["cbsd68"]["psnr_db"], table["clean", name]["cbsd68"]["psnr_db"]
        base = {m: table["damaged", m]["cbsd68"]["psnr_db"] for m in ("bicubic", sr, f"restore then {sr}")}
        headline = [f"cbsd68 small damaged ×{card.scale} {damaged:.2f} dB on Y (bicubic {base['bicubic']:.2f}, "
                    f"{sr} {base[sr]:.2f}, restore then {sr} {base[f'restore then {sr}']:.2f})",
                    f"cbsd68 clean ×{card.scale} {clean:.2f} dB on Y ({sr} {table['clean', sr]['cbsd68']['psnr_db']:.2f})"]
        scores = {**card.provenance.get("scores", {}), "realworld": {
            **figures, "seed": seed, "machine": machine(),
            "command": f"python -m bench.jobs.realworld --scales {card.scale} --models {name} --write-cards"}}
        record_in_card(zoo.zoo_dir() / name, scores=scores, headline=headline)
        print(f"wrote the scores of {name} into {zoo.zoo_dir() / name}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=0, help="First N images of each set (0 = all 68 + 24).")
    parser.add_argument("--scales", type=int, nargs="+", default=[4, 2], choices=(2, 4))
    parser.add_argument("--models", nargs="*", default=[], help="More bundled models, e.g. restore-x4 restore-x2.")
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--scratch", default=None, help="Working folder (default: a temporary one).")
    parser.add_argument("--write-cards", action="store_true",
                        help="Record the figures of each --models model in its card (all images only).")
    args = parser.parse_args(argv)
    if args.write_cards and args.limit:
        parser.error("--write-cards records figures of every image: drop --limit")
    scratch = Path(args.scratch or tempfile.mkdtemp(prefix="bench-realworld-"))
    print(f"# bench.jobs.realworld on {machine()}")
    rows = [row for scale in args.scales for row in run_scale(scale, args, scratch)]
    print_tables(rows)
    if args.write_cards:
        write_cards(rows, args.models, args.seed)
    print(f"\nscratch: {scratch}")


if __name__ == "__main__":
    main()
