"""``restoreflow nightly --config nightly.yaml``: the command a scheduler calls.

It runs the restore job incrementally (only new or changed images, or everything when the
model or settings changed) and rebuilds the report, then prints one summary line. The exit
code is 0 whenever the run completed, even if some inputs were rejected (they are listed in
``OUT/errors/<run>/``); 1 when the run itself failed, restored nothing and rejected
everything, or found its output in use by another run; 2 for a configuration mistake.

The YAML format is described in ``restoreflow nightly --help`` (restoreflow.commands).
"""

from __future__ import annotations

import dataclasses
import logging
import sys

from pipelines import lock, options as job_options, report, restore, sources
from restoreflow import commands
from restoreflow.configs import ConfigError, check, from_mapping, parse_yaml
from restoreflow.console import setup_logging, user_errors

log = logging.getLogger("restoreflow.nightly")


@dataclasses.dataclass(frozen=True)
class NightlyConfig:
    input: tuple[str, ...]
    output: str
    model: str | None = None
    reference: str | None = None
    masks: str | None = None
    tile_size: int = 512
    overlap: int = -1
    batch_size: int = 4
    format: str = "keep"
    max_pixels: int | None = None
    max_bytes: int | None = None
    beam_args: tuple[str, ...] = ()

    def __post_init__(self):
        check(bool(self.input), "input", "needs at least one input")

    def restore_argv(self) -> list[str]:
        argv = [f"--input={path}" for path in self.input] + [f"--output={self.output}"]
        for name in ("model", "reference", "masks", "tile_size", "overlap", "batch_size", "format", "max_pixels", "max_bytes"):
            value = getattr(self, name)
            if value is not None:
                argv.append(f"--{name}={value}")
        return argv + list(self.beam_args)


def load(path: str) -> NightlyConfig:
    try:
        with open(path) as f:
            text = f.read()
    except OSError as e:
        raise ConfigError(f"cannot read {path}: {e.strerror}") from None
    data = parse_yaml(text, path) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings, got {type(data).__name__}")
    if isinstance(data.get("input"), str):
        data["input"] = [data["input"]]
    return from_mapping(NightlyConfig, data, "")


@user_errors("restoreflow nightly", job_options.FlagError, sources.InputError, failures=(lock.OutputLocked,))
def main(argv: list[str]) -> int:
    args = commands.nightly().parse_args(argv)
    setup_logging(args.verbose)
    config = load(args.config)
    try:
        summary = restore.run(config.restore_argv())
    except (ConfigError, job_options.FlagError, sources.InputError, lock.OutputLocked):
        raise
    except Exception:  # noqa: BLE001 - any failure of the run itself is the scheduler's business
        log.exception("nightly: the restore run failed")
        print("nightly: FAILED (see the log above); nothing was marked as done for the failed run")
        return 1
    for warning in summary["warnings"]:
        log.warning("%s", warning)
    print(f"nightly: {report.summary_line(summary, config.output)}")
    for advice in summary.get("guidance", []):
        print(f"nightly: note: {advice}")
    return restore.exit_status(summary)


if __name__ == "__main__":
    sys.exit(main())

