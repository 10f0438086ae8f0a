"""Pipeline options for the Beam jobs: the only place their flags are defined.

Each job has one ``PipelineOptions`` subclass. ``parse`` accepts the job's own flags plus every
standard Beam flag (runner, Dataflow, worker, direct-runner options pass through untouched),
and rejects anything else by name: a typo is an error, never a silently dropped flag.
When no ``--runner`` is given the job runs on Beam's local FnApiRunner, chosen explicitly
because the default DirectRunner of Beam >= 2.68 first tries to download the Prism binary.
"""

from __future__ import annotations

import argparse
import difflib

from apache_beam.options.pipeline_options import (
    DirectOptions,
    PipelineOptions,
    StandardOptions,
    WorkerOptions,
)

from pipelines import images

DEFAULT_LOCAL_RUNNER = "FnApiRunner"
LOCAL_RUNNERS = ("FnApiRunner", "DirectRunner", "BundleBasedDirectRunner", "SwitchingDirectRunner")


class InputOptions(PipelineOptions):
    """Flags every restoreflow job shares: inputs, output, limits, seed."""

    @classmethod
    def _add_argparse_args(cls, parser):
        _add_input_args(parser)


def _add_input_args(parser) -> None:
    parser.add_argument("--seed", type=int, default=0, help="Seed of every random draw.")
    parser.add_argument(
        "--input",
        action="append",
        default=None,
        help="A folder, glob, gs:// or s3:// prefix, or .tar/.tar.gz/.zip archive. Repeatable.",
    )
    parser.add_argument("--output", default=None, help="Output folder (local, gs:// or s3://).")
    parser.add_argument(
        "--max_pixels",
        type=int,
        default=images.DEFAULT_MAX_PIXELS,
        help="Reject images with more pixels than this (decompression-bomb guard).",
    )
    parser.add_argument(
        "--max_bytes",
        type=int,
        default=images.DEFAULT_MAX_BYTES,
        help="Reject files (and archive members) larger than this many bytes.",
    )


class ShardsOptions(PipelineOptions):
    """Flags of job 1, ``restoreflow shards``."""

    @classmethod
    def _add_argparse_args(cls, parser):
        parser.add_argument("--recipe", default=None, help="Built-in recipe name or a YAML file.")
        parser.add_argument(
            "--patch_size", type=int, default=40, help="Patch side in clean pixels; 0 = whole images."
        )
        parser.add_argument("--stride", type=int, default=10, help="Step between patches (pixels).")
        parser.add_argument(
            "--max_patches", type=int, default=0, help="Cap of patches per image (0 = no cap)."
        )
        parser.add_argument(
            "--val_fraction",
            type=float,
            default=0.05,
            help="Share of images (by a stable hash of image_id) that go to val/.",
        )
        parser.add_argument(
            "--num_shards",
            type=int,
            default=0,
            help="Shards per split; 0 = from the estimated data size, at least 2 x workers.",
        )
        parser.add_argument(
            "--compression",
            choices=("gzip", "none"),
            default="gzip",
            help="TFRecord compression.",
        )


def _switch(text: str) -> bool:
    """A flag value of a switch: --force, --force=true, --force=false."""
    value = text.strip().lower()
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


class RestoreOptions(PipelineOptions):
    """Flags of job 3, ``restoreflow restore``."""

    @classmethod
    def _add_argparse_args(cls, parser):
        parser.add_argument(
            "--model", default=None,
            help="A bundled model by name (see `restoreflow models`) or a model directory, local or gs:// "
            "(default: the bundled default model)."
        )
        parser.add_argument(
            "--reference",
            default=None,
            help="Folder of clean references matched by image_id, for PSNR/SSIM.",
        )
        parser.add_argument(
            "--degrade",
            default=None,
            help="Paired evaluation: degrade the inputs with this recipe first, score against them.",
        )
        parser.add_argument("--tile_size", type=int, default=512, help="Tile side in input pixels.")
        parser.add_argument(
            "--overlap",
            type=int,
            default=-1,
            help="Tile overlap per side; -1 = the model's receptive-field radius.",
        )
        parser.add_argument(
            "--batch_size",
            type=int,
            default=4,
            help="Tiles per inference batch (4 tiles of 512 px keep a 64-channel CNN near 1 GB; raise on GPUs).",
        )
        parser.add_argument(
            "--format",
            default="keep",
            help="Output format: keep (the input's), PNG, JPEG, TIFF, WEBP, BMP.",
        )
        parser.add_argument(
            "--engine",
            choices=("auto", "tf", "openvino"),
            default="auto",
            help="Inference engine: auto = TensorFlow on workers with a GPU, OpenVINO (faster on "
            "CPUs, same outputs within 1e-4) on the others.",
        )
        parser.add_argument(
            "--tf_threads",
            type=int,
            default=0,
            help="Inference threads (TensorFlow or OpenVINO) per worker process; 0 = cores / local "
            "workers locally, 1 on remote runners (one SDK process per core), the engine's own with "
            "--experiments=no_use_multiple_sdk_containers.",
        )
        parser.add_argument(
            "--force",
            type=_switch,
            nargs="?",
            const=True,
            default=False,
            help="Redo images already done (also --force=true/false, as templates pass it).",
        )
        parser.add_argument(
            "--write_images",
            choices=("all", "none"),
            default="all",
            help="Write restored images (none = scores only, e.g. benchmarks).",
        )


