"""INT8 inference (issue 23): OpenVINO running the model after NNCF's post-training quantisation
(int8 convolutions, on VNNI or AMX where the CPU has them). What it costs in PSNR on the model's
own benchmark and on clean photographs, and what it gains in speed, measured as
bench.jobs.precision measures bf16: through the restore job on OpenVINO, f32, bf16 and int8 in
rounds that alternate the order (the machine is shared), plus the bare forward pass.

    PYTHONPATH=$PWD:NNCF_SITE python -m bench.jobs.int8 [--model restore] [--rounds 2] [--limit N]
        [--calibration 300] [--tile 128] [--method accuracy-control|ignore-output|plain] [--max-drop 0.05]

The restore job has no --precision int8 (this measures whether it should have one): the int8
side is the job with --precision f32 whose OpenVINO model is swapped for the quantised one, so
everything else (tiling, engine settings, scoring) is the job's own. Calibration: ``--calibration``
tiles of the model's clean training photographs (../shared/data/cbsd432) with its training
damage (its card's recipe), never the test set; accuracy control validates on other tiles of the
same photographs. Needs ../shared and nncf, which is not a dependency of restoreflow
(pip install --target DIR nncf; put DIR on PYTHONPATH).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import PAIRED_FLAGS, first_images, image_files, machine, megapixels, restore_job, shared_path
from bench.jobs.precision import OWN_BENCHMARK

SIDES = ("f32", "bf16", "int8")
CALIBRATION_SET = "cbsd432"  # the default model's training photographs (its card's reproduce commands)
CALIBRATION_SEED = 7  # not the shards' seed: other crops and damage than the model was trained on
VALIDATION_SEED = 11  # accuracy control's tiles: other crops and damage than the calibration's
EXACT_DB = 100.0  # a tile restored exactly (PSNR infinite) counts as this in validation means
METHODS = ("accuracy-control", "ignore-output", "plain")


def openvino_model(keras_model, channels_in: int):
    """The float32 OpenVINO model of ``keras_model``, read as model.engines reads it."""
    import openvino as ov
    import tensorflow as tf

    from model import engines

    function = tf.function(
        lambda batch: tf.cast(keras_model(batch, training=False), tf.float32),
        input_signature=[tf.TensorSpec([None, None, None, channels_in], tf.float32, name="degraded")],
    )
    return engines._read_frozen(ov.Core(), function)  # noqa: SLF001 - the engine's own reader


def quantised(ov_model, card: dict, args) -> object:
    """``ov_model`` after NNCF's post-training quantisation (``args.method``), calibrated on tiles
    of the training photographs with the training damage."""
    # NNCF sends usage telemetry (openvino-telemetry) unless it sees this, its CI switch: a
    # benchmark must not call home, as the workers must not (model/engines.py, _read_frozen).
    os.environ.setdefault("NNCF_CI", "1")
    import nncf
    from nncf.quantization.advanced_parameters import AdvancedQuantizationParameters

    from pipelines.degrade import calibration, recipe as recipes

    photos, recipe = image_files(shared_path("data", CALIBRATION_SET)), recipes.parse(card["data"]["recipe"])
    tiles = calibration.calibration_tiles(photos, recipe, count=args.calibration, size=args.tile, seed=CALIBRATION_SEED)
    print(f"calibration: {len(tiles)} tiles of {args.tile} px from {CALIBRATION_SET} with `{recipe.name}` (seed "
          f"{CALIBRATION_SEED}); nncf {nncf.__version__}, method {args.method}", flush=True)
    calibration_set = nncf.Dataset(tiles, lambda tile: tile[None])
    if args.method == "plain":
        return nncf.quantize(ov_model, calibration_set, subset_size=len(tiles))
    # Bias correction off: it cost 0.2 dB more than none on 8 CBSD68 images (bench/RESULTS.md).
    kept = {"subset_size": len(tiles), "ignored_scope": nncf.IgnoredScope(names=output_ops(ov_model))}
    advanced = AdvancedQuantizationParameters(disable_bias_correction=True)
    if args.method == "ignore-output":
        return nncf.quantize(ov_model, calibration_set, advanced_parameters=advanced, **kept)
    validation = calibration.calibration_pairs(photos, recipe, count=args.validation, size=args.tile,
                                               seed=VALIDATION_SEED)
    print(f"accuracy control: {len(validation)} validation tiles (seed {VALIDATION_SEED}), at most "
          f"{args.max_drop} dB lost", flush=True)
    return nncf.quantize_with_accuracy_control(
        ov_model, calibration_set, nncf.Dataset(validation), validation_psnr, max_drop=args.max_drop,
        drop_type=nncf.DropType.ABSOLUTE, advanced_quantization_parameters=advanced, **kept)


def output_ops(ov_model) -> list[str]:
    """The op that makes the output (a residual model's ``input + residual``) and the last
    convolution: quantised, they put the image itself through 8 bits (NNCF's defaults cost
    clean photographs 16 dB, bench/RESULTS.md)."""
    convolutions = [op for op in ov_model.get_ordered_ops()
                    if op.get_type_name() in ("Convolution", "ConvolutionBackpropData")]
    return [ov_model.get_results()[0].input_value(0).get_node().get_friendly_name(),
            convolutions[-1].get_friendly_name()]


def validation_psnr(compiled, pairs) -> tuple[float, list[float]]:
    """Mean PSNR of the restored tiles (uint8, as the job scores them), and each tile's."""
    from pipelines.imaging import images
    from pipelines.quality.scoring import psnr_db

    output = compiled.outputs[0]
    scores = [min(psnr_db(clean, images.from_float(compiled(degraded[None])[output][0], clean.dtype)), EXACT_DB)
              for degraded, clean in pairs]
    return statistics.mean(scores), scores


@contextlib.contextmanager
def swapped_in(int8_model):
    """The engine compiles ``int8_model`` where it would compile the model it froze (it still
    freezes it: the int8 side pays the same start-up as the f32 side)."""
    from model import engines

    original = engines._read_frozen  # noqa: SLF001

    def read(core, function):
        original(core, function)
        return int8_model

    engines._read_frozen = read  # noqa: SLF001
    try:
        yield
    finally:
        engines._read_frozen = original  # noqa: SLF001


def job(side: str, int8_model, folder: Path, model_dir: str, out: Path, *flags: str) -> dict:
    """The restore job on OpenVINO with ``side``'s precision; its summary (raises on errors)."""
    precision = "f32" if side == "int8" else side
    with swapped_in(int8_model) if side == "int8" else contextlib.nullcontext():
        summary = restore_job(folder, model_dir, out, f"--precision={precision}", "--engine=openvino", *flags)
    if summary["counts"].get("error"):
        raise SystemExit(f"{model_dir} on the {side} side had errors: see {out}/errors")
    return summary


def measure(model_dir: str, int8_model, folder: Path, recipe: str, rounds: int, scratch: Path) -> dict:
    """Each side's restored PSNR and job seconds on the damaged benchmark, alternating the order."""
    runs: dict[str, dict] = {side: {"psnr_db": [], "seconds": []} for side in SIDES}
    for round_index in range(rounds):
        for side in SIDES if round_index % 2 == 0 else reversed(SIDES):
            summary = job(side, int8_model, folder, model_dir, scratch / f"{side}-{round_index}",
                          f"--degrade={recipe}", *PAIRED_FLAGS)
            runs[side]["psnr_db"].append(summary["scores"]["psnr_db_restored"]["mean"])
            runs[side]["seconds"].append(summary["wall_seconds"])
    return runs


def clean_psnr(model_dir: str, int8_model, folder: Path, scratch: Path) -> dict[str, float]:
    """Each side's PSNR on the undamaged benchmark (the card's "clean photos come back" line)."""
    return {side: job(side, int8_model, folder, model_dir, scratch / f"clean-{side}", f"--reference={folder}",
                      "--write_images=none")["scores"]["psnr_db_restored"]["mean"] for side in SIDES}


def forward_seconds(keras_model, channels_in: int, int8_model, rounds: int, repeats: int = 8) -> dict[str, float]:
    """Median seconds of one forward pass of a 320x480 image (a CBSD68 photograph's size) per
    side, the sides alternating, each compiled as the restore job compiles it."""
    from model import engines

    predictors = {}
    for side in SIDES:
        with swapped_in(int8_model) if side == "int8" else contextlib.nullcontext():
            predictors[side] = engines.load(keras_model, channels_in, engine="openvino",
                                            precision="f32" if side == "int8" else side)
    batch = np.random.default_rng(0).random((1, 320, 480, channels_in), dtype=np.float32)
    times: dict[str, list[float]] = {side: [] for side in SIDES}
    for round_index in range(rounds * repeats):
        for side in SIDES if round_index % 2 == 0 else reversed(SIDES):
            start = time.perf_counter()
            predictors[side](batch)
            times[side].append(time.perf_counter() - start)
    return {side: statistics.median(values) for side, values in times.items()}


def int8_share(int8_model) -> str:
    """How many of the compiled model's convolutions (transposed ones too) run in int8, by
    OpenVINO's runtime precision of each."""
    import openvino as ov

    compiled = ov.Core().compile_model(int8_model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    convolutions = [op for op in compiled.get_runtime_model().get_ops()
                    if op.get_rt_info()["layerType"].astype(str) in ("Convolution", "Deconvolution")]
    in_int8 = [op for op in convolutions if op.get_rt_info()["runtimePrecision"].astype(str) in ("i8", "u8")]
    return f"{len(in_int8)} of {len(convolutions)} convolutions run in int8"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="restore", help="a bundled name (default: restore, the default model)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--limit", type=int, default=0, help="only the first N benchmark images")
    parser.add_argument("--calibration", type=int, default=300, help="calibration tiles (default 300)")
    parser.add_argument("--tile", type=int, default=128, help="calibration tile side in pixels (default 128)")
    parser.add_argument("--method", choices=METHODS, default="accuracy-control",
                        help="plain: nncf.quantize with its defaults; ignore-output: the output op and last "
                        "convolution kept float, no bias correction; accuracy-control (default): that, then "
                        "NNCF reverts the most costly layers to float until validation loses at most --max-drop")
    parser.add_argument("--max-drop", type=float, default=0.05,
                        help="dB of validation PSNR accuracy control may lose (default 0.05: half the 0.1 dB "
                        "allowed, since validation tiles are not the benchmark)")
    parser.add_argument("--validation", type=int, default=48, help="accuracy control's validation tiles (default 48)")
    parser.add_argument("--save-ir", type=Path, help="also write the quantised model here (OpenVINO IR, .xml)")
    parser.add_argument("--from-ir", type=Path, help="measure this quantised model (a --save-ir file) instead of "
                        "quantising again (quantisation took 16 minutes on a loaded machine)")
    args = parser.parse_args(argv)
    from model.export import load_model
    from restoreflow import zoo

    model_dir = zoo.resolve(args.model)
    keras_model, card = load_model(model_dir)
    channels_in = card["channels"] + (1 if card["takes_mask"] else 0)
    print(f"machine: {machine()}", flush=True)
    int8_model = int8_ir(keras_model, channels_in, card, args)
    print(int8_share(int8_model), flush=True)
    set_name, recipe = OWN_BENCHMARK[Path(model_dir).name]
    with tempfile.TemporaryDirectory(prefix="bench-int8-") as scratch_name:
        scratch = Path(scratch_name)
        folder = first_images(set_name, args.limit, scratch)
        runs = measure(model_dir, int8_model, folder, recipe, args.rounds, scratch)
        clean = clean_psnr(model_dir, int8_model, folder, scratch)
        benchmark = f"{set_name} `{recipe}` seed 0 ({megapixels(folder):.1f} MP)"
    forward = forward_seconds(keras_model, channels_in, int8_model, args.rounds)
    report(f"{args.model} int8 {args.method}", benchmark, runs, clean, forward)


def int8_ir(keras_model, channels_in: int, card: dict, args):
    """The quantised model: read from ``--from-ir``, or quantised now (and kept at ``--save-ir``)."""
    import openvino as ov

    if args.from_ir:
        print(f"int8 model: {args.from_ir} (quantised earlier)", flush=True)
        return ov.Core().read_model(args.from_ir)
    int8_model = quantised(openvino_model(keras_model, channels_in), card, args)
    if args.save_ir:
        ov.save_model(int8_model, args.save_ir, compress_to_fp16=False)
    return int8_model


def report(model: str, benchmark: str, runs: dict, clean: dict, forward: dict) -> None:
    psnr = {side: statistics.mean(runs[side]["psnr_db"]) for side in SIDES}
    seconds = {side: statistics.median(runs[side]["seconds"]) for side in SIDES}
    print("| model | benchmark | side | PSNR | cost dB | clean PSNR | clean cost dB | job s (median) | job speed-up "
          "| forward s (median) | forward speed-up |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for side in SIDES:
        print(f"| {model} | {benchmark} | {side} | {psnr[side]:.3f} | {psnr['f32'] - psnr[side]:+.3f} | "
              f"{clean[side]:.3f} | {clean['f32'] - clean[side]:+.3f} | {seconds[side]:.1f} | "
              f"{seconds['f32'] / seconds[side]:.2f}x | {forward[side]:.3f} | {forward['f32'] / forward[side]:.2f}x |",
              flush=True)


if __name__ == "__main__":
    main()
