import pytest

from pipelines import demo
from restoreflow import zoo


@pytest.mark.slow
def test_a_shortened_demo_runs_the_three_jobs_end_to_end(tmp_path, capsys):
    results = demo.run(str(tmp_path), steps=4, test_side=64, train_side=96)
    assert set(results) == {"demo model", f"{zoo.DEFAULT} model"}
    for summary in results.values():
        assert summary["counts"] == {"error": 0, "restored": len(demo.TEST_IMAGES)}
        scores = summary["scores"]
        assert scores["psnr_db_restored"]["count"] == len(demo.TEST_IMAGES)
    # The default model is trained for this damage: it must clearly improve the images (measured:
    # +1.6 dB on these 64-pixel thumbnails, +2.9 dB at the demo's 384 pixels; the gray denoiser
    # +0.07 dB).
    assert results[f"{zoo.DEFAULT} model"]["gains"]["psnr_db"]["mean"] > 1.0
    assert (tmp_path / "train" / "model" / "model.json").exists()
    assert (tmp_path / f"restored-{zoo.DEFAULT}" / "report.html").exists()
    assert demo.main(["--output", str(tmp_path / "x"), "--steps", "0"]) == 2
