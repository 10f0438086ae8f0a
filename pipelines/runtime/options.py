"""Pipeline options for the Beam jobs: their only Beam flag surface.

Each job has one ``PipelineOptions`` subclass, over the flags declared (Beam-free, for a fast
``--help``) in ``pipelines.runtime.flags``. ``parse`` accepts the job's own flags plus every
standard Beam flag (runner, Dataflow, worker, direct-runner options pass through untouched),
and rejects anything else by name: a typo is an error, never a silently dropped flag.
When no ``--runner`` is given the job runs on Beam's local FnApiRunner, chosen explicitly
because the default DirectRunner of Beam >= 2.68 first tries to download the Prism binary.
"""

from __future__ import annotations

import argparse
import difflib
import os

from apache_beam.options.pipeline_options import (
    DirectOptions,
    PipelineOptions,
    StandardOptions,
    WorkerOptions,
)

from pipelines.runtime import flags

DEFAULT_LOCAL_RUNNER = flags.DEFAULT_LOCAL_RUNNER
LOCAL_RUNNERS = ("FnApiRunner", "DirectRunner", "BundleBasedDirectRunner", "SwitchingDirectRunner")


class InputOptions(PipelineOptions):
    """Flags every restoreflow job shares: inputs, output, limits, seed."""

    @classmethod
    def _add_argparse_args(cls, parser):
        flags.add_input_args(parser)


class ShardsOptions(PipelineOptions):
    """Flags of job 1, ``restoreflow shards``."""

    @classmethod
    def _add_argparse_args(cls, parser):
        flags.add_shards_args(parser)


class RestoreOptions(PipelineOptions):
    """Flags of job 3, ``restoreflow restore``."""

    @classmethod
    def _add_argparse_args(cls, parser):
        flags.add_restore_args(parser)


class StylizeOptions(PipelineOptions):
    """The flags ``restoreflow stylize`` adds to the restore job's (it parses both)."""

    @classmethod
    def _add_argparse_args(cls, parser):
        flags.add_stylize_args(parser)


class DiagnoseOptions(PipelineOptions):
    """Flags of ``restoreflow diagnose``."""

    @classmethod
    def _add_argparse_args(cls, parser):
        flags.add_diagnose_args(parser)


class GenerateOptions(PipelineOptions):
    """Flags of ``restoreflow generate`` (its --model is RestoreOptions', borrowed by parse)."""

    @classmethod
    def _add_argparse_args(cls, parser):
        flags.add_generate_args(parser, model=False)


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


def _known_parser(job_options_cls, borrowed: tuple[str, ...] = ()) -> argparse.ArgumentParser:
    """``job_options_cls``: a job's options class, or a tuple of them (stylize: restore's and its
    own); ``borrowed``: flags of restore's that another job takes too (generate: --model)."""
    # exit_on_error=False: a bad value raises instead of printing a usage line of every Beam flag.
    parser = argparse.ArgumentParser(allow_abbrev=False, add_help=False, exit_on_error=False)
    seen = set()
    own = job_options_cls if isinstance(job_options_cls, tuple) else (job_options_cls,)
    for cls in [InputOptions, *own, *_beam_option_classes(), *([RestoreOptions] if borrowed else [])]:
        if cls in seen:
            continue
        seen.add(cls)
        sub = argparse.ArgumentParser(allow_abbrev=False, add_help=False)
        cls._add_argparse_args(sub)
        for action in sub._actions:
            if cls is not RestoreOptions or RestoreOptions in own or action.dest in borrowed:
                parser._add_action(action)
    return parser


# Smallest accepted value of each numeric flag (a value below it is a mistake, never a default).
MINIMUMS = {
    "max_pixels": 1, "max_bytes": 1, "tile_size": 0, "tile_memory_mb": 16, "overlap": -1, "batch_size": 1,
    "tf_threads": 0,
    "patch_size": 0, "stride": 1, "max_patches": 0, "num_shards": 0,
    "count": 1, "steps": 1,
}


def _check_ranges(known) -> None:
    for name, minimum in MINIMUMS.items():
        value = getattr(known, name, None)
        if value is not None and value < minimum:
            raise FlagError(f"--{name} must be at least {minimum}, got {value}")


def check_output_folder(output: str) -> None:
    """--output must be a folder (or not exist yet), not a file."""
    if "://" not in output and os.path.exists(output) and not os.path.isdir(output):
        raise FlagError(f"--output {output} is a file; give a folder (it is created when missing)")


# Options a remote runner cannot start without. Beam checks them only when the job is submitted
# (after the pipeline is built, as a traceback) and its full validator reaches for the network.
RUNNER_REQUIRED = {"DataflowRunner": ("project", "region", "temp_location")}


def _check_runner(options: PipelineOptions) -> None:
    """A remote --runner must exist and have its required options, checked up front."""
    if is_local(options):
        return
    from apache_beam.options.pipeline_options import GoogleCloudOptions
    from apache_beam.runners.runner import create_runner

    runner_name = options.view_as(StandardOptions).runner
    try:
        create_runner(runner_name)
    except (ValueError, ImportError) as e:
        raise FlagError(f"--runner {runner_name}: {e}") from None
    cloud = options.view_as(GoogleCloudOptions)
    missing = [f"--{name}" for name in RUNNER_REQUIRED.get(runner_name.split(".")[-1], ()) if not getattr(cloud, name)]
    if missing:
        raise FlagError(f"--runner {runner_name} needs {', '.join(missing)}")


def parse(argv: list[str], job_options_cls, *, required=("input", "output"), borrowed=()) -> PipelineOptions:
    """Parses a job's argv strictly and returns its PipelineOptions (runner set explicitly).
    ``borrowed``: flags of RestoreOptions the job takes too (read with view_as(RestoreOptions))."""
    parser = _known_parser(job_options_cls, tuple(borrowed))
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
    _check_ranges(known)
    argv = list(argv)
    if not any(a == "--runner" or a.startswith("--runner=") for a in argv):
        argv.append(f"--runner={DEFAULT_LOCAL_RUNNER}")
    options = PipelineOptions(argv)
    _check_runner(options)
    return options


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


def in_process(options: PipelineOptions) -> bool:
    """Whether the workers run inside this process (a local runner not in multi_processing mode)."""
    return is_local(options) and options.view_as(DirectOptions).direct_running_mode != "multi_processing"


__all__ = [
    "FlagError",
    "check_output_folder",
    "GenerateOptions",
    "InputOptions",
    "RestoreOptions",
    "ShardsOptions",
    "StylizeOptions",
    "in_process",
    "is_local",
    "parse",
    "worker_count",
]
