"""Degradation operators: pure functions on float32 HWC images on a [0, 1] scale.

Each operator takes already-sampled parameters (see ``recipe.py`` for how they are drawn)
and, when it needs randomness of its own (a noise realisation), the ``numpy.random.Generator``
to draw it from. No operator touches global random state. Outputs are float32 and are not
clipped unless the operation itself clips (JPEG works on 8-bit values by definition).
"""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage, signal

from restoreflow.pixels import from_float


def gaussian_noise(
    image: np.ndarray, *, noise_sigma: float, color: bool, rng: np.random.Generator
) -> np.ndarray:
    """Additive white Gaussian noise.

    noise_sigma: standard deviation on the 0-255 scale (0-255 for any bit depth), e.g. 25.
    color: independent noise per channel; otherwise one noise field shared by all channels
    (gray noise on a colour image).
    """
    shape = image.shape if color else image.shape[:2] + (1,)
    noise = rng.standard_normal(shape, dtype=np.float32) * np.float32(noise_sigma / 255.0)
    return image + noise


def film_grain(
    image: np.ndarray, *, grain_sigma: float, size_x: float, size_y: float, chroma: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Film grain as a scan shows it: correlated noise (white noise smoothed by a Gaussian of
    ``size_x`` by ``size_y`` pixels, rescaled to unit variance), mostly one gray field with a
    ``chroma`` share drawn per channel, strongest in the midtones.

    grain_sigma: its standard deviation at mid-gray on the 0-255 scale; 0.4 of it at black
    and white, where film is saturated or clear.
    """

    def field(channels: int) -> np.ndarray:
        white = rng.standard_normal(image.shape[:2] + (channels,), dtype=np.float32)
        smooth = ndimage.gaussian_filter(white, sigma=(size_y, size_x, 0.0), mode="mirror")
        return smooth / max(float(smooth.std()), 1e-6)

    gray = field(1)
    grain = gray if image.shape[-1] == 1 else \
        np.float32(math.sqrt(1.0 - chroma**2)) * gray + np.float32(chroma) * field(image.shape[-1])
    luma = np.clip(image.mean(axis=-1, keepdims=True), 0.0, 1.0)
    amplitude = np.float32(grain_sigma / 255.0) * (0.4 + 2.4 * luma * (1.0 - luma))
    return (image + amplitude * grain).astype(np.float32)


def unsharp_mask(image: np.ndarray, *, amount: float, radius: float) -> np.ndarray:
    """The sharpening cameras and scanners apply: adds ``amount`` times the image minus its
    Gaussian blur of ``radius`` pixels."""
    blurred = ndimage.gaussian_filter(image, sigma=(radius, radius, 0.0), mode="mirror")
    return (image + np.float32(amount) * (image - blurred)).astype(np.float32)


def poisson_noise(image: np.ndarray, *, peak: float, rng: np.random.Generator) -> np.ndarray:
    """Shot noise: pixel values become Poisson counts with ``peak`` photons at white (1.0).

    peak: expected photon count for a white pixel, e.g. 10 (very noisy) to 1000 (mild).
    Negative inputs are treated as 0 photons.
    """
    counts = rng.poisson(np.clip(image, 0.0, None).astype(np.float64) * peak)
    return (counts / peak).astype(np.float32)


def gaussian_kernel(*, sigma_x: float, sigma_y: float, theta: float) -> np.ndarray:
    """A normalised 2-D Gaussian kernel; sigmas in pixels, theta (radians) rotates the x axis.

    The kernel spans ±3 of the larger sigma (odd size, at least 3).
    """
    radius = max(1, math.ceil(3.0 * max(sigma_x, sigma_y)))
    ys, xs = np.mgrid[-radius : radius + 1, -radius : radius + 1].astype(np.float64)
    cos, sin = math.cos(theta), math.sin(theta)
    u = cos * xs + sin * ys
    v = -sin * xs + cos * ys
    kernel = np.exp(-0.5 * ((u / sigma_x) ** 2 + (v / sigma_y) ** 2))
    return (kernel / kernel.sum()).astype(np.float32)


def motion_kernel(*, length: float, angle: float) -> np.ndarray:
    """A normalised linear motion kernel: a line ``length`` pixels long at ``angle`` degrees.

    The line is sampled at sub-pixel steps and splatted bilinearly, so short and oblique
    lines stay smooth.
    """
    radius = max(1, math.ceil(length / 2))
    size = 2 * radius + 1
    kernel = np.zeros((size, size), np.float64)
    steps = max(2, int(math.ceil(length * 4)))
    rad = math.radians(angle)
    for t in np.linspace(-length / 2, length / 2, steps):
        x = radius + t * math.cos(rad)
        y = radius - t * math.sin(rad)
        x0, y0 = int(math.floor(x)), int(math.floor(y))
        fx, fy = x - x0, y - y0
        for dy, wy in ((0, 1 - fy), (1, fy)):
            for dx, wx in ((0, 1 - fx), (1, fx)):
                if 0 <= y0 + dy < size and 0 <= x0 + dx < size:
                    kernel[y0 + dy, x0 + dx] += wy * wx
    return (kernel / kernel.sum()).astype(np.float32)


def convolve(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Convolves every channel with ``kernel``, mirroring at the borders."""
    out = np.empty_like(image)
    for c in range(image.shape[-1]):
        out[..., c] = ndimage.convolve(image[..., c], kernel, mode="mirror")
    return out


def gaussian_blur(
    image: np.ndarray, *, sigma_x: float, sigma_y: float, theta: float
) -> np.ndarray:
    """Gaussian blur; isotropic when sigma_x == sigma_y. Sigmas in pixels, theta in radians."""
    return convolve(image, gaussian_kernel(sigma_x=sigma_x, sigma_y=sigma_y, theta=theta))


def motion_blur(image: np.ndarray, *, length: float, angle: float) -> np.ndarray:
    """Linear camera-shake blur; length in pixels, angle in degrees (0 = horizontal)."""
    return convolve(image, motion_kernel(length=length, angle=angle))


def jpeg(image: np.ndarray, *, quality: int) -> np.ndarray:
    """JPEG compression artifacts: round to 8 bits, encode with Pillow at ``quality`` (1-95),
    decode. Gray images are encoded as 1-channel JPEG; colour with Pillow's default 4:2:0.
    """
    pixels = from_float(image, np.uint8)
    pil = Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels)
    buffer = io.BytesIO()
    pil.save(buffer, format="JPEG", quality=int(quality))
    decoded = np.asarray(Image.open(io.BytesIO(buffer.getvalue())))
    if decoded.ndim == 2:
        decoded = decoded[..., None]
    return decoded.astype(np.float32) / np.float32(255.0)


