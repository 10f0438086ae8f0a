"""Output names are unique by construction; every collision is found before anything is written."""

import io
import tarfile
import zipfile

import pytest
from PIL import Image

from pipelines.inputs import outputs
from tests.helpers.images import photo, png_bytes, write_image
from tests.helpers.restore import (
    assert_accounted_once,
    assert_outputs_match_newest_rows,
    errors_by_id,
    make_model,
    run_restore,
)


@pytest.fixture(scope="module")
def gray_model(tmp_path_factory):
    return make_model(tmp_path_factory.mktemp("models") / "gray")


@pytest.mark.parametrize("image_id, requested, name", [
    ("a.png", "keep", "a.png"), ("a.jpeg", "keep", "a.jpeg"), ("a.gif", "keep", "a.gif.png"),
    ("scan", "keep", "scan"), ("a.jpg", "PNG", "a.jpg.png"), ("scan", "TIFF", "scan.tif"), ("a.pgm", "keep", "a.pgm"),
])
def test_output_names(image_id, requested, name):
    assert outputs.output_name(image_id, requested) == name


def add_member(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))


@pytest.mark.slow
def test_every_collision_kind_goes_to_errors_naming_the_other(tmp_path, gray_model):
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    Image.fromarray(photo("camera", (16, 18))[..., 0]).save(first / "x.gif")
    write_image(first / "x.gif.png", photo("moon", (16, 18)))
    write_image(first / "y.png", photo("coins", (16, 18)))
    (first / "y").write_bytes(png_bytes(photo("text", (16, 18))))  # no extension
    with tarfile.open(first / "a.tar", "w") as archive:
        add_member(archive, "m.png", png_bytes(photo("camera", (18, 16))))
        add_member(archive, "p.gif", _gif_bytes())
        add_member(archive, "p.gif.png", png_bytes(photo("moon", (18, 16))))
    write_image(first / "b.zip" / "q.png", photo("coins", (18, 16)))  # a folder named like an archive
    write_image(second / "a.tar" / "m.png", photo("text", (18, 16)))  # the archive's member id
    write_image(second / "y.png", photo("camera", (18, 20)))  # the same image id
    with zipfile.ZipFile(second / "b.zip", "w") as archive:
        archive.writestr("q.png", png_bytes(photo("moon", (18, 16))))

    out = tmp_path / "out"
    summary = run_restore([first, second], out, gray_model)

    errors = errors_by_id(out, summary["run_id"])
    assert errors.keys() == {"x.gif", "a.tar/p.gif.png", "a.tar/m.png", "y.png", "b.zip"}
    assert f"would overwrite the output of {first / 'x.gif.png'}" in errors["x.gif"]
    assert "would overwrite the output of a.tar/p.gif" in errors["a.tar/p.gif.png"]
    assert f"lies inside archive {first / 'a.tar'}" in errors["a.tar/m.png"]
    assert f"duplicate image id: {first / 'y.png'}" in errors["y.png"]
    assert "members would get the ids b.zip/..." in errors["b.zip"] and str(first / "b.zip" / "q.png") in errors["b.zip"]
    restored = ["x.gif.png", "y.png", "y", "a.tar/m.png", "a.tar/p.gif", "b.zip/q.png"]
    assert_accounted_once(out, summary, restored + list(errors))
    assert sorted(str(p.relative_to(out / "restored")) for p in (out / "restored").rglob("*") if p.is_file()) == sorted(
        ["x.gif.png", "y.png", "y", "a.tar/m.png", "a.tar/p.gif.png", "b.zip/q.png"])
    assert_outputs_match_newest_rows(out)
    again = run_restore([first, second], out, gray_model)
    assert again["counts"] == {"error": 5, "skipped": 6}, "a collision never makes later runs redo work"


@pytest.mark.slow
def test_a_format_change_that_collides_is_refused(tmp_path, gray_model):
    write_image(tmp_path / "in" / "scan.png", photo("camera", (16, 16)))
    (tmp_path / "in" / "scan").write_bytes(png_bytes(photo("moon", (16, 16))))
    summary = run_restore([tmp_path / "in"], tmp_path / "out", gray_model, "--format=PNG")
    assert errors_by_id(tmp_path / "out", summary["run_id"]).keys() == {"scan"}
    assert_accounted_once(tmp_path / "out", summary, ["scan", "scan.png"])


def _gif_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(photo("coins", (18, 16))[..., 0]).save(buffer, format="GIF")
    return buffer.getvalue()
