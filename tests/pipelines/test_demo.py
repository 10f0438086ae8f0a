from pipelines import demo


def test_a_shortened_demo_runs_the_three_jobs_end_to_end(tmp_path, capsys):
    results = demo.run(str(tmp_path), steps=4, test_side=64, train_side=96)
    assert set(results) == {"demo model", "starter model"}
    for summary in results.values():
        assert summary["counts"] == {"error": 0, "restored": len(demo.TEST_IMAGES)}
        scores = summary["scores"]
        assert scores["psnr_db_restored"]["count"] == len(demo.TEST_IMAGES)
    # The starter model is trained for this noise: it must clearly improve the images.
    assert results["starter model"]["gains"]["psnr_db"]["mean"] > 5.0
    assert (tmp_path / "train" / "model" / "model.json").exists()
    assert (tmp_path / "restored-starter" / "report.html").exists()
    assert demo.main(["--output", str(tmp_path / "x"), "--steps", "0"]) == 2
