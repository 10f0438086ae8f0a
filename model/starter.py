"""The starter model that ships inside the package: a gray denoiser trained with restoreflow's
own pipeline (see its model.json for the exact commands, data and scores). ``restoreflow
restore`` uses it when no ``--model`` is given."""

from __future__ import annotations

import importlib.resources

from restoreflow.configs import ConfigError

STARTER_NAME = "denoise-gray"


def starter_model_dir() -> str:
    folder = importlib.resources.files("model").joinpath("starter", STARTER_NAME)
    if not folder.joinpath("model.json").is_file():
        raise ConfigError(f"the bundled starter model is missing ({folder}); pass --model")
    return str(folder)
