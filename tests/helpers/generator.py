"""A tiny generator, made by jobs 1 and 2 for real: clean 16x16 colour patches of four
scikit-image photographs, a diffusion_unet of width 8 trained a few steps with the EDM objective."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.images import photo, write_image

PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")
TINY_GENERATOR = {"architecture": "diffusion_unet", "args": {"width": 8, "levels": 1, "blocks": 1}}


def clean_shards(root: Path) -> str:
    from pipelines.shards import job as make_shards

    for name in PHOTOS:
        write_image(root / "photos" / f"{name}.png", photo(name, (48, 48)))
    make_shards.run([f"--input={root / 'photos'}", f"--output={root / 'shards'}", "--recipe=clean",
                     "--patch_size=16", "--stride=8", "--val_fraction=0"])
    return str(root / "shards")


def config_dict(shards: str, steps: int) -> dict:
    return {
        "data": {"shards": shards, "batch_size": 8, "shuffle_buffer": 64},
        "model": TINY_GENERATOR,
        "optimizer": {"learning_rate": 0.003, "schedule": "constant", "ema_decay": 0.9},
        "train": {"steps": steps, "log_every": 1, "checkpoint_every": 1000},
        "diffusion": {"objective": "edm"},
    }


def tiny_generator(root: Path, steps: int = 3) -> str:
    """The model directory of a tiny generator trained ``steps`` steps under ``root``."""
    from model import train
    from model.config import load_config

    config = load_config(None, base=config_dict(clean_shards(root), steps))
    return train.train(config, str(root / "run"))
