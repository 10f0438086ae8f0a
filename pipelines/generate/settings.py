"""The generate job's settings: its flags checked against the model, once, before anything runs."""

from __future__ import annotations

import dataclasses
import hashlib
import json

from pipelines.restore import models
from pipelines.restore.settings import new_run_id
from pipelines.runtime import options as job_options
from restoreflow import zoo
from restoreflow.card import GENERATOR_TASK
from restoreflow.configs import ConfigError


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything the workers need, resolved when the pipeline is built."""

    model_dir: str
    model_id: str
    weights_sha256: str
    image_shape: tuple[int, int, int]  # H, W, C of every image
    seed: int
    steps: int
    count: int
    output: str
    run_id: str

    @property
    def key(self) -> str:
        """What makes an image done besides its index: the same key and index give the same
        image, so a rerun may keep a file recorded under it."""
        fields = {"model_id": self.model_id, "weights_sha256": self.weights_sha256, "seed": self.seed,
                  "steps": self.steps, "image_shape": list(self.image_shape), "sampler": "edm-heun"}
        return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:32]

    def describe(self) -> dict:
        """The settings as the state file and the report show them."""
        return {"model": self.model_dir, "model_id": self.model_id, "seed": self.seed, "steps": self.steps,
                "image_shape": list(self.image_shape)}


def resolve(options) -> Settings:
    """Settings from the parsed options; a mistake is a ConfigError or FlagError naming it."""
    common = options.view_as(job_options.InputOptions)
    own = options.view_as(job_options.GenerateOptions)
    model = options.view_as(job_options.RestoreOptions).model
    if own.count is None:
        raise job_options.FlagError("--count is required")
    if common.input:
        raise job_options.FlagError("--input: generate makes images from noise and reads no inputs")
    if common.seed < 0:
        raise job_options.FlagError(f"--seed must be at least 0 for generate, got {common.seed}")
    job_options.check_output_folder(common.output)
    card = models.read_card(model)
    check_generator(model, card)
    height, width = card["generation"]["image_size"]
    return Settings(model_dir=zoo.resolve(model), model_id=card["model_id"],
                    weights_sha256=models.weights_sha256(model), image_shape=(height, width, card["channels"]),
                    seed=common.seed, steps=own.steps, count=own.count, output=common.output.rstrip("/"),
                    run_id=new_run_id())


def check_generator(model: str, card: dict) -> None:
    """Only a generator's card (task generate, with its sampler's settings) may run here."""
    if card.get("task") != GENERATOR_TASK or "generation" not in card:
        raise ConfigError(f"--model {model} is a {card.get('task')} model, not a generator: `restoreflow generate` "
                          "runs models trained with diffusion.objective: edm (model.json task: generate)")
