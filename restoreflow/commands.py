"""Every subcommand's parser, built without importing TensorFlow or Beam.

``restoreflow SUBCOMMAND --help`` prints the parser from ``PARSERS`` before the subcommand's
module (which loads TensorFlow or Beam: seconds) is imported; that module's ``main`` parses
with the same parser. The Beam jobs' flags live with the jobs, in ``pipelines.runtime.flags``
(Beam's PipelineOptions use them too), and ``restoreflow.cli`` names that module as it names
every subcommand's: the core imports nothing above it.
"""

from __future__ import annotations

from restoreflow.console import ArgumentParser, add_verbose_flag

WEIGHT_FORMATS = ("dncnn-matconvnet",)  # what `import-weights --format` reads (model.import_weights.IMPORTERS)


def train() -> ArgumentParser:
    parser = ArgumentParser(
        prog="restoreflow train",
        description="Job 2: train a CNN restorer on shards made by restoreflow shards. Reruns\n"
        "in the same --workdir resume from the last checkpoint. Logs the first step,\n"
        "then every train.log_every steps.",
    )
    parser.add_argument("--config", required=True, help="Training configuration (YAML), e.g. configs/dncnn-gray-s25.yaml.")
    parser.add_argument("--workdir", required=True, help="Checkpoints, logs, config.yaml and model/ go here.")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="Override a config value, e.g. --set train.steps=200 (value parsed as YAML). Repeatable.")
    add_verbose_flag(parser)
    return parser


def import_weights() -> ArgumentParser:
    parser = ArgumentParser(
        prog="restoreflow import-weights",
        description="Turn published weights into a model directory (model.keras + model.json).",
    )
    parser.add_argument("--format", required=True, choices=WEIGHT_FORMATS, help="What the weights file is.")
    parser.add_argument("file", help="The weights file, e.g. sigma=25.mat (read, never copied).")
    parser.add_argument("--output", required=True, help="Model directory to write.")
    parser.add_argument("--overwrite", action="store_true", help="Replace a model already in --output.")
    add_verbose_flag(parser)
    return parser


def demo() -> ArgumentParser:
    parser = ArgumentParser(
        prog="restoreflow demo",
        description="""\
The three jobs end to end on photographs that ship with scikit-image (about
1.5 min on 2 cores):
  1. shards: gray patches of some photographs, with Gaussian noise of sigma 25;
  2. train: a small DnCNN for --steps steps;
  3. restore: other photographs, degraded the same way (paired mode), restored
     and scored with the model just trained and with the bundled restorer
     `restore`.""",
    )
    parser.add_argument("--output", required=True, help="Folder for samples, shards, model and results.")
    parser.add_argument("--steps", type=int, default=300, help="Training steps of the demo model.")
    add_verbose_flag(parser)
    return parser


NIGHTLY_FORMAT = """\
Incremental restore + report, for schedulers (cron, systemd, Airflow, Cloud
Scheduler): only new or changed images are restored (everything when the
model or settings changed, or whose output on disk is missing or changed).
Exit code 0 when the run completed (rejected inputs are listed in
OUT/errors/, not fatal) or the inputs hold no files tonight, 1 when it
failed, rejected every input, or found its output in use by another run, 2
for a configuration mistake.

The --config file is YAML; only input and output are required, unknown keys
are errors. Relative paths are relative to the config file's folder. The
other keys are the restore job's flags of the same names
(restoreflow restore --help), with the same defaults:

  # folders, globs, gs:// or s3:// prefixes, archives: one, or a list
  input: [gs://archive/incoming]
  # the output folder: restored/, scores/, report.html, errors/
  output: gs://archive/restored
  # auto, a bundled model (restoreflow models) or a model directory;
  # default: auto for a new output, else the output's last run's model
  model: denoise-gray
  # folder of clean references for PSNR/SSIM, matched by relative path
  # and file stem (a/b.jpg <-> REFERENCE/a/b.png)
  reference: null
  # inpainting models: folder of masks (nonzero = missing), matched
  # like references
  masks: null
  tile_size: 0           # 0: the largest tile that fits tile_memory_mb
  tile_memory_mb: 640    # engine memory for one inference batch
  overlap: -1            # -1: the model's receptive-field radius
  batch_size: 4
  format: keep           # keep, or PNG, JPEG, TIFF, WEBP, BMP, PPM
  max_pixels: 100000000  # reject larger images
  max_bytes: 536870912   # reject larger files
  # Beam pipeline flags; none: this machine
  beam_args: [--runner=DataflowRunner, --project=P, --region=R,
              --temp_location=gs://archive/tmp]"""


def nightly() -> ArgumentParser:
    parser = ArgumentParser(prog="restoreflow nightly", description=NIGHTLY_FORMAT)
    parser.add_argument("--config", required=True, help="The nightly YAML file (format above).")
    add_verbose_flag(parser)
    return parser


def _add_restore_output(parser) -> None:
    parser.add_argument("output", metavar="OUT", help="A restore job's --output folder (local, gs://, s3://).")


def history() -> ArgumentParser:
    parser = ArgumentParser(
        prog="restoreflow history",
        description="The quality and speed trend of the restore runs recorded in OUT/runs/:\n"
        "per run, images restored, skipped and rejected, mean PSNR and its gain (with\n"
        "references), noise sigma after, and speed as wall time: seconds per restored\n"
        "image and restored megapixels per second, start-up included.",
    )
    _add_restore_output(parser)
    parser.add_argument("--json", action="store_true", help="Print the rows as JSON lines.")
    return parser


def report() -> ArgumentParser:
    parser = ArgumentParser(
        prog="restoreflow report",
        description="Rebuild OUT/report.html (one self-contained page) from a restore output's\n"
        "scores/<run>/*.parquet, errors/<run>/*.jsonl, runs/<run>/summary.json and\n"
        "crops/.",
    )
    _add_restore_output(parser)
    return parser


def recipes() -> ArgumentParser:
    parser = ArgumentParser(
        prog="restoreflow recipes",
        description="List the built-in degradation recipes; with NAME, print that recipe as\n"
        "YAML (a starting point for your own: pass its path to --recipe or --degrade).",
    )
    parser.add_argument("name", nargs="?", metavar="NAME", help="A built-in recipe.")
    return parser


def models() -> ArgumentParser:
    parser = ArgumentParser(
        prog="restoreflow models",
        description="List the bundled models: name, task, channels, scale, parameters, size on\n"
        "disk, CPU throughput through the restore job (MP/s, on the machine named in\n"
        "each model.json) and headline scores, then what each is for. Pick one with\n"
        "restoreflow restore --model NAME; a model directory of your own works the\n"
        "same way.",
    )
    parser.add_argument("--json", action="store_true", help="Print the list as JSON.")
    return parser


PARSERS = {
    "train": train,
    "report": report,
    "history": history,
    "nightly": nightly,
    "import-weights": import_weights,
    "demo": demo,
    "recipes": recipes,
    "models": models,
}
