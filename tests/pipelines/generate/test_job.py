import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pipelines.generate import job, state as states
from tests.helpers.generator import tiny_generator

pytestmark = pytest.mark.slow  # every test samples with a generator trained by jobs 1 and 2


@pytest.fixture(scope="module")
def generator(tmp_path_factory) -> str:
    return tiny_generator(tmp_path_factory.mktemp("generator"))


def generate(model: str, output: Path, *extra: str) -> dict:
    return job.run([f"--model={model}", f"--output={output}", "--steps=2", *extra])


def digests(output: Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((output / "generated").glob("*.png"))}


def test_the_same_seed_writes_the_same_images_and_another_seed_others(generator, tmp_path):
    first = generate(generator, tmp_path / "a", "--count=3", "--seed=4")
    generate(generator, tmp_path / "b", "--count=3", "--seed=4")
    generate(generator, tmp_path / "c", "--count=3", "--seed=5")
    assert first["made"] == 3 and first["errors"] == 0
    a = digests(tmp_path / "a")
    assert list(a) == ["000000.png", "000001.png", "000002.png"] and len(set(a.values())) == 3
    assert a == digests(tmp_path / "b")
    assert not set(a.values()) & set(digests(tmp_path / "c").values())
    image = np.asarray(Image.open(tmp_path / "a" / "generated" / "000001.png"))
    assert image.shape == (16, 16, 3) and image.dtype == np.uint8


def test_a_larger_count_makes_only_the_new_images_and_a_changed_file_is_made_again(generator, tmp_path):
    out = tmp_path / "out"
    assert generate(generator, out, "--count=2")["made"] == 2
    before = {p.name: p.stat().st_mtime_ns for p in (out / "generated").iterdir()}
    again = generate(generator, out, "--count=4")
    assert (again["made"], again["skipped"]) == (2, 2)
    assert {p: (out / "generated" / p).stat().st_mtime_ns for p in before} == before  # not rewritten
    made = digests(out)
    (out / "generated" / "000001.png").write_bytes(b"edited by hand")
    killed = out / "generated" / "000002.png.partial-20261207T000000Z-abc123"  # what a killed run leaves
    killed.write_bytes(b"half a PNG")
    mended = generate(generator, out, "--count=4")
    assert (mended["made"], mended["skipped"]) == (1, 3) and digests(out) == made and not killed.exists()
    other_steps = job.run([f"--model={generator}", f"--output={out}", "--steps=3", "--count=4"])
    assert other_steps["made"] == 4  # other settings: every image made again
    recorded = json.loads((out / states.STATE_FILE).read_text())
    assert recorded["settings"]["steps"] == 3 and sorted(recorded["images"]) == sorted(made)
    page = (out / "report.html").read_text()
    assert page.count("<img ") == 4 and "steps: 3" in page


def test_the_sample_transform_in_a_test_pipeline(generator):
    import apache_beam as beam
    from apache_beam.testing.test_pipeline import TestPipeline
    from apache_beam.testing.util import assert_that, equal_to

    from model import diffusion
    from model.export import load_model
    from pipelines.generate.sample import Item, Sample

    network, card = load_model(generator)
    sampler = diffusion.Sampler(network, diffusion.EDM.from_card(card))
    expected = [(i, sampler.sample(seed=9, index=i, steps=2, shape=(16, 16, 3)).tobytes()) for i in (0, 5)]
    with TestPipeline(runner="FnApiRunner") as p:
        good, bad = (p | beam.Create([Item(0, "000000.png", generator), Item(5, "000005.png", generator)])
                     | Sample(generator, seed=9, steps=2, shape=(16, 16, 3)))
        assert_that(good | beam.Map(lambda s: (s.item.index, s.pixels.tobytes())), equal_to(expected))
        assert_that(bad, equal_to([]), label="no errors")


def test_a_shape_the_network_cannot_take_lands_in_errors(generator, tmp_path):
    # levels=1: odd sides fail inside the network; the run goes on and says why per image
    import apache_beam as beam
    from apache_beam.testing.test_pipeline import TestPipeline
    from apache_beam.testing.util import assert_that, equal_to

    from pipelines.generate.sample import Item, Sample

    with TestPipeline(runner="FnApiRunner") as p:
        good, bad = (p | beam.Create([Item(0, "000000.png", generator)])
                     | Sample(generator, seed=0, steps=1, shape=(15, 15, 3)))
        assert_that(good | beam.combiners.Count.Globally(), equal_to([0]))
        assert_that(bad | beam.Map(lambda e: (e["image_id"], e["stage"], e["reason"].startswith("unexpected"))),
                    equal_to([("000000.png", "generate", True)]), label="errors")


