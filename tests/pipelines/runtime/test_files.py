"""The jobs' own files are written by rename and never through a link planted in the output."""

import pytest

from pipelines.runtime import files as output_files
from restoreflow.configs import ConfigError


def planted(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me")
    out = tmp_path / "out"
    out.mkdir()
    return out, outside


def test_a_link_at_the_final_name_is_replaced_not_followed(tmp_path):
    out, outside = planted(tmp_path)
    (out / "summary.json").symlink_to(outside)
    output_files.write_atomically(str(out / "summary.json"), b"{}", root=str(out))
    assert outside.read_text() == "keep me"
    assert not (out / "summary.json").is_symlink() and (out / "summary.json").read_bytes() == b"{}"
    assert sorted(p.name for p in out.iterdir()) == ["summary.json"], "no temporary file is left"


def test_a_link_at_the_temporary_name_is_an_error_and_left_alone(tmp_path):
    out, outside = planted(tmp_path)
    temporary = output_files.temporary_name(str(out / "a.png"), "run-1")
    (out / "a.png.partial-run-1").symlink_to(outside)
    with pytest.raises(FileExistsError):
        output_files.write_atomically(str(out / "a.png"), b"data", root=str(out), temporary=temporary)
    assert outside.read_text() == "keep me" and not (out / "a.png").exists()


def test_a_linked_folder_on_the_way_is_refused(tmp_path):
    out, _ = planted(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out / "restored").mkdir()
    (out / "restored" / "sub").symlink_to(elsewhere)
    with pytest.raises(output_files.LinkedPath, match=r"restored/sub is a symbolic link"):
        output_files.write_atomically(str(out / "restored" / "sub" / "x.png"), b"data", root=str(out))
    with pytest.raises(output_files.LinkedPath, match=r"restored/sub is a symbolic link"):
        output_files.write_atomically(str(out / "restored" / "sub" / "deeper" / "x.png"), b"data", root=str(out))
    assert list(elsewhere.iterdir()) == [], "not even a folder is made through the link"
    # The output root itself may be a link: the user named it.
    (tmp_path / "named").symlink_to(out)
    output_files.write_atomically(str(tmp_path / "named" / "restored" / "y.png"), b"data", root=str(tmp_path / "named"))
    assert (out / "restored" / "y.png").read_bytes() == b"data"


def test_linked_or_non_folder_output_folders_are_one_line(tmp_path):
    out, outside = planted(tmp_path)
    output_files.refuse_linked_folders(str(out), ("scores", "errors"))  # missing folders are fine
    (out / "scores").symlink_to(tmp_path)
    with pytest.raises(ConfigError, match=r"scores is a symbolic link"):
        output_files.refuse_linked_folders(str(out), ("scores", "errors"))
    (out / "scores").unlink()
    (out / "errors").write_text("")
    with pytest.raises(ConfigError, match=r"errors is not a folder"):
        output_files.refuse_linked_folders(str(out), ("scores", "errors"))
