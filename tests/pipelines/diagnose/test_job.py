"""restoreflow diagnose: the triage job over a folder, its table, summary and mistakes."""

import io

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

from pipelines.diagnose import job
from restoreflow import routing
from tests.helpers.images import photo, write_image


def test_every_image_gets_a_row_and_the_summary_counts_them(tmp_path, capsys):
    write_image(tmp_path / "in" / "clean.png", photo("chelsea", (128, 160)))
    noisy = photo("astronaut", (128, 160)) + np.random.default_rng(0).normal(0, 20, (128, 160, 3))
    write_image(tmp_path / "in" / "noisy.png", np.clip(np.round(noisy), 0, 255).astype(np.uint8))
    buffer = io.BytesIO()
    Image.fromarray(photo("coffee", (128, 160))).save(buffer, format="JPEG", quality=15)
    (tmp_path / "in" / "blocky.jpg").write_bytes(buffer.getvalue())
    (tmp_path / "in" / "broken.png").write_bytes(b"not an image")

    assert job.main([f"--input={tmp_path / 'in'}", f"--output={tmp_path / 'out'}"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("diagnose: 3 images in") and "1 rejected" in line

    rows = {r["image_id"]: r for path in (tmp_path / "out" / "diagnosis").glob("*/*.parquet")
            for r in pq.read_table(path).to_pylist()}
    assert set(rows) == {"clean.png", "noisy.png", "blocky.jpg"}
    assert rows["noisy.png"]["diagnosis_noise_sigma"] > 15 and rows["noisy.png"]["chosen_model"] == "denoise-color"
    assert rows["blocky.jpg"]["diagnosis_jpeg_quality"] is not None
    assert all(r["chosen_model"] in (*routing.AUTO_MODELS, routing.COPY) for r in rows.values())
    summary = job.summarize(str(tmp_path / "out"), next((tmp_path / "out" / "diagnosis").iterdir()).name, 1.0)
    assert sum(summary["by_damage"].values()) == 3 and summary["errors"] == 1


def test_a_restorer_is_not_a_diagnosis_model(tmp_path, capsys):
    write_image(tmp_path / "in" / "a.png", photo("camera", (32, 32)))
    code = job.main([f"--input={tmp_path / 'in'}", f"--output={tmp_path / 'out'}", "--diagnosis_model=jpeg"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "not a damage-diagnosis one" in err


@pytest.mark.parametrize("missing", ["--input", "--output"])
def test_required_flags_are_named(tmp_path, missing, capsys):
    flags = {"--input": f"--input={tmp_path}", "--output": f"--output={tmp_path / 'out'}"}
    flags.pop(missing)
    assert job.main(list(flags.values())) == 2
    assert missing.lstrip("-") in capsys.readouterr().err