@pytest.mark.parametrize("flags, message", [
    (["--count=0"], "--count must be at least 1, got 0"),
    (["--count=2", "--steps=0"], "--steps must be at least 1, got 0"),
    (["--steps=2"], "--count is required"),
    (["--count=2", "--input=photos"], "--input: generate makes images from noise and reads no inputs"),
    (["--count=2", "--seed=-1"], "--seed must be at least 0"),
    (["--count=2", "--tile_size=64"], "unknown flag --tile_size"),  # restore's own flags stay restore's
])
def test_flag_mistakes_are_one_line_and_exit_2(generator, tmp_path, capsys, flags, message):
    assert job.main([f"--model={generator}", f"--output={tmp_path / 'out'}", *flags]) == 2
    err = capsys.readouterr().err
    assert err.startswith("restoreflow generate: error: ") and message in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_a_linked_images_folder_is_refused(generator, tmp_path, capsys):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "generated").symlink_to(tmp_path / "elsewhere")
    assert job.main([f"--model={generator}", f"--output={tmp_path / 'out'}", "--count=1"]) == 2
    assert "is a symbolic link" in capsys.readouterr().err and not list((tmp_path / "elsewhere").iterdir())


def test_a_model_that_is_not_a_generator_is_refused_and_restore_takes_a_generator_only_to_fill_masks(
        generator, tmp_path, capsys):
    from pipelines.restore import job as restore_job
    from tests.helpers.images import photo, write_image

    assert job.main(["--model=denoise-gray", f"--output={tmp_path / 'out'}", "--count=1"]) == 2
    err = capsys.readouterr().err
    assert "--model denoise-gray is a denoise model, not a generator" in err and err.count("\n") == 1
    write_image(tmp_path / "photos" / "a.png", photo("camera", (16, 16)))
    assert restore_job.main([f"--input={tmp_path / 'photos'}", f"--output={tmp_path / 'restored'}",
                             f"--model={generator}"]) == 2
    err = capsys.readouterr().err
    assert "is a generator (a diffusion model): restore uses it only to fill the holes of --masks DIR" in err
    assert err.count("\n") == 1
    assert "run `restoreflow generate`" in err


def restore_with_fill(generator, root: Path, output: str, *extra: str) -> dict:
    from pipelines import restore

    return restore.run([f"--input={root / 'photos'}", f"--output={root / output}", f"--model={generator}",
                        f"--masks={root / 'masks'}", "--fill_steps=2", "--fill_resample=2", *extra])


def test_restore_fills_the_holes_with_a_generator_keeps_every_known_pixel_and_is_seeded(generator, tmp_path):
    from restoreflow import scores
    from tests.helpers.images import photo, stroke_mask, write_image

    pixels = photo("astronaut", (20, 26))  # not a multiple of the network's size multiple
    write_image(tmp_path / "photos" / "a.png", pixels)
    mask = stroke_mask((20, 26), [((2, 3), (22, 15))], width=4)
    write_image(tmp_path / "masks" / "a.png", mask)
    first = restore_with_fill(generator, tmp_path, "one")
    filled = np.asarray(Image.open(tmp_path / "one" / "restored" / "a.png"))
    holes = mask[..., 0] > 0
    np.testing.assert_array_equal(filled[~holes], pixels[~holes])
    assert np.abs(filled[holes].astype(int)).mean() > 5  # sampled, not the zeros the input holds there
    restore_with_fill(generator, tmp_path, "two")
    again = (tmp_path / "two" / "restored" / "a.png").read_bytes()
    assert again == (tmp_path / "one" / "restored" / "a.png").read_bytes()
    rerun = restore_with_fill(generator, tmp_path, "one")
    assert [r["status"] for r in scores.read(str(tmp_path / "one"), rerun["run_id"]).to_pylist()] == ["skipped"]
    other = restore_with_fill(generator, tmp_path, "one", "--fill_resample=1")  # in the key: made again
    assert [r["status"] for r in scores.read(str(tmp_path / "one"), other["run_id"]).to_pylist()] == ["restored"]
    assert first["run_id"] != other["run_id"]


def test_fill_counts_below_one_are_one_line_and_exit_2(generator, tmp_path, capsys):
    from pipelines.restore import job as restore_job
    from tests.helpers.images import photo, stroke_mask, write_image

    write_image(tmp_path / "photos" / "a.png", photo("camera", (16, 16)))
    write_image(tmp_path / "masks" / "a.png", stroke_mask((16, 16), [((0, 0), (15, 15))]))
    assert restore_job.main([f"--input={tmp_path / 'photos'}", f"--output={tmp_path / 'out'}", f"--model={generator}",
                             f"--masks={tmp_path / 'masks'}", "--fill_steps=0"]) == 2
    err = capsys.readouterr().err
    assert "--fill_steps 0, --fill_resample 2: each must be at least 1" in err and err.count("\n") == 1


def test_the_bundled_generator_samples_photograph_like_patches(tmp_path):
    summary = generate("generate-32", tmp_path / "out", "--count=2", "--seed=0", "--steps=10")
    assert summary["made"] == 2
    for path in sorted((tmp_path / "out" / "generated").glob("*.png")):
        pixels = np.asarray(Image.open(path).convert("RGB"), dtype=np.float64)
        assert pixels.shape == (32, 32, 3)
        # Not noise: neighbouring pixels agree as in photographs (these two: 0.76 and more), where
        # what is left of the sampler's starting noise would give a correlation near 0.
        horizontal = np.corrcoef(pixels[:, :-1].ravel(), pixels[:, 1:].ravel())[0, 1]
        assert horizontal > 0.5, (path.name, horizontal)