RESIZE_KERNELS = {"bicubic": Image.BICUBIC, "bilinear": Image.BILINEAR, "area": Image.BOX}


def resize(image: np.ndarray, *, height: int, width: int, kernel: str = "bicubic") -> np.ndarray:
    """Resize with Pillow's ``kernel``: bicubic (Keys a = -0.5), bilinear or area (box),
    antialiased when shrinking.

    Works on float32 ('F' mode) so no intermediate rounding happens between the passes.
    """
    channels = [
        np.asarray(
            Image.fromarray(image[..., c], mode="F").resize((width, height), RESIZE_KERNELS[kernel])
        )
        for c in range(image.shape[-1])
    ]
    return np.stack(channels, axis=-1).astype(np.float32)


def filter2d(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Convolves every channel with a point-symmetric ``kernel`` by FFT, mirroring at the
    borders like ``convolve`` (21x21 kernels are several times faster this way)."""
    radius = kernel.shape[0] // 2
    padded = np.pad(image, ((radius, radius), (radius, radius), (0, 0)), mode="reflect")
    out = signal.fftconvolve(padded, kernel[..., None].astype(np.float32), mode="valid", axes=(0, 1))
    return out.astype(np.float32)


def scaled_poisson_noise(image: np.ndarray, *, scale: float, gray: bool,
                         rng: np.random.Generator) -> np.ndarray:
    """Real-ESRGAN's Poisson noise: the shot noise of 8-bit counts (255 photons at white)
    multiplied by ``scale``; with ``gray`` one field from the channels' mean, shared by every channel."""
    source = np.clip(image.mean(axis=-1, keepdims=True) if gray else image, 0.0, 1.0)
    noise = rng.poisson(source.astype(np.float64) * 255.0) / 255.0 - source
    return (image + np.float32(scale) * noise).astype(np.float32)


def downscale(image: np.ndarray, *, scale: int, reupscale: bool) -> np.ndarray:
    """Super-resolution input: bicubic downscaling by an integer ``scale`` (2, 3, 4).

    The image's height and width must be multiples of ``scale`` (crop first). With
    ``reupscale`` the result is resized back to the original size (the VDSR/DnCNN-3 input).
    """
    height, width = image.shape[:2]
    if height % scale or width % scale:
        raise ValueError(f"image {height}x{width} is not a multiple of scale {scale}")
    small = resize(image, height=height // scale, width=width // scale)
    if reupscale:
        return resize(small, height=height, width=width)
    return small


def inpaint_mask(
    *,
    height: int,
    width: int,
    min_fraction: float,
    max_fraction: float,
    stroke_probability: float,
    rng: np.random.Generator,
    max_shapes: int = 64,
) -> np.ndarray:
    """A random inpainting mask, uint8 HW1 with 1 = missing pixel.

    Free-form brush strokes (random walks of thick lines) and boxes are added until the
    masked fraction reaches a target drawn from [min_fraction, max_fraction]; a shape that
    would overshoot max_fraction is drawn again smaller, and a box of the missing area
    closes any gap, so the result always lies within the bounds (to one pixel's area).
    """
    target = rng.uniform(min_fraction, max_fraction)
    mask = Image.new("L", (width, height), 0)
    area = height * width
    short = min(height, width)

    def fraction(candidate):
        return np.count_nonzero(np.asarray(candidate)) / area

    current = 0.0
    for _ in range(max_shapes):
        if current >= target:
            break
        size_scale = 1.0
        for _ in range(6):
            candidate = mask.copy()
            draw = ImageDraw.Draw(candidate)
            if rng.random() < stroke_probability:
                _draw_stroke(draw, height, width, short * size_scale, rng)
            else:
                _draw_box(draw, height, width, short * size_scale, rng)
            value = fraction(candidate)
            if value <= max_fraction:
                mask, current = candidate, value
                break
            size_scale *= 0.5
    if current < min_fraction:
        mask = _fill_deficit(mask, math.ceil((min_fraction - current) * area), rng)
    return (np.asarray(mask) > 0).astype(np.uint8)[..., None]


def _draw_stroke(draw, height, width, extent, rng):
    vertices = int(rng.integers(3, 9))
    brush = max(1, int(rng.uniform(0.04, 0.12) * extent))
    x, y = rng.uniform(0, width), rng.uniform(0, height)
    points = [(x, y)]
    for _ in range(vertices):
        angle = rng.uniform(0, 2 * math.pi)
        step = rng.uniform(0.1, 0.3) * extent
        x = float(np.clip(x + step * math.cos(angle), 0, width - 1))
        y = float(np.clip(y + step * math.sin(angle), 0, height - 1))
        points.append((x, y))
    draw.line(points, fill=255, width=brush, joint="curve")
    for px, py in (points[0], points[-1]):
        r = brush / 2
        draw.ellipse((px - r, py - r, px + r, py + r), fill=255)


def _draw_box(draw, height, width, extent, rng):
    box_h = max(1, int(rng.uniform(0.1, 0.4) * extent))
    box_w = max(1, int(rng.uniform(0.1, 0.4) * extent))
    top = int(rng.integers(0, max(1, height - box_h + 1)))
    left = int(rng.integers(0, max(1, width - box_w + 1)))
    draw.rectangle((left, top, left + box_w - 1, top + box_h - 1), fill=255)


def _fill_deficit(mask: Image.Image, pixels: int, rng) -> Image.Image:
    """Masks ``pixels`` more unmasked pixels in reading order from a random start row."""
    values = np.asarray(mask).copy()
    flat = values.reshape(-1)
    free = np.flatnonzero(flat == 0)
    start = int(rng.integers(0, max(1, free.size)))
    chosen = np.roll(free, -start)[:pixels]
    flat[chosen] = 255
    return Image.fromarray(values)


def apply_mask(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Sets the masked pixels (mask == 1) to 0."""
    return image * (1.0 - mask.astype(np.float32))
