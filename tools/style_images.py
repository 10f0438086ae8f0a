"""Writes the style images of the bundled styles from scikit-image's bundled data, so that
anyone can reproduce them (no download: ``skimage.data`` ships these files):

    python -m tools.style_images OUT_DIR

hubble_deep_field.png (NASA, public domain), immunohistochemistry.png (no known copyright
restrictions) and retina.png (CC0): each licence is in the docstring of ``skimage.data.<name>``.
The PNG holds the array exactly as ``skimage.data.<name>()`` returns it.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

STYLES = ("hubble_deep_field", "immunohistochemistry", "retina")


def write(folder: Path) -> dict[str, str]:
    """Writes each style image into ``folder``; returns name -> SHA-256 of the file written."""
    import skimage.data
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    digests = {}
    for name in STYLES:
        path = folder / f"{name}.png"
        Image.fromarray(getattr(skimage.data, name)()).save(path)
        digests[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", type=Path, help="The folder to write the style images into.")
    for name, digest in write(parser.parse_args(argv).out_dir).items():
        print(f"{name}.png sha256 {digest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
