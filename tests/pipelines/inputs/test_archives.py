"""Archive members, read as the jobs read them (the pipelines test them end to end too)."""

import tarfile
import zipfile

import pytest

from pipelines.inputs import archives
from tests.helpers.images import add_to_tar, photo, png_bytes


def members(path, **flags) -> list[archives.Member]:
    return list(archives.read_members(str(path), f"in/{path.name}", max_bytes=10_000, **flags))


def test_tar_members_are_read_in_memory_and_refusals_say_why(tmp_path):
    image = png_bytes(photo("camera", (16, 16)))
    path = tmp_path / "scans.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        add_to_tar(archive, "a/./b.png", image)
        add_to_tar(archive, "a/b.png", image)  # the same path once normalised
        add_to_tar(archive, "inner.zip", b"PK")
        add_to_tar(archive, "notes.txt", b"hello")
        add_to_tar(archive, "big.png", bytes(10_001))
    first, namesake, *others = members(path)
    assert (first.image_id, first.data, first.reason) == ("in/scans.tar.gz/a/b.png", image, None)
    assert namesake.image_id == first.image_id and "duplicate member name" in namesake.reason
    reasons = {m.image_id: m.reason for m in others}
    assert all(m.data is None for m in others) and len(reasons) == 3
    assert "nested archives are not expanded" in reasons["in/scans.tar.gz/inner.zip"]
    assert "extension .txt" in reasons["in/scans.tar.gz/notes.txt"]
    assert "over the limit of 10000" in reasons["in/scans.tar.gz/big.png"]
    assert not (tmp_path / "a").exists(), "nothing is extracted to disk"


def test_zip_members_and_an_unreadable_archive(tmp_path):
    path = tmp_path / "box.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x.png", b"png bytes")
    assert [(m.image_id, m.data) for m in members(path)] == [("in/box.zip/x.png", b"png bytes")]
    (tmp_path / "broken.zip").write_bytes(b"not a zip")
    with pytest.raises(zipfile.BadZipFile):
        members(tmp_path / "broken.zip")
