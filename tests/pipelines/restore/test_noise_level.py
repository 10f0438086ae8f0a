"""A denoiser told its noise level (FFDNet's map): the diagnosed sigma times --strength reaches
the model as one more channel of every tile, the settings key records it, and --strength
changes what the model removes instead of blending its output with the input."""

import numpy as np
import pytest

from pipelines.restore.tiles import with_noise_level
from tests.helpers.images import photo, write_image
from tests.helpers.restore import make_model, random_tail, read_pixels, rows_of, run_restore, settings_for

LEVEL_UNET = {"channels": 3, "width": 4, "levels": 2, "blocks": 1}


def test_a_tile_gets_the_level_as_one_more_channel():
    tile = np.zeros((5, 7, 3), np.float32)
    assert with_noise_level(tile, None) is tile
    told = with_noise_level(tile, 0.1)
    assert told.shape == (5, 7, 4) and told.dtype == np.float32 and np.all(told[..., 3] == np.float32(0.1))


@pytest.mark.slow
def test_the_diagnosed_sigma_times_strength_is_what_the_model_is_told(tmp_path):
    model = make_model(tmp_path / "level", "noise_level_unet", LEVEL_UNET, prepare=random_tail)
    noise = np.random.default_rng(0).normal(0, 20, (96, 96, 3))
    write_image(tmp_path / "in" / "noisy.png", np.clip(np.round(photo("astronaut", (96, 96)) + noise), 0, 255)
                .astype(np.uint8))
    runs = {strength: run_restore([tmp_path / "in"], tmp_path / f"out-{strength}", model, f"--strength={strength}")
            for strength in (1.0, 0.5)}
    rows = {strength: rows_of(tmp_path / f"out-{strength}")[0] for strength in runs}
    sigma = rows[1.0]["diagnosis_noise_sigma"]
    assert sigma > 10 and rows[0.5]["diagnosis_noise_sigma"] == sigma
    for strength, row in rows.items():
        told = round(sigma * strength, 1)
        settings = settings_for(tmp_path / "keys", model, f"--strength={strength}")
        assert row["status"] == "restored" and row["choice_reason"] == f"noise sigma {told} told"
        assert row["settings_key"] == settings.key_for(settings.model_id, settings.weights_sha256, noise_sigma=told)
    given = read_pixels(tmp_path / "in" / "noisy.png").astype(np.float64)
    full, half = (read_pixels(tmp_path / f"out-{s}" / "restored" / "noisy.png").astype(np.float64) for s in (1.0, 0.5))
    assert np.abs(full - half).mean() > 1  # another sigma, another output ...
    assert np.abs(half - (given + 0.5 * (full - given))).mean() > 1  # ... and not a blend of the two

    again = run_restore([tmp_path / "in"], tmp_path / "out-1.0", model)  # same bytes, same diagnosis: done
    assert [r["status"] for r in rows_of(tmp_path / "out-1.0", again["run_id"])] == ["skipped"]
