"""``restoreflow SUBCOMMAND``: one entry point over the jobs.

Each subcommand lives in its own module with a ``main(argv) -> int``; the module is imported
only when its subcommand runs, and ``--help`` is answered from ``restoreflow.commands``
without it, so help is instant and a Beam job never imports TensorFlow unless it needs it.
"""

from __future__ import annotations

import importlib
import sys

from restoreflow.commands import PARSERS
from restoreflow.configs import suggest
from restoreflow.provenance import code_version

# name -> (module with main(argv), one-line description)
COMMANDS = {
    "shards": ("pipelines.shards.job", "Job 1: clean images -> degraded patch pairs as TFRecord shards (Beam)."),
    "train": ("model.train", "Job 2: train a CNN restorer on shards (Keras 3, tf.distribute)."),
    "restore": ("pipelines.restore", "Job 3: restore and score images with a trained model (Beam RunInference)."),
    "stylize": ("pipelines.restore.stylize", "Job 3 with a style model: render images in a trained style (Beam RunInference)."),
    "diagnose": ("pipelines.diagnose.job", "Diagnose each image's damage without restoring it (the triage of an archive)."),
    "generate": ("pipelines.generate.job", "Sample new images with a diffusion model trained by job 2 (Beam)."),
    "report": ("pipelines.report.build", "Rebuild OUT/report.html from a restore output's Parquet files and crops."),
    "history": ("pipelines.report.history", "Print the quality and speed trend of the runs recorded in a restore output."),
    "nightly": ("pipelines.nightly", "Incremental restore + report, as a scheduler calls it."),
    "import-weights": ("model.import_weights", "Turn published weights (DnCNN MatConvNet) into a model directory."),
    "demo": ("pipelines.demo", "Run all three jobs end to end on images bundled with scikit-image."),
    "recipes": ("pipelines.degrade.recipe", "List the built-in degradation recipes."),
    "models": ("restoreflow.zoo", "List the bundled models: what each restores, its size, speed and scores."),
}
# The Beam jobs' --help: job_help_parser(name) of their flags module, which loads neither Beam
# nor TensorFlow. Named, like the modules above, so that the core imports nothing above it.
JOB_FLAGS = ("pipelines.runtime.flags", ("shards", "restore", "stylize", "diagnose", "generate"))


def version() -> str:
    return code_version()


def help_parser(name: str):
    """The subcommand's parser, built without importing its module (None: its main answers)."""
    module, jobs = JOB_FLAGS
    if name in jobs:
        return importlib.import_module(module).job_help_parser(name)
    return PARSERS[name]() if name in PARSERS else None


def _usage() -> str:
    lines = [
        "usage: restoreflow SUBCOMMAND [options]   (restoreflow SUBCOMMAND --help for its options)",
        "       restoreflow --version",
        "",
    ]
    width = max(map(len, COMMANDS))
    lines += [f"  {name.ljust(width)}  {text}" for name, (_, text) in COMMANDS.items()]
    lines += ["", "Add --verbose to any subcommand for every library's log lines."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0
    if argv[0] in ("-V", "--version"):
        print(f"restoreflow {version()}")
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"restoreflow: unknown subcommand '{name}'{suggest(name, COMMANDS)}\n\n{_usage()}", file=sys.stderr)
        return 2
    if {"-h", "--help"} & set(rest):
        parser = help_parser(name)
        if parser is not None:
            parser.print_help()
            return 0
    module = importlib.import_module(COMMANDS[name][0])
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
