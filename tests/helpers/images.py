"""Tiny real test images (scikit-image's bundled photographs) and the shared benchmark data."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

SHARED = Path(__file__).resolve().parents[3] / "shared"


def photo(name: str = "camera", size: tuple[int, int] = (48, 64)) -> np.ndarray:
    """A real photograph from scikit-image, resized to (height, width), HWC uint8."""
    import skimage.data

    pixels = getattr(skimage.data, name)()
    image = Image.fromarray(pixels).resize((size[1], size[0]), Image.BICUBIC)
    array = np.asarray(image)
    return array[..., None] if array.ndim == 2 else array


def png_bytes(pixels: np.ndarray, mode: str | None = None, **save) -> bytes:
    image = Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels, mode=mode)
    buffer = io.BytesIO()
    image.save(buffer, format=save.pop("format", "PNG"), **save)
    return buffer.getvalue()


def write_image(path: Path, pixels: np.ndarray, **save) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png_bytes(pixels, **save))
    return path


def shared_or_skip(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"needs {path} (the shared benchmark data is not beside this checkout)")
    return path


def stroke_mask(size, lines, width=3) -> np.ndarray:
    """A mask image (255 = missing) with the given strokes, HW1 uint8."""
    mask = Image.new("L", (size[1], size[0]), 0)
    draw = ImageDraw.Draw(mask)
    for line in lines:
        draw.line(line, fill=255, width=width)
    return np.asarray(mask)[..., None]


def add_to_tar(archive: tarfile.TarFile, name: str, data: bytes, **fields) -> None:
    """Adds ``data`` as member ``name``; ``fields`` set TarInfo attributes (type, linkname, ...)."""
    info = tarfile.TarInfo(name)
    info.size = len(data)
    for key, value in fields.items():
        setattr(info, key, value)
    archive.addfile(info, io.BytesIO(data))