# Beam's own option classes: every flag they define passes through to the runner.
def _beam_option_classes():
    return [cls for cls in _all_subclasses(PipelineOptions) if cls.__module__.startswith("apache_beam")]


def _all_subclasses(cls):
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_all_subclasses(sub))
    return found


class FlagError(ValueError):
    """A command-line flag a user must fix."""


def _known_parser(job_options_cls) -> argparse.ArgumentParser:
    # exit_on_error=False: a bad value raises instead of printing a usage line of every Beam flag.
    parser = argparse.ArgumentParser(allow_abbrev=False, add_help=False, exit_on_error=False)
    seen = set()
    for cls in [InputOptions, job_options_cls, *_beam_option_classes()]:
        if cls in seen:
            continue
        seen.add(cls)
        sub = argparse.ArgumentParser(allow_abbrev=False, add_help=False)
        cls._add_argparse_args(sub)
        for action in sub._actions:
            parser._add_action(action)
    return parser


def parse(argv: list[str], job_options_cls, *, required=("input", "output")) -> PipelineOptions:
    """Parses a job's argv strictly and returns its PipelineOptions (runner set explicitly)."""
    parser = _known_parser(job_options_cls)
    try:
        known, unknown = parser.parse_known_args(argv)
    except argparse.ArgumentError as e:  # e.g. "argument --engine: invalid choice: 'onnx' (choose from ...)"
        raise FlagError(str(e)) from None
    if unknown:
        flags = [u for u in unknown if u.startswith("-")] or unknown
        name = flags[0].split("=", 1)[0]
        choices = [s for s in parser._option_string_actions if s.startswith("--")]
        close = difflib.get_close_matches(name, choices, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise FlagError(f"unknown flag {name}{hint}")
    for name in required:
        if not getattr(known, name, None):
            raise FlagError(f"--{name} is required")
    argv = list(argv)
    if not any(a == "--runner" or a.startswith("--runner=") for a in argv):
        argv.append(f"--runner={DEFAULT_LOCAL_RUNNER}")
    options = PipelineOptions(argv)
    return options


def job_help_parser(prog: str, job_options_cls, description: str) -> argparse.ArgumentParser:
    """An argparse parser with just the job's own flags, for ``--help``."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description=description,
        epilog=(
            "Every Apache Beam pipeline flag is accepted as well and passed to the runner, e.g. "
            "--runner=DataflowRunner --project=P --region=R --temp_location=gs://B/tmp, or "
            "--direct_running_mode=multi_processing --direct_num_workers=2 locally. Without "
            f"--runner the job runs on Beam's local {DEFAULT_LOCAL_RUNNER}."
        ),
    )
    InputOptions._add_argparse_args(parser)
    job_options_cls._add_argparse_args(parser.add_argument_group(f"{prog.split()[-1]} options"))
    return parser


def worker_count(options: PipelineOptions) -> int:
    """How many workers will run the job (for choosing shard counts and thread pools)."""
    runner = options.view_as(StandardOptions).runner or DEFAULT_LOCAL_RUNNER
    if runner.split(".")[-1] in LOCAL_RUNNERS:
        direct = options.view_as(DirectOptions)
        if direct.direct_running_mode == "in_memory":
            return 1
        return max(1, direct.direct_num_workers or 1)
    worker = options.view_as(WorkerOptions)
    return max(1, worker.max_num_workers or worker.num_workers or 1)


def is_local(options: PipelineOptions) -> bool:
    runner = options.view_as(StandardOptions).runner or DEFAULT_LOCAL_RUNNER
    return runner.split(".")[-1] in LOCAL_RUNNERS


__all__ = [
    "FlagError",
    "InputOptions",
    "RestoreOptions",
    "ShardsOptions",
    "is_local",
    "job_help_parser",
    "parse",
    "worker_count",
]
