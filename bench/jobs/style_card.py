"""The headline of a bundled style's card (issue 24): how much of Kodak24's content it keeps and
how close it comes to its style, measured on the model's own outputs.

    python -m bench.jobs.style_card style-ihc style-hubble [--limit N] [--write-cards]

Per Kodak24 image, the style model's output (the bare network on the whole image):
- ``edge_ssim``: content kept, SSIM (11x11 Gaussian, sigma 1.5) of the output's luminance edges
  (Sobel magnitude of BT.601 luma / 4, so a unit step gives 1; data range 1) against the content's;
- ``style_distance``: the style term of ``model.style_features`` (relative covariance and mean
  errors, averaged over levels) in a fixed judge: the default random feature network (seed 0,
  widths 32-256) and the style image at its training size, whatever the model trained with;
- for comparison, the same two figures of the content image itself (no stylisation).
The full benchmark against the Magenta anchor and a Gatys baseline is ``bench/jobs/style.py``.
"""

from __future__ import annotations

import argparse

import numpy as np

from bench.common import machine, record_in_card, shared_path
from bench.jobs.style_metrics import edge_ssim

JUDGE_WIDTHS = (32, 64, 128, 256)


def measure(name: str, limit: int | None) -> dict:
    """Mean figures of the bundled style ``name`` over Kodak24 (the first ``limit`` images)."""
    from PIL import Image

    from model import style_features
    from model.export import load_model
    from model.style_training import read_style_image
    from restoreflow import zoo

    model, card = load_model(zoo.resolve(name))
    style = card["style"]
    image = read_style_image(style["image"], channels=3, size=style["size"])
    judge = style_features.style_loss(image, style_features.random_features(3, JUDGE_WIDTHS, 0), content_level=2,
                                      content_weight=1.0, style_weight=1.0, tv_weight=0.0)
    rows = []
    for path in sorted(shared_path("data", "kodak24").glob("*.png"))[:limit]:
        content = np.asarray(Image.open(path).convert("RGB"), np.float32)[None] / 255.0
        output = np.round(np.clip(np.asarray(model(content)), 0, 1) * 255) / 255.0  # as the job writes it
        as_8bit = [np.round(image[0] * 255).astype(np.uint8) for image in (content, output)]
        rows.append([edge_ssim(*as_8bit), float(judge.terms(content, output)["style"][0]),
                     float(judge.terms(content, content)["style"][0])])
    edge, distance, unstyled = np.mean(rows, axis=0)
    return {"images": len(rows), "edge_ssim": round(float(edge), 3), "style_distance": round(float(distance), 3),
            "style_distance_of_content": round(float(unstyled), 3)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="+", help="Bundled style models.")
    parser.add_argument("--limit", type=int, default=None, help="Only the first N Kodak24 images.")
    parser.add_argument("--write-cards", action="store_true", help="Record scores and headline in each card.")
    args = parser.parse_args(argv)
    from restoreflow import zoo

    for name in args.names:
        figures = measure(name, args.limit)
        headline = (f"kodak24 ({figures['images']} images): content-edge SSIM {figures['edge_ssim']:.3f}, "
                    f"style distance {figures['style_distance']:.3f} (content unstyled "
                    f"{figures['style_distance_of_content']:.3f}; lower is closer)")
        print(f"{name}: {headline}", flush=True)
        if args.write_cards:
            record_in_card(zoo.zoo_dir() / name, headline=[headline],
                           scores={"style_card": {**figures, "protocol": __doc__.split("\n\n")[2].strip(),
                                                  "machine": machine()}})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
