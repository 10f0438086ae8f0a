"""The Beam jobs' own flags, declared once and without importing Beam.

``pipelines.runtime.options`` wraps them in PipelineOptions for parsing (next to every Beam flag);
``restoreflow SUBCOMMAND --help`` builds its parser from here, so it answers without loading
Beam (over a second) or TensorFlow.
"""

from __future__ import annotations

import argparse

from pipelines.imaging import images
from restoreflow.console import HelpFormatter, add_verbose_flag, setup_logging, take_verbose_flag

DEFAULT_LOCAL_RUNNER = "FnApiRunner"
WRITABLE_FORMATS = tuple(images.FORMAT_EXTENSIONS)  # Pillow names of the formats the job writes


def add_input_args(parser, *, required: tuple[str, ...] = ()) -> None:
    """Flags every job shares. ``required`` marks flags in the help only: ``options.parse``
    checks them, since Beam parses every options class for every view."""
    parser.add_argument("--input", action="append", default=None, required="input" in required,
                        help="A folder, glob, gs:// or s3:// prefix, or .tar/.tar.gz/.zip archive. Repeatable.")
    parser.add_argument("--output", default=None, required="output" in required,
                        help="Output folder (local, gs:// or s3://).")
    parser.add_argument("--seed", type=int, default=0, help="Seed of every random draw.")
    parser.add_argument("--max_pixels", type=int, default=images.DEFAULT_MAX_PIXELS,
                        help="Reject images with more pixels than this (decompression-bomb guard).")
    parser.add_argument("--max_bytes", type=int, default=images.DEFAULT_MAX_BYTES,
                        help="Reject files (and archive members) larger than this many bytes.")


def add_shards_args(parser, *, required: tuple[str, ...] = ()) -> None:
    parser.add_argument("--recipe", default=None, required="recipe" in required,
                        help="A built-in recipe name (restoreflow recipes) or a recipe YAML file.")
    parser.add_argument("--patch_size", type=int, default=40, help="Patch side in clean pixels; 0 = whole images.")
    parser.add_argument("--stride", type=int, default=10, help="Step between patches, in pixels.")
    parser.add_argument("--max_patches", type=int, default=0, help="Cap of patches per image (0 = no cap).")
    parser.add_argument("--val_fraction", type=float, default=0.05,
                        help="Share of images (by a stable hash of image_id) that go to val/.")
    parser.add_argument("--num_shards", type=int, default=0,
                        help="Shards per split; 0 = from the estimated data size, at least 2 x workers.")
    parser.add_argument("--compression", choices=("gzip", "none"), default="gzip", help="TFRecord compression.")


