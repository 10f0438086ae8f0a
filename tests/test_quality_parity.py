"""The proof that network, noise model and scoring match the DnCNN paper, through job 3."""

import pytest

from tests.helpers.images import shared_or_skip


@pytest.mark.slow
def test_bsd68_sigma25_with_the_published_weights_matches_the_paper(tmp_path):
    from model import import_weights
    from pipelines import restore

    weights = shared_or_skip("weights", "dncnn", "sigma=25.mat")
    bsd68 = shared_or_skip("data", "bsd68")
    assert import_weights.main(["--format", "dncnn-matconvnet", str(weights), "--output", str(tmp_path / "m")]) == 0
    summary = restore.run([f"--input={bsd68}", f"--model={tmp_path / 'm'}", f"--output={tmp_path / 'out'}",
                           "--degrade=denoise-gray-s25", "--seed=0", "--write_images=none"])
    assert summary["counts"] == {"error": 0, "restored": 68}
    assert summary["scores"]["psnr_db_restored"]["mean"] == pytest.approx(29.23, abs=0.02)
