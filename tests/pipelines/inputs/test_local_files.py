"""Only regular files are read and links are never followed; every entry a listing sees is
accounted for (FIFOs would otherwise hang the job, links leak files from elsewhere)."""

import json
import os

import pytest

from pipelines.inputs import local_files, sources
from pipelines.shards import job as make_shards
from tests.helpers.images import photo, write_image
from tests.helpers.restore import assert_accounted_once, errors_by_id, make_model, run_restore


def corpus(tmp_path):
    """An input folder with one of each kind of entry; returns (folder, {image id: reason pattern})."""
    folder = tmp_path / "in"
    write_image(folder / "good.png", photo("camera", (32, 32)))
    write_image(folder / "sub" / "inner.png", photo("moon", (32, 32)))
    write_image(tmp_path / "elsewhere" / "secret.png", photo("coins", (32, 32)))
    os.mkfifo(folder / "pipe.png")
    os.symlink(tmp_path / "elsewhere" / "secret.png", folder / "outside.png")
    os.symlink("sub/inner.png", folder / "inside.png")
    os.symlink("missing.png", folder / "dangling.png")
    os.symlink(tmp_path / "elsewhere", folder / "linked_dir")
    os.symlink("/etc/passwd", folder / "passwd.png")
    return folder, {
        "pipe.png": "a FIFO (named pipe) is not a regular file",
        "outside.png": "symbolic link to a file outside the input",
        "inside.png": "symbolic link to a file inside the input",
        "dangling.png": "dangling symbolic link (to 'missing.png'",
        "linked_dir": "symbolic link to a folder outside the input",
        "passwd.png": "symbolic link to a file outside the input ('/etc/passwd')",
    }


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_shards_account_for_fifos_and_every_kind_of_link(tmp_path):
    folder, expected = corpus(tmp_path)
    manifest = make_shards.run([f"--input={folder}", f"--output={tmp_path / 'shards'}", "--recipe=denoise-gray-s25",
                                "--patch_size=24", "--stride=16"])
    errors = {e["image_id"]: e["reason"] for line in (tmp_path / "shards" / "errors").glob("*.jsonl")
              for e in map(json.loads, line.read_text().splitlines())}
    assert errors.keys() == expected.keys()
    for image_id, reason in expected.items():
        assert reason in errors[image_id], errors[image_id]
    assert manifest.counts.inputs_accounted == 2 + len(expected)
    assert manifest.counts.images.total() == 2


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_restore_accounts_for_fifos_links_and_unreadable_folders(tmp_path, monkeypatch):
    folder, expected = corpus(tmp_path)
    write_image(folder / "locked" / "hidden.png", photo("text", (32, 32)))
    real_scandir = os.scandir

    def scandir(path):  # fault injection: the tests run as root, whom permissions do not stop
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(local_files.os, "scandir", scandir)
    model = make_model(tmp_path / "model")
    summary = run_restore([folder], tmp_path / "out", model)
    errors = errors_by_id(tmp_path / "out", summary["run_id"])
    assert errors["locked"] == "cannot list folder: Permission denied"
    assert_accounted_once(tmp_path / "out", summary, ["good.png", "sub/inner.png", "locked", *expected])
    assert sorted(p.name for p in (tmp_path / "out" / "restored").rglob("*.png")) == ["good.png", "inner.png"]


def test_globs_and_explicit_paths_never_open_a_fifo(tmp_path):
    folder, _ = corpus(tmp_path)
    glob = sources.list_files(sources.resolve(f"{folder}/*.png"))
    assert [f.image_id for f in glob.files] == ["good.png"]
    assert {p["image_id"] for p in glob.problems} == {"pipe.png", "outside.png", "inside.png", "dangling.png",
                                                      "passwd.png"}
    explicit = sources.list_files(sources.resolve(str(folder / "pipe.png")))
    assert not explicit.files and "FIFO" in explicit.problems[0]["reason"]
    # A file replaced by a FIFO after listing is caught just before it would be opened.
    assert "FIFO" in local_files.unreadable_reason(str(folder / "pipe.png"))


def test_an_input_that_is_a_link_is_followed(tmp_path):
    write_image(tmp_path / "real" / "a.png", photo("camera", (16, 16)))
    os.symlink(tmp_path / "real", tmp_path / "named")
    listing = sources.list_files(sources.resolve(str(tmp_path / "named")))
    assert [f.image_id for f in listing.files] == ["a.png"] and not listing.problems
