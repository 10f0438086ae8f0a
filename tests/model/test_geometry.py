"""model.geometry: an architecture's size arithmetic and argument checks, without TensorFlow.
(That they match what the built networks do is tested in test_architectures.py.)"""

import pytest

from model import geometry
from restoreflow.configs import ConfigError


def test_unet_radius_formula_at_defaults():
    # 1 head + down blocks (2*2*(1+2+4)) + bottom (2*2*8) + up (1+2+4) + up blocks (28) + 1 tail.
    assert geometry.unet_receptive_field_radius(levels=3, blocks=2) == 1 + 28 + 32 + 7 + 28 + 1


def test_sr_radius_is_at_least_the_bicubic_residuals():
    shallow = geometry.DESCRIBERS["sr_subpixel"](channels=3, scale=4, depth=1, width=8)
    assert shallow["receptive_field_radius"] == geometry.BICUBIC_RADIUS
    assert shallow["scale"] == 4


def test_an_inpainting_unet_is_a_unet_that_takes_a_mask():
    unet = geometry.DESCRIBERS["unet"](channels=3, width=8, levels=2, blocks=1)
    inpaint = geometry.DESCRIBERS["inpaint_unet"](channels=3, width=8, levels=2, blocks=1)
    assert inpaint == {**unet, "takes_mask": True}
    assert unet["size_multiple"] == 4


@pytest.mark.parametrize(
    ("check", "args", "message"),
    [
        (geometry.check_dncnn_args, (3, 1, 8), r"model\.args\.depth: must be at least 2"),
        (geometry.check_unet_args, (3, 8, 1, -1), r"model\.args\.blocks: must be at least 0, got -1"),
        (geometry.check_sr_args, (3, 5, 1, 8), r"model\.args\.scale: must be one of 2, 3, 4, got 5"),
    ],
)
def test_checks_name_the_config_key(check, args, message):
    with pytest.raises(ConfigError, match=message):
        check(*args)
