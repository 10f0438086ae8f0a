"""The model directories a restore run uses: cards read and checked, weights hashed (part of
what makes an image done), the model loaded once before the pipeline, and --model auto's set."""

from __future__ import annotations

import logging

from model import engines, export, ov_cache
from pipelines.diagnose.diagnoser import DIAGNOSIS_MODEL
from pipelines.restore.inference import keep_checked, load_from, set_tf_threads
from restoreflow import card as card_rules, routing, zoo
from restoreflow.card import GENERATOR_TASK, STYLE_TASK, input_channels
from restoreflow.configs import ConfigError

log = logging.getLogger("restoreflow.restore")


def default_model(output: str) -> str:
    """The model of a run without --model: the model of the output's last run (its summary.json), so
    that a new version's default never redoes an archive; for a new output, ``auto``. Summaries
    from before they named the model: ``auto`` where they count images per model, else
    ``restore``, the default then."""
    from pipelines.report import summaries

    last = summaries.read_latest_summary(output)
    if last is None:
        log.info("--model not given: auto (each image diagnosed and sent to the bundled model for its damage)")
        return routing.AUTO
    model = last.get("model") or (routing.AUTO if last.get("by_model") else zoo.DEFAULT)
    log.info("--model not given: %s, the model of this output's last run (%s); pass --model to change it",
             model, last["run_id"])
    return model


def auto_models() -> dict:
    """--model auto's models (name -> (model_id, weights SHA-256, whether it is told the noise level)),
    checked to be bundled, to share the default model's geometry (tiles are cut once for all of them),
    and the diagnosis model present."""
    cards = {}
    for name in (*routing.AUTO_MODELS, DIAGNOSIS_MODEL):
        if name not in zoo.names():
            raise ConfigError(f"--model auto needs the bundled model {name!r}, which this installation lacks "
                              f"(bundled: {', '.join(zoo.names())})")
        cards[name] = read_card(name)
    if cards[DIAGNOSIS_MODEL]["task"] != "diagnose":
        raise ConfigError(f"--model auto: the bundled {DIAGNOSIS_MODEL!r} is not a damage-diagnosis model")
    geometry = ("channels", "scale", "takes_mask", "receptive_field_radius", "size_multiple")
    reference = [cards[zoo.DEFAULT][k] for k in geometry]
    for name in routing.AUTO_MODELS:
        if [cards[name][k] for k in geometry] != reference:
            raise ConfigError(f"--model auto: the bundled {name!r} differs from {zoo.DEFAULT!r} in shape "
                              f"({', '.join(geometry)}); the package is inconsistent")
    return {name: (cards[name]["model_id"], weights_sha256(name), bool(cards[name].get("takes_noise_level")))
            for name in routing.AUTO_MODELS}


def read_card(model_dir: str) -> dict:
    try:
        card = export.read_card(zoo.resolve(model_dir))
        export.check_model_file(zoo.resolve(model_dir))
    except ConfigError as e:
        raise ConfigError(f"--model: {e}") from None
    return card


def weights_sha256(model_dir: str) -> str:
    """The SHA-256 of the model's weights file as it is now (a few MB, read once per run; the
    bundled models' too): part of what makes an image done."""
    return export.model_file_sha256(zoo.resolve(model_dir))


def check_model_loads(model_dir: str, tf_threads: int, *, in_process: bool, engine: str, card: dict) -> None:
    """Loads the model once before the pipeline is built, so that one that cannot load (a
    Lambda layer, a card that misdescribes it) is one line now rather than a worker's traceback.
    With in-process workers the loaded model is kept for the first of them (one load per run).
    Where OpenVINO runs here, the check is the conversion (made in a child process, or cached
    from an earlier run): this process then never loads TensorFlow (see model.ov_cache)."""
    source = zoo.resolve(model_dir)
    channels = (input_channels(card), card["channels"])
    if "://" not in source and engines.cached(source, channels, engine):
        return
    if "://" not in source and engines.resolve(engine) == "openvino" and ov_cache.enabled() \
            and engines.convert_apart(source, channels) is None:
        return  # it loaded in the child that converted it; this process stays without TensorFlow
    if in_process:  # the workers share this process: its thread pools are set before TF first runs
        set_tf_threads(tf_threads)
    try:
        loaded = load_from(source)
    except ConfigError as e:
        raise ConfigError(f"--model: {e}") from None
    if in_process:
        keep_checked(source, loaded)


def check_model_kind(s) -> None:
    """Settings ``s`` against its job: restore refuses a style model and a diagnosis model (a
    generator fills the holes of --masks: generated fill); stylize everything but a style (and
    the flags that only restoring means)."""
    if s.job != "stylize":
        if s.model_task == STYLE_TASK:
            raise ConfigError(f"--model {s.model_dir} is a style model, not a restorer: apply it with "
                              "`restoreflow stylize`")
        _check_fill(s)
        if s.model_task == "diagnose":
            raise ConfigError(f"--model {s.model_dir} is a damage-diagnosis model, not a restorer: run it with "
                              "`restoreflow diagnose`, or restore with --model auto, which uses it")
        return
    if s.auto:
        raise ConfigError("--model auto chooses among restorers; `restoreflow stylize` takes a style: a bundled one "
                          f"({', '.join(zoo.styles()) or 'none installed'}) or a style model directory")
    if s.model_task != STYLE_TASK:
        raise ConfigError(f"--model {s.model_dir} is a {s.model_task} model, not a style (model.json task: style): "
                          "run it with `restoreflow restore`; a style is trained by `restoreflow train` with a style: "
                          "section")
    for flag, value in (("--degrade", s.degrade), ("--reference", s.reference), ("--masks", s.masks)):
        if value:
            raise ConfigError(f"{flag} scores or guides a restoration; `restoreflow stylize` takes no {flag}")
    if s.keep_colors and s.model_channels != 3:
        raise ConfigError(f"--keep_colors needs a colour style model; {s.model_dir} has {s.model_channels} channel(s)")


def _check_fill(s) -> None:
    """A generator restores nothing, but fills the holes of masks (generated fill)."""
    if s.fill_steps < 1 or s.fill_resample < 1:
        raise ConfigError(f"--fill_steps {s.fill_steps}, --fill_resample {s.fill_resample}: each must be at least 1")
    has_masks = s.masks or (s.degrade is not None and s.degrade.has_mask)
    if s.model_task == GENERATOR_TASK and (s.job != "restore" or not has_masks):
        raise ConfigError(f"--model {s.model_dir} is a generator (a diffusion model): restore uses it only to fill "
                          "the holes of --masks DIR (generated fill); to make new images run `restoreflow generate`")


def seam_free_overlap(s) -> int:
    """``--overlap -1``: the smallest overlap whose tiles measured seam-free for the model of the
    settings ``s`` (its card's ``inference.seams``, bench/jobs/seams.py; for ``auto``, the largest
    over the models it may pick), else its receptive-field radius, which is always seam-free."""
    cards = [read_card(name) for name in routing.AUTO_MODELS] if s.auto else [s.card]
    measured = [card_rules.seam_overlap_px(card) for card in cards]
    if any(overlap is None for overlap in measured):
        return s.receptive_field_radius
    return min(max(measured), s.receptive_field_radius)