def switch(text: str) -> bool:
    """A flag value of a switch: --force, --force=true, --force=false."""
    value = text.strip().lower()
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def add_restore_args(parser, *, required: tuple[str, ...] = ()) -> None:
    parser.add_argument("--model", default=None,
                        help="A bundled model by name (see restoreflow models), a model directory, local or "
                        "gs://, or auto: each image diagnosed and sent to the bundled model for its damage, "
                        "undamaged ones copied unchanged. Default: auto for a new output; an output already restored keeps "
                        "the model of its last run (its summary.json).")
    parser.add_argument("--strength", type=float, default=1.0,
                        help="0..1: how much of the restoration to apply (output = input + strength x change); "
                        "0 writes every input unchanged.")
    parser.add_argument("--reference", default=None,
                        help="Folder of clean references for PSNR/SSIM, matched by relative path and file stem "
                        "(a/b.jpg <-> REF/a/b.png).")
    parser.add_argument("--masks", default=None,
                        help="Inpainting: folder of masks (nonzero = missing pixel) matched by relative path and "
                        "file stem (a/b.jpg <-> MASKS/a/b.png), each the size of its image.")
    parser.add_argument("--fill_steps", type=int, default=25,
                        help="Generated fill (--masks with a generator as --model): sampler steps per image.")
    parser.add_argument("--fill_resample", type=int, default=2,
                        help="Generated fill: each step repeated this many times (RePaint's resampling), so "
                        "the filled holes agree with the pixels around them; cost x this.")
    parser.add_argument("--degrade", default=None,
                        help="Paired evaluation: degrade the inputs with this recipe first, score against them.")
    parser.add_argument("--tile_size", type=int, default=0,
                        help="Tile side in input pixels; 0 = the largest that fits --tile_memory_mb.")
    parser.add_argument("--tile_memory_mb", type=int, default=640,
                        help="Engine memory for one inference batch: sets the tile size when --tile_size is 0 "
                        "(640: up to 1024 px for the bundled U-Nets, 724 px for a 64-channel CNN), and a "
                        "batch takes as many tiles (up to --batch_size) as it holds.")
    parser.add_argument("--overlap", type=int, default=-1,
                        help="Tile overlap per side; -1 = the smallest overlap measured seam-free for the model "
                             "(its card), else its receptive-field radius.")
    parser.add_argument("--batch_size", type=int, default=4,
                        help="Most tiles per inference batch, within --tile_memory_mb (a large photograph's "
                        "tiles go one per batch, small images several); raise on GPUs.")
    parser.add_argument("--format", default="keep",
                        help=f"Output format: keep (the input's), {', '.join(WRITABLE_FORMATS)}.")
    parser.add_argument("--engine", choices=("auto", "tf", "openvino"), default="auto",
                        help="Inference engine: auto = TensorFlow on workers with a GPU, OpenVINO (same outputs "
                        "within 1e-4) on the others.")
    parser.add_argument("--precision", choices=("f32", "bf16", "auto"), default="f32",
                        help="Inference precision: bf16 (OpenVINO on CPUs with native bf16, 1.6-1.7x faster on a Zen 4 CPU) only "
                        "for models whose model.json records that it costs at most 0.05 dB (restoreflow models "
                        "lists them); auto = bf16 where that holds on the worker, f32 elsewhere (the scores' "
                        "precision column says which ran).")
    parser.add_argument("--tf_threads", type=int, default=0,
                        help="Inference threads (TensorFlow or OpenVINO) per worker process; 0 = cores / local "
                        "workers locally, 1 on remote runners (one SDK process per core), the engine's own with "
                        "--experiments=no_use_multiple_sdk_containers.")
    parser.add_argument("--force", type=switch, nargs="?", const=True, default=False,
                        help="Redo images already done (also --force=true/false, as templates pass it).")
    parser.add_argument("--write_images", choices=("all", "none"), default="all",
                        help="Write restored images (none = scores only, e.g. benchmarks).")
    parser.add_argument("--png_compress_level", type=int, choices=range(10), default=images.FAST_PNG_COMPRESS_LEVEL,
                        metavar="0..9", help=f"zlib level of PNG outputs (default {images.FAST_PNG_COMPRESS_LEVEL}: about 2.6x "
                        "faster to write than 6, Pillow's default, for files about 15 %% larger; 9 = smallest). "
                        "The pixels are the same at every level, so a rerun with another level redoes nothing.")


def add_stylize_args(parser, *, required: tuple[str, ...] = ()) -> None:
    # Only the flags restore lacks: Beam parses every job's options together, and restore owns
    # --model, --strength and the rest, which stylize shares (see job_args).
    parser.add_argument("--keep_colors", type=switch, nargs="?", const=True, default=False,
                        help="Keep each input's colours: the style's luminance with the input's chroma (Cb, Cr).")


RESTORE_ONLY = ("reference", "masks", "degrade", "fill_steps", "fill_resample")  # restore flags stylize refuses (shown only in restore's help)


def _add_stylize_job_args(parser, *, required: tuple[str, ...] = ()) -> None:
    """Restore's flags that apply to a style, --model as a style's, then stylize's own."""
    scratch = argparse.ArgumentParser(add_help=False)
    add_restore_args(scratch)
    for action in scratch._actions:
        if action.dest == "model":
            action.required = "model" in required
            action.help = "The style model: a model directory (model.json task: style), local or gs://."
        if action.dest == "strength":
            action.help = ("0..1: how much of the style to apply (output = input + strength x (stylized - input)); "
                           "0 writes every input unchanged.")
        if action.dest not in RESTORE_ONLY:
            parser._add_action(action)
    add_stylize_args(parser, required=required)


def add_diagnose_args(parser, *, required: tuple[str, ...] = ()) -> None:
    # Not --model: Beam parses every job's options together, and restore owns that name.
    parser.add_argument("--diagnosis_model", default="diagnose",
                        help="The damage-diagnosis model: the bundled one (diagnose) or a model directory.")


def add_generate_args(parser, *, required: tuple[str, ...] = (), model: bool = True) -> None:
    # --model is restore's: Beam parses every job's options together, so a flag has one owner;
    # generate's parser borrows it (options.parse), and its --help lists it (model=True).
    if model:
        parser.add_argument("--model", default=None, required="model" in required,
                            help="A generator: a model directory trained with diffusion.objective: edm "
                            "(its model.json says task generate).")
    parser.add_argument("--count", type=int, default=None, required="count" in required,
                        help="How many images: indices 0 .. count-1, each seeded by (--seed, index).")
    parser.add_argument("--steps", type=int, default=25,
                        help="Sampler steps (2 x steps - 1 network evaluations per image): quality against speed.")


