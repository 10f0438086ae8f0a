"""Fits the NIQE model the package ships (``pipelines/quality/niqe_model.json``).

    python -m bench.jobs.niqe_fit [--input ../shared/data/cbsd432] [--output pipelines/quality/niqe_model.json]

The pristine model of Mittal et al. 2013: the 36 NIQE features of every 96x96 patch of the clean
training photographs (CBSD432, the photographs the bundled models learnt from, never the
benchmark's), keeping per image the patches whose sharpness (mean local deviation) exceeds 0.75 of
that image's sharpest, as the paper does; the model is their mean and covariance. The file records
how it was fitted beside the numbers. Deterministic: the same photographs give the same file.
"""

from __future__ import annotations

import argparse
import datetime
import json
import time
from pathlib import Path

import numpy as np
from PIL import Image

from bench.common import ROOT, SHARED, image_files
from pipelines.quality import niqe
from restoreflow.provenance import code_version

SHARPNESS_THRESHOLD = 0.75  # of each image's sharpest patch (the paper's)


def pristine_features(paths: list[Path]) -> tuple[np.ndarray, int]:
    kept = []
    for path in paths:
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("RGB"))
        features, sharpness = niqe.patch_features(niqe.luma(niqe.central(pixels), 255.0))
        if len(features):
            kept.append(features[sharpness > SHARPNESS_THRESHOLD * sharpness.max()])
    return np.concatenate(kept), len(kept)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.jobs.niqe_fit", description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", default=str(SHARED / "data" / "cbsd432"), help="clean photographs")
    parser.add_argument("--output", default=str(ROOT / "pipelines" / "quality" / niqe.MODEL_FILE))
    args = parser.parse_args(argv)
    paths = image_files(Path(args.input))
    if not paths:
        raise SystemExit(f"no images under {args.input}")
    start = time.perf_counter()
    features, images = pristine_features(paths)
    data = {
        "fitted": {
            "method": "NIQE pristine model (Mittal, Soundararajan & Bovik, IEEE SPL 2013): 36 features of "
                      f"{niqe.PATCH}x{niqe.PATCH} patches at full and half size, patches sharper than "
                      f"{SHARPNESS_THRESHOLD} of each image's sharpest kept; mean and covariance",
            "photographs": f"{Path(args.input).name} ({images} images)",
            "patches": int(len(features)),
            "command": "python -m bench.jobs.niqe_fit",
            "code_version": code_version(),
            "date": datetime.date.today().isoformat(),
            "seconds": round(time.perf_counter() - start, 1),
        },
        "mean": [round(float(v), 8) for v in features.mean(axis=0)],
        "covariance": [[round(float(v), 8) for v in row] for row in np.cov(features, rowvar=False)],
    }
    Path(args.output).write_text(json.dumps(data, indent=1) + "\n")
    print(f"NIQE model from {len(features)} patches of {images} images in {data['fitted']['seconds']} s -> {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
