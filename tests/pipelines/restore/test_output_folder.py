"""The output folder is the job's own: never read back as input, never written through a link
(issue 21, items 1 and 2, and "--input a --input a")."""

import json
import os

import pytest

from pipelines import restore
from pipelines.runtime import lock
from tests.helpers.images import photo, write_image
from tests.helpers.restore import assert_accounted_once, errors_by_id, run_restore


def three_images(folder):
    for i, name in enumerate(("camera", "moon", "coins")):
        write_image(folder / f"g{i}.png", photo(name, (16, 20)))
    return ["g0.png", "g1.png", "g2.png"]


@pytest.mark.slow
def test_an_output_inside_the_input_is_never_read_back(tmp_path, gray_model, caplog):
    ids = three_images(tmp_path / "in")
    out = tmp_path / "in" / "out"
    counts = []
    for _ in range(3):
        summary = run_restore([tmp_path / "in"], out, gray_model)
        assert_accounted_once(out, summary, ids)
        counts.append((summary["counts"].get("restored", 0), summary["counts"].get("skipped", 0)))
    assert counts == [(3, 0), (0, 3), (0, 3)]  # not 3, 6, 12
    assert sorted(p.name for p in (out / "restored").iterdir()) == ids
    assert f"--output {out} lies inside --input {tmp_path / 'in'}: it is left out of the listing" in caplog.text


def test_an_earlier_output_inside_the_input_is_left_out_too(tmp_path, gray_model, caplog):
    ids = three_images(tmp_path / "in")
    run_restore([tmp_path / "in"], tmp_path / "in" / "first", gray_model)
    summary = run_restore([tmp_path / "in"], tmp_path / "second", gray_model)
    assert_accounted_once(tmp_path / "second", summary, ids)
    assert f"left out {tmp_path / 'in' / 'first'}, the output folder of another restoreflow run" in caplog.text


def test_an_input_that_is_the_output_or_inside_it_is_one_line(tmp_path, gray_model, capsys):
    three_images(tmp_path / "in")
    for output in (tmp_path / "in", tmp_path):
        assert restore.main([f"--input={tmp_path / 'in'}", f"--output={output}", f"--model={gray_model}"]) == 2
        err = capsys.readouterr().err.strip()
        assert err == (f"restoreflow restore: error: --input {tmp_path / 'in'} is inside --output {output}: the "
                       f"job's outputs would be read back as inputs; choose an --output outside every --input")
    assert not (tmp_path / "in" / "restored").exists()


def test_an_input_given_twice_is_listed_once(tmp_path, gray_model, caplog):
    ids = three_images(tmp_path / "in")
    out = tmp_path / "out"
    summary = run_restore([tmp_path / "in", tmp_path / "in", f"{tmp_path / 'in'}/"], out, gray_model)
    assert summary["counts"] == {"error": 0, "restored": 3}
    assert_accounted_once(out, summary, ids)
    assert "is given more than once: listed once" in caplog.text


def test_links_planted_in_the_output_are_never_written_through(tmp_path, gray_model, capsys):
    ids = three_images(tmp_path / "in")
    os.makedirs(tmp_path / "in" / "sub")
    write_image(tmp_path / "in" / "sub" / "s.png", photo("camera", (16, 20)))
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    elsewhere.mkdir()
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me")
    (out / "restored").mkdir(parents=True)
    for planted in (out / "summary.json", out / "report.html", out / "restored" / "g0.png"):
        planted.symlink_to(precious)
    (out / "restored" / "sub").symlink_to(elsewhere)

    summary = run_restore([tmp_path / "in"], out, gray_model)
    capsys.readouterr()  # the progress line
    assert precious.read_text() == "keep me" and list(elsewhere.iterdir()) == []
    assert not any(p.is_symlink() for p in (out / "summary.json", out / "report.html", out / "restored" / "g0.png"))
    assert json.loads((out / "summary.json").read_text())["run_id"] == summary["run_id"]
    assert_accounted_once(out, summary, [*ids, "sub/s.png"])
    assert "restored/sub is a symbolic link" in errors_by_id(out, summary["run_id"])["sub/s.png"]

    (out / lock.LOCK_FILE).unlink()
    (out / lock.LOCK_FILE).symlink_to(precious)
    argv = [f"--input={tmp_path / 'in'}", f"--output={out}", f"--model={gray_model}"]
    assert restore.main(argv) == 2
    assert capsys.readouterr().err.strip().startswith(f"restoreflow restore: error: {out / lock.LOCK_FILE} is a "
                                                      f"symbolic link")
    assert precious.read_text() == "keep me"
    (out / lock.LOCK_FILE).unlink()
    (out / lock.LOCK_FILE).mkdir()
    assert restore.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"restoreflow restore: error: {out / lock.LOCK_FILE} is a folder, not the lock file of a run: " \
                  f"remove or rename it"
    os.rmdir(out / lock.LOCK_FILE)
    os.rename(out / "scores", tmp_path / "scores")
    (out / "scores").symlink_to(tmp_path / "scores")
    assert restore.main(argv) == 2
    assert "scores is a symbolic link" in capsys.readouterr().err
    assert [p.name for p in (tmp_path / "scores").iterdir()] == [summary["run_id"]], "nothing written through it"