SHARDS_DESCRIPTION = """\
Job 1: clean images -> seeded degradations (a recipe) -> TFRecord shards of
(clean, degraded) patch pairs for training, with manifest.json, index/ and
errors/ (rejected inputs, with reasons)."""

RESTORE_DESCRIPTION = """\
Job 3: restore every image under --input with a trained model, write the
restored images, and score them: PSNR/SSIM against --reference or, with
--degrade, against the clean inputs; no-reference signals (noise sigma,
sharpness, blockiness, NIQE) always. Writes OUT/restored/, OUT/scores/,
OUT/report.html and OUT/errors/ (rejected inputs, with reasons). A rerun into
the same --output skips what is already done."""

STYLIZE_DESCRIPTION = """\
Job 3 with a style model (model.json task: style, trained by restoreflow train
with a style: section): render every image under --input in that style. The
restore job's inputs, tiling, reruns, errors and report; --strength blends
the style with each input (0 writes the inputs unchanged), --keep_colors keeps
their colours. Outputs go to OUT/restored/ as restore's do."""

DIAGNOSE_DESCRIPTION = """\
Diagnose the damage of every image under --input (noise level and kind, JPEG
quality, blur, effective resolution, undamaged or not) without restoring it:
the triage of an archive. Writes OUT/diagnosis/<run>/*.parquet (one row per
image, with the model --model auto would pick) and a summary of the counts."""

GENERATE_DESCRIPTION = """\
Sample --count new images with a diffusion model (a generator trained by job 2
with diffusion.objective: edm). Image i starts from the noise of
numpy.random.default_rng([seed, i]) and is sampled deterministically, so any
image can be made again alone. Writes OUT/generated/<index>.png,
OUT/generated.json (what a rerun may skip), OUT/report.html (a sheet of
samples) and OUT/errors/. A rerun with a larger --count makes only the new
ones."""

# job -> (its flags, description, required flags)
JOBS = {
    "shards": (add_shards_args, SHARDS_DESCRIPTION, ("input", "output", "recipe")),
    "restore": (add_restore_args, RESTORE_DESCRIPTION, ("input", "output")),
    "diagnose": (add_diagnose_args, DIAGNOSE_DESCRIPTION, ("input", "output")),
    "stylize": (_add_stylize_job_args, STYLIZE_DESCRIPTION, ("input", "output", "model")),
    "generate": (add_generate_args, GENERATE_DESCRIPTION, ("output", "model", "count")),
}

JOBS_WITHOUT_INPUTS = ("generate",)


def job_help_parser(job: str) -> argparse.ArgumentParser:
    """The parser ``restoreflow JOB --help`` prints: the job's own flags (Beam's pass through)."""
    add_job_args, description, required = JOBS[job]
    parser = argparse.ArgumentParser(
        prog=f"restoreflow {job}",
        description=description,
        formatter_class=HelpFormatter,
        epilog=(
            "Every Apache Beam pipeline flag is accepted as well and passed to the runner:\n"
            "  --runner=DataflowRunner --project=P --region=R --temp_location=gs://B/tmp\n"
            "  --direct_running_mode=multi_processing --direct_num_workers=2   (locally)\n"
            f"Without --runner the job runs on Beam's local {DEFAULT_LOCAL_RUNNER}, with a\n"
            "progress line (images done, MP/s, ETA) on stderr."
        ),
    )
    if job in JOBS_WITHOUT_INPUTS:  # parsed all the same (InputOptions), refused by the job when given
        parser.add_argument("--output", required=True, help="Output folder (local, gs:// or s3://).")
        parser.add_argument("--seed", type=int, default=0, help="Seed of every random draw.")
    else:
        add_input_args(parser, required=required)
    add_job_args(parser.add_argument_group(f"{job} options"), required=required)
    add_verbose_flag(parser)
    return parser


def job_flags(job: str) -> dict[str, argparse.Action]:
    """A job's own flags by name (``--help`` and ``--verbose``, the console's, left out): what
    ``restoreflow nightly`` accepts as YAML keys and the Flex Template metadata must list."""
    parser = job_help_parser(job)
    return {action.dest: action for action in parser._actions if action.dest not in ("help", "verbose")}


def repeatable(action: argparse.Action) -> bool:
    """Whether a flag may be given several times (``--input``)."""
    return isinstance(action, argparse._AppendAction)


def required_flags(job: str) -> tuple[str, ...]:
    return JOBS[job][2]


def start_job(job: str, argv: list[str]) -> list[str] | None:
    """A job's command line before its run: None after printing --help; otherwise the
    arguments without --verbose, with logging set up to match."""
    if {"-h", "--help"} & set(argv):
        job_help_parser(job).print_help()
        return None
    verbose, argv = take_verbose_flag(argv)
    setup_logging(verbose)
    return argv
