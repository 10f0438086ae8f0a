"""The modules that need neither TensorFlow nor Beam load neither: importing them (in a fresh
interpreter, as a worker or a ``--help`` does) takes milliseconds, not seconds."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

NUMPY_ONLY = (
    "model", "model.geometry", "model.tiling", "model.warm_start", "model.config", "model.export", "model.train",
    "model.engines", "model.ov_cache", "model.style_training",
    "restoreflow.card", "restoreflow.manifest", "restoreflow.pixels", "restoreflow.ssim_window",
    "restoreflow.records", "restoreflow.zoo", "restoreflow.cli",
    "pipelines.quality.scoring", "pipelines.imaging.images", "pipelines.imaging.channels", "pipelines.runtime.flags",
    "pipelines.degrade.recipe", "pipelines.degrade.pairs", "pipelines.degrade.steps",
)
PROBE = """
import importlib, json, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules} & {"tensorflow", "keras", "apache_beam"})))
"""


def test_numpy_only_modules_import_neither_tensorflow_nor_beam():
    result = subprocess.run([sys.executable, "-c", PROBE, *NUMPY_ONLY], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout) == []
