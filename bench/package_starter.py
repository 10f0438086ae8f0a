"""Packages a trained model directory as the bundled starter model and scores it.

    python -m bench.package_starter WORKDIR/model --config configs/starter-unet-gray-blind.yaml \
        [--sigmas 15 25 50] [--sets bsd68 set12]

Copies ``model.keras`` and ``config.yaml`` into ``model/zoo/denoise-gray/`` and writes its
``model.json``: the training card, plus ``reproduce`` (the commands from the training config's
header, which name the shards job, seed and workdir) and ``scores`` measured here by the restore
job in paired mode (``--degrade denoise-gray-sN --seed 0``, the protocol of bench/quality.py).
The benchmark images are read from ../shared and never copied.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

from bench.common import machine, shared_path
from bench.quality import mean, paired

STARTER_DIR = Path(__file__).resolve().parents[1] / "model" / "zoo" / "denoise-gray"


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
    parser.add_argument("model_dir", type=Path, help="The exported model directory (WORKDIR/model).")
    parser.add_argument("--config", type=Path, required=True, help="The training config it was trained with.")
    parser.add_argument("--sigmas", type=int, nargs="+", default=[15, 25, 50])
    parser.add_argument("--sets", nargs="+", default=["bsd68", "set12"])
    parser.add_argument("--note", default="", help="Free text recorded under reproduce.note.")
    args = parser.parse_args(argv)

    card = json.loads((args.model_dir / "model.json").read_text())
    STARTER_DIR.mkdir(parents=True, exist_ok=True)
    for name in ("model.keras", "config.yaml"):
        shutil.copyfile(args.model_dir / name, STARTER_DIR / name)
    commands, prose = header_commands(args.config)
    card["reproduce"] = {"commands": commands, "notes": prose, "config": str(args.config)}
    if args.note:
        card["reproduce"]["note"] = args.note
    card_path = STARTER_DIR / "model.json"
    card_path.write_text(json.dumps(card, indent=2, sort_keys=True) + "\n")  # scoring reads it
    scratch = Path(tempfile.mkdtemp(prefix="starter-scores-"))
    card["scores"] = {
        "protocol": "restoreflow restore --degrade denoise-gray-s{sigma} --seed 0 (paired mode), mean over the set",
        "machine": machine(),
    }
    for set_name in args.sets:
        for sigma in args.sigmas:
            card["scores"].setdefault(set_name, {})[f"sigma_{sigma}"] = result = score(STARTER_DIR, set_name, sigma, scratch)
            print(f"{set_name} sigma {sigma}: {result}", flush=True)
    card_path.write_text(json.dumps(card, indent=2, sort_keys=True) + "\n")
    print(f"wrote {STARTER_DIR}")


if __name__ == "__main__":
    main()
