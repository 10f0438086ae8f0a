"""bench.zoo's command line and the bits of its runs that are not the restore job."""

import tempfile

import pytest

from bench.zoo import benchmark as zoo
from bench.zoo.baselines import Score
from bench.zoo.runs import Bench, Skip, verdict


def run_main(capsys, *argv):
    with pytest.raises(SystemExit) as exit_info:
        zoo.main(list(argv))
    return exit_info.value.code, capsys.readouterr().err


def test_model_flag_names_a_known_model_and_a_model_directory(tmp_path, capsys):
    code, err = run_main(capsys, "--model", f"denoise-colour={tmp_path}")
    assert code == 2 and "unknown model name 'denoise-colour'" in err and "denoise-color" in err
    code, err = run_main(capsys, "--model", f"jpeg={tmp_path}")
    assert code == 2 and "not a model directory (no model.json)" in err
    code, err = run_main(capsys, "--model", "jpeg")
    assert code == 2 and "expected NAME=DIR" in err
    (tmp_path / "model.json").write_text("{}")
    assert zoo.parse_model(f"jpeg={tmp_path}") == ("jpeg", str(tmp_path.resolve()))


def test_cards_are_written_only_from_whole_benchmarks(capsys):
    code, err = run_main(capsys, "--write-cards", "--limit", "2")
    assert code == 2 and "drop --limit" in err
    code, err = run_main(capsys, "--only", "parityy")
    assert code == 2 and "parityy" in err
    code, err = run_main(capsys, "--speed-models", "sr-x3")
    assert code == 2 and "sr-x3" in err and "sr-x4" in err


def test_a_missing_model_skips_its_section(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the run's scratch folder
    monkeypatch.setattr("restoreflow.zoo.names", lambda: [])  # as if nothing were bundled
    assert zoo.main(["--only", "deblur", "inpaint", "sr", "--limit", "1"]) == 0
    out = capsys.readouterr().out
    for name in ("deblur", "inpaint", "sr-x2", "sr-x4"):
        assert f"skipped: no model {name} " in out
    assert "| scale |" not in out  # no empty table
    assert "--model deblur=DIR" in str(Skip("deblur"))


def test_verdicts_name_the_shortfall():
    assert verdict(31.02, 31.00) == "met"
    assert verdict(30.90, 31.00) == "**missed** by 0.10 dB"
    assert verdict(None, 31.00) == "not measured"


def score(befores: dict) -> Score:
    return Score(psnr_db=30.0, ssim=0.8, psnr_db_degraded=20.0, images=len(befores), seconds=1.0,
                 per_image={k: (v, 30.0) for k, v in befores.items()})


def test_methods_on_different_inputs_stop_the_benchmark(tmp_path):
    bench = Bench(scratch=tmp_path, models={})
    bench.check_inputs("cbsd68", "r", "model", score({"a": 20.0, "b": 21.0}))
    bench.check_inputs("cbsd68", "r", "baseline", score({"a": 20.0, "b": 21.0}))
    bench.check_inputs("cbsd68", "other", "baseline", score({"a": 25.0}))
    with pytest.raises(RuntimeError, match="different degraded inputs"):
        bench.check_inputs("cbsd68", "r", "CBM3D", score({"a": 20.0, "b": 21.5}))
    with pytest.raises(RuntimeError, match="different degraded inputs"):
        bench.check_inputs("cbsd68", "r", "CBM3D", score({"a": 20.0}))
