"""tools/style_images.py writes the bundled styles' images exactly as scikit-image ships them."""

import numpy as np
import skimage.data
from PIL import Image

from tools import style_images


def test_each_style_image_is_written_bit_exact_from_skimage_data(tmp_path):
    digests = style_images.write(tmp_path)
    assert sorted(digests) == sorted(style_images.STYLES)
    for name in style_images.STYLES:
        with Image.open(tmp_path / f"{name}.png") as image:
            assert np.array_equal(np.asarray(image), getattr(skimage.data, name)()), name
