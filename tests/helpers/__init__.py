"""What tests share: images, the restore job's tiny models and runs, the one in-memory
TestPipeline (beam.py), the Chromium check; no test module imports another."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW_VENV = ROOT / ".venv-airflow"  # made by dev/setup
