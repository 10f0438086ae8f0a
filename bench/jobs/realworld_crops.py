"""Before/after crops of small, damaged photographs enlarged by each method (issue 20's README
sheet).

    python -m bench.jobs.realworld_crops [--scale 4] [--models restore-x4] [--output docs/images/realworld-x4.png]

The photographs ship with scikit-image (no ../shared needed): the astronaut (Eileen Collins,
NASA, public domain) and the coffee cup (Rachel Michetti, CC0). Each is reduced to a small
"web copy" by the realistic chain of ``bench.jobs.realworld`` (blur, reduction, noise, JPEG, again;
seeded), then enlarged back by bicubic interpolation, ``sr-xN``, ``restore`` then ``sr-xN``, and
each ``--models`` name, every model through the whole restore job. The sheet shows one crop per
photograph: the small input (pixels repeated), each method, and the original.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import skimage.data

from bench.jobs.diagnosis import read_rgb
from bench.jobs.realworld import realistic, resize, run_chain
from tools.sheet import enlarge_nearest, sheet

# (scikit-image name, the crop's top-left corner in the original, the crop's side), in pixels
PHOTOGRAPHS = (("astronaut", (50, 160), 192), ("coffee", (80, 200), 192))


def inputs(folder: Path, scale: int, seed: int) -> dict[str, np.ndarray]:
    """Writes the small damaged copies; returns the originals (cropped to multiples of scale)."""
    folder.mkdir(parents=True, exist_ok=True)
    originals = {}
    for index, (name, _, _) in enumerate(PHOTOGRAPHS):
        original = getattr(skimage.data, name)()
        original = original[: original.shape[0] // scale * scale, : original.shape[1] // scale * scale]
        (folder / f"{name}.jpg").write_bytes(realistic(original, scale, np.random.default_rng([seed, index])))
        originals[name] = original
    return originals


def crops(scale: int, models: list[str], seed: int, scratch: Path) -> list[list[tuple[str, np.ndarray]]]:
    folder = scratch / "small"
    originals = inputs(folder, scale, seed)
    chains = [(f"sr-x{scale}",), ("restore", f"sr-x{scale}"), *[(m,) for m in models]]
    outputs = {chain: run_chain(folder, chain, scratch)[0] / "restored" for chain in chains}
    rows = []
    for name, (top, left), side in PHOTOGRAPHS:
        window = (slice(top, top + side), slice(left, left + side))
        small = read_rgb(folder / f"{name}.jpg")
        row = [(f"input (1/{scale})", enlarge_nearest(small, scale)[window]),
               ("bicubic", resize(small, *originals[name].shape[:2])[window])]
        row += [(" then ".join(chain), read_rgb(next(outputs[chain].glob(f"{name}.*")))[window]) for chain in chains]
        rows.append(row + [("original", originals[name][window])])
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, choices=(2, 4), default=4)
    parser.add_argument("--models", nargs="*", default=[], help="bundled models of this scale to show too")
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--output", type=Path, default=Path("docs/images/realworld-x4.png"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        image = sheet(crops(args.scale, args.models, args.seed, Path(scratch)))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    image.save(args.output, optimize=True)
    print(f"wrote {args.output} ({image.width}x{image.height})")


if __name__ == "__main__":
    main()
