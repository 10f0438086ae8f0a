"""Packages a trained model directory as a bundled model.

    python -m tools.package_model NAME WORKDIR/model --config configs/CONFIG.yaml --purpose "..." \
        [--note "..."] [--gray-denoise-scores [--sigmas 15 25 50] [--sets bsd68 set12]]

Copies ``model.keras`` and ``config.yaml`` into ``model/zoo/NAME/`` and writes its
``model.json``: the training card, plus ``purpose`` (the one line `restoreflow models` shows),
``reproduce`` (the commands from the training config's header, which name the shards job, seed
and workdir) and, with --gray-denoise-scores, ``scores`` measured by the restore job in paired
mode (``--degrade denoise-gray-sN --seed 0``, the protocol of bench/jobs/quality.py). Other models
are scored by ``python -m bench.zoo --write-cards``. Benchmark images are read from ../shared
and never copied.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from bench.common import machine, mean, paired, shared_path
from restoreflow.card import CARD_FILE, ModelCard

ZOO_DIR = Path(__file__).resolve().parents[1] / "model" / "zoo"


def header_commands(config_path: Path) -> tuple[list[str], list[str]]:
    """The comment block at the top of a training config, split into its ``restoreflow ...``
    commands (with their continuation lines joined) and the remaining lines of prose."""
    commands, prose = [], []
    continued = False
    for line in config_path.read_text().splitlines():
        if not line.startswith("#"):
            break
        text = line[1:].strip()
        if continued or text.startswith("restoreflow "):
            if continued:
                commands[-1] += " " + text.rstrip("\\ ").strip()
            else:
                commands.append(text.rstrip("\\ ").strip())
            continued = text.endswith("\\")
        elif text:
            prose.append(text)
    return commands, prose


def score(model_dir: Path, set_name: str, sigma: int, scratch: Path) -> dict:
    summary = paired(shared_path("data", set_name), str(model_dir), f"denoise-gray-s{sigma}", scratch / f"{set_name}-{sigma}")
    return {
        "images": summary["counts"]["restored"],
        "psnr_db": round(mean(summary, "psnr_db_restored"), 3),
        "ssim": round(mean(summary, "ssim_restored"), 4),
        "psnr_db_degraded": round(mean(summary, "psnr_db_degraded"), 3),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", help="The bundled model's name (its folder under model/zoo/).")
    parser.add_argument("model_dir", type=Path, help="The exported model directory (WORKDIR/model).")
    parser.add_argument("--config", type=Path, required=True, help="The training config it was trained with.")
    parser.add_argument("--purpose", required=True, help="What the model is for, in one line.")
    parser.add_argument("--gray-denoise-scores", action="store_true", help="Score gray denoising on --sets.")
    parser.add_argument("--sigmas", type=int, nargs="+", default=[15, 25, 50])
    parser.add_argument("--sets", nargs="+", default=["bsd68", "set12"])
    parser.add_argument("--note", default="", help="Free text recorded under reproduce.note.")
    args = parser.parse_args(argv)

    source = args.model_dir / CARD_FILE
    card = ModelCard.from_json(source.read_text(), str(source))
    target = ZOO_DIR / args.name
    target.mkdir(parents=True, exist_ok=True)
    for name in ("model.keras", "config.yaml"):
        shutil.copyfile(args.model_dir / name, target / name)
    commands, prose = header_commands(args.config)
    reproduce = {"commands": commands, "notes": prose, "config": str(args.config)}
    if args.note:
        reproduce["note"] = args.note
    card = card.with_provenance(purpose=args.purpose, reproduce=reproduce)
    card_path = target / CARD_FILE
    card_path.write_text(card.to_json())  # scoring reads it
    if args.gray_denoise_scores:
        card = card.with_provenance(scores=_score_gray_denoising(target, args.sets, args.sigmas))
        card_path.write_text(card.to_json())
    print(f"wrote {target}")


def _score_gray_denoising(target: Path, sets: list[str], sigmas: list[int]) -> dict:
    scratch = Path(tempfile.mkdtemp(prefix="starter-scores-"))
    scores = {
        "protocol": "restoreflow restore --degrade denoise-gray-s{sigma} --seed 0 (paired mode), mean over the set",
        "machine": machine(),
    }
    for set_name in sets:
        for sigma in sigmas:
            scores.setdefault(set_name, {})[f"sigma_{sigma}"] = result = score(target, set_name, sigma, scratch)
            print(f"{set_name} sigma {sigma}: {result}", flush=True)
    return scores


if __name__ == "__main__":
    main()
