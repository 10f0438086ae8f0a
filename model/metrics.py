"""Image-quality metrics for training and validation, in TensorFlow (graph-safe, batched).

Inputs are float batches (N, H, W, C) on a [0, max_val] scale (the model's scale is [0, 1]);
every metric returns one value per example, shape (N,), so a ``tf.distribute`` loop can
average or sum them as it needs. ``restored`` is clipped to [0, max_val] first: the model's
output is not clipped, but the image anyone would save and score is.

Conventions match ``pipelines.quality.scoring`` (and so scikit-image and the papers): PSNR from the
MSE over all pixels and channels; SSIM with the window of ``restoreflow.ssim_window`` (11-tap
Gaussian, sigma 1.5, K1 0.01, K2 0.03), the mean over the positions where the window fits,
averaged over channels.
``quantize=True`` first rounds both images to 8-bit steps, as saving a uint8 file does: the
published denoising numbers are measured that way. Rounding adds about 1/12 of a step squared
to the MSE: ~0.01 dB at 32 dB, ~0.05 dB at 40 dB.
"""

from __future__ import annotations

import tensorflow as tf

from restoreflow.ssim_window import SSIM_WINDOW, SsimWindow

EIGHT_BIT_STEPS = 255.0


def _prepare(clean, restored, *, max_val: float, quantize: bool) -> tuple[tf.Tensor, tf.Tensor]:
    """float32 images with ``restored`` clipped, optionally rounded to 8-bit steps."""
    clean = tf.cast(clean, tf.float32)
    restored = tf.clip_by_value(tf.cast(restored, tf.float32), 0.0, max_val)
    if quantize:
        steps = EIGHT_BIT_STEPS / max_val
        clean = tf.round(clean * steps) / steps
        restored = tf.round(restored * steps) / steps
    return clean, restored


def psnr_db(clean, restored, *, max_val: float = 1.0, quantize: bool = False) -> tf.Tensor:
    """Peak signal-to-noise ratio in dB per example, shape (N,); identical images give inf."""
    clean, restored = _prepare(clean, restored, max_val=max_val, quantize=quantize)
    return tf.image.psnr(clean, restored, max_val=max_val)


def ssim(clean, restored, *, max_val: float = 1.0, window: SsimWindow = SSIM_WINDOW,
         quantize: bool = False) -> tf.Tensor:
    """Structural similarity per example, shape (N,), via ``tf.image.ssim``.

    ``tf.image.ssim`` is the convention above (Gaussian window, population covariances,
    "valid" positions only, mean over channels); it shrinks the window for images smaller
    than the window, where scikit-image refuses.
    """
    clean, restored = _prepare(clean, restored, max_val=max_val, quantize=quantize)
    return tf.image.ssim(clean, restored, max_val=max_val, filter_size=window.size, filter_sigma=window.sigma,
                         k1=window.k1, k2=window.k2)


def window_mean(images, window: SsimWindow) -> tf.Tensor:
    """Each channel averaged under the 2-D ``window``, "valid" positions: (N, H-k+1, W-k+1, C)."""
    channels = tf.shape(images)[-1]
    kernel = tf.tile(tf.constant(window.kernel(), tf.float32)[:, :, None, None], [1, 1, channels, 1])
    return tf.nn.depthwise_conv2d(images, kernel, strides=[1, 1, 1, 1], padding="VALID")


def ssim_map(clean, restored, *, max_val: float = 1.0, window: SsimWindow = SSIM_WINDOW) -> tf.Tensor:
    """The SSIM map, (N, H - window.size + 1, W - window.size + 1, C), nothing clipped.

    Its spatial and channel mean is ``tf.image.ssim`` (for images at least ``window.size``
    on each side); the loss needs the map itself to weight regions. Unlike the metrics it
    neither clips nor rounds, so gradients reach every pixel.
    """
    x, y = tf.cast(clean, tf.float32), tf.cast(restored, tf.float32)
    c1, c2 = window.constants(max_val)
    mean_x, mean_y = window_mean(x, window), window_mean(y, window)
    mean_xy = mean_x * mean_y
    mean_squares = tf.square(mean_x) + tf.square(mean_y)
    covariance = window_mean(x * y, window) - mean_xy
    variances = window_mean(tf.square(x) + tf.square(y), window) - mean_squares
    luminance = (2.0 * mean_xy + c1) / (mean_squares + c1)
    return luminance * (2.0 * covariance + c2) / (variances + c2)
