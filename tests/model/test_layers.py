import numpy as np
import pytest
import tensorflow as tf

from model.layers import UpscaleBy, bicubic_phase_weights


def reference_upscale(image: np.ndarray, scale: int) -> np.ndarray:
    """Separable bicubic upscaling written out sample by sample, mirrored borders."""
    weights = bicubic_phase_weights(scale)

    def along(values, axis):
        values = np.moveaxis(values, axis, 0)
        padded = np.concatenate([values[1::-1], values, values[:-3:-1]], 0)
        out = np.zeros((values.shape[0] * scale, *values.shape[1:]))
        for i in range(values.shape[0]):
            for phase in range(scale):
                out[scale * i + phase] = sum(weights[phase, k] * padded[i + k] for k in range(5))
        return np.moveaxis(out, 0, axis)

    return along(along(image.astype(np.float64), 0), 1)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_upscale_matches_the_written_out_bicubic_and_works_with_unknown_sizes(scale):
    image = np.random.default_rng(scale).random((1, 7, 9, 2)).astype(np.float32)
    layer = UpscaleBy(scale)
    np.testing.assert_allclose(layer(image).numpy()[0], reference_upscale(image[0], scale), atol=1e-6)
    traced = tf.function(layer.__call__, input_signature=[tf.TensorSpec([None, None, None, 2])])
    assert traced(image).shape == (1, 7 * scale, 9 * scale, 2)


def test_bicubic_weights_sum_to_one_and_keep_flat_images_flat():
    for scale in (2, 3, 4):
        np.testing.assert_allclose(bicubic_phase_weights(scale).sum(axis=1), 1.0)
    flat = np.full((1, 5, 6, 1), 0.3, np.float32)
    np.testing.assert_allclose(UpscaleBy(3)(flat).numpy(), 0.3, atol=1e-6)
