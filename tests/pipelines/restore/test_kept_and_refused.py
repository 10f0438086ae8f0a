"""What a restore run keeps of an input besides its pixels (metadata, colour profile, bilevel
mode) and what it refuses before any work, each replayed with tiny real files."""

import io

import numpy as np
from PIL import Image

from pipelines.imaging import colour_profiles, images
from tests.helpers.icc import cmyk_profile
from tests.helpers.images import photo, write_image
from tests.helpers.metadata import EVERYTHING, archive_file, recorded
from tests.helpers.restore import errors_of, rows_of, run_restore


def save(path, image: Image.Image, fmt: str, **options) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    path.write_bytes(buffer.getvalue())


def test_metadata_profiles_and_bilevel_scans_come_back_and_unusable_kinds_are_refused(tmp_path, gray_model):
    import tifffile

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "meta.jpg").write_bytes(archive_file("JPEG", photo("astronaut", (20, 24))))
    (folder / "meta.png").write_bytes(archive_file("PNG", photo("astronaut", (20, 24))))
    inks = Image.fromarray(photo("astronaut", (20, 24))).convert("CMYK")
    save(folder / "cmyk.jpg", inks, "JPEG", quality=95, icc_profile=cmyk_profile(lambda c, m, y, k: 100 * (1 - k)))
    save(folder / "plain-cmyk.jpg", inks, "JPEG", quality=95)
    save(folder / "rgb-profiled-cmyk.tif", inks, "TIFF", icc_profile=colour_profiles.srgb_profile())
    scan = Image.fromarray(photo("text", (20, 24))[..., 0]).convert("1", dither=Image.Dither.NONE)
    save(folder / "scan.png", scan, "PNG")
    tifffile.imwrite(folder / "float.tif", np.random.default_rng(0).random((20, 24, 3), np.float32), photometric="rgb")

    summary = run_restore([folder], tmp_path / "out", gray_model)

    restored = tmp_path / "out" / "restored"
    for name in ("meta.jpg", "meta.png"):
        assert images.decode((restored / name).read_bytes()).pixels.shape[:2] == (24, 20), "orientation applied"
        kept = recorded((restored / name).read_bytes())
        assert kept == {**EVERYTHING, "iptc": name.endswith(".jpg")}, name  # PNG holds no IPTC
    cmyk = images.decode((restored / "cmyk.jpg").read_bytes())
    assert cmyk.icc_profile == colour_profiles.srgb_profile(), "converted through its profile, sRGB attached"
    assert images.decode((restored / "plain-cmyk.jpg").read_bytes()).icc_profile is None
    written_scan = Image.open(restored / "scan.png")
    assert written_scan.mode == "1"
    rows = {row["image_id"]: row for row in rows_of(tmp_path / "out", summary["run_id"])}
    assert rows["scan.png"]["bit_depth"] == 1
    assert rows["plain-cmyk.jpg"]["note"] == colour_profiles.NO_PROFILE_NOTE
    assert rows["cmyk.jpg"]["note"] is None
    reasons = {e["image_id"]: (e["stage"], e["reason"]) for e in errors_of(tmp_path / "out", summary["run_id"])}
    assert reasons["rgb-profiled-cmyk.tif"][1].startswith("CMYK image whose ICC profile is for RGB, not CMYK")
    assert reasons["float.tif"][1].startswith("32-bit floating-point image: not restored")
    assert sorted(reasons) == ["float.tif", "rgb-profiled-cmyk.tif"]


def test_alpha_into_bmp_is_refused_before_inference_and_the_rest_is_written(tmp_path, gray_model):
    folder = tmp_path / "in"
    gray = photo("camera", (16, 20))
    write_image(folder / "gray.png", gray)
    write_image(folder / "la.png", np.concatenate([gray, np.full_like(gray, 200)], axis=-1), mode="LA")
    write_image(folder / "rgba.png", np.concatenate([photo("astronaut", (16, 20)), np.full_like(gray, 9)], axis=-1))

    summary = run_restore([folder], tmp_path / "out", gray_model, "--format=BMP")

    assert summary["counts"] == {"error": 2, "restored": 1}
    assert (tmp_path / "out" / "restored" / "gray.png.bmp").exists()
    for error in errors_of(tmp_path / "out", summary["run_id"]):
        assert error["stage"] == "decode", "refused while preparing, before any inference"
        assert error["reason"].startswith("BMP would lose the alpha channel")
