"""``restoreflow nightly --config nightly.yaml``: the command a scheduler calls.

It runs the restore job incrementally (only new or changed images, or everything when the
model or settings changed) and rebuilds the report, then prints one summary line. The exit
code is 0 whenever the run completed, even if some inputs were rejected (they are listed in
``OUT/errors/<run>/``); 1 when the run itself failed, restored nothing and rejected
everything, or found its output in use by another run; 2 for a configuration mistake.

The YAML format is described in ``restoreflow nightly --help`` (restoreflow.commands).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys

from pipelines import restore
from pipelines.degrade import recipe as recipes
from pipelines.inputs import scope as input_scope, sources
from pipelines.report import summaries
from pipelines.runtime import failures, flags, lock, options as job_options
from restoreflow import commands, routing, zoo
from restoreflow.configs import ConfigError, parse_yaml, shown, suggest
from restoreflow.console import Interrupted, setup_logging, user_errors

log = logging.getLogger("restoreflow.nightly")
BEAM_ARGS = "beam_args"  # the one key that is not a restore flag: Beam's own flags, passed through


@dataclasses.dataclass(frozen=True)
class NightlyConfig:
    """A nightly YAML: restore job flags by name (declared in ``pipelines.runtime.flags``; those it
    leaves out keep the job's defaults) and Beam pipeline flags."""

    flags: tuple[tuple[str, str], ...]  # (flag name, value as given on a command line), in the file's order
    beam_args: tuple[str, ...] = ()

    @property
    def output(self) -> str:
        return dict(self.flags)["output"]

    @property
    def inputs(self) -> list[str]:
        return [value for name, value in self.flags if name == "input"]

    def without_inputs(self, left_out: list[str]) -> NightlyConfig:
        kept = tuple(pair for pair in self.flags if not (pair[0] == "input" and pair[1] in left_out))
        return dataclasses.replace(self, flags=kept)

    def restore_argv(self) -> list[str]:
        return [f"--{name}={value}" for name, value in self.flags] + list(self.beam_args)


def load(path: str) -> NightlyConfig:
    try:
        with open(path, "rb") as f:  # bytes: parse_yaml names a file that is not UTF-8
            text = f.read()
    except OSError as e:
        raise ConfigError(f"cannot read {path}: {e.strerror}") from None
    data = parse_yaml(text, path) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings, got {type(data).__name__}")
    return from_mapping(relative_to(data, os.path.dirname(os.path.abspath(path))))


PATH_KEYS = ("input", "output", "reference", "masks")
NAMED_KEYS = {"model": lambda: [*zoo.names(), routing.AUTO], "degrade": recipes.builtin_names}  # a name, or else a path


def relative_to(data: dict, folder: str) -> dict:
    """The file's relative paths made the config file's folder's: a scheduler starts the
    command from any current folder. Bundled model and recipe names stay names."""
    def place(value, names=()):
        if not isinstance(value, str) or not value or "://" in value or os.path.isabs(value) or value in names:
            return value
        return os.path.join(folder, value)

    placed = dict(data)
    for key in [*PATH_KEYS, *NAMED_KEYS]:
        names = NAMED_KEYS[key]() if key in NAMED_KEYS and placed.get(key) else ()
        value = placed.get(key)
        placed[key] = [place(item, names) for item in value] if isinstance(value, list) else place(value, names)
    return {key: value for key, value in placed.items() if key in data}


def from_mapping(data: dict) -> NightlyConfig:
    """Checks every key and value against the restore job's flags (ConfigError naming the key)."""
    known = flags.job_flags("restore")
    allowed = sorted([*known, BEAM_ARGS])
    for key in data:
        if str(key) not in allowed:
            raise ConfigError(f"unknown key '{key}'{suggest(str(key), allowed)}; allowed: {', '.join(allowed)}")
    for name in flags.required_flags("restore"):
        if data.get(name) in (None, "", []):
            raise ConfigError(f"{name}: required")
    pairs = [(key, text) for key, value in data.items() if key != BEAM_ARGS and value is not None
             for text in _flag_texts(key, value, known[key])]
    beam_args = data.get(BEAM_ARGS) or []
    if not isinstance(beam_args, list) or not all(isinstance(arg, str) for arg in beam_args):
        raise ConfigError(f"{BEAM_ARGS}: expected a list of Beam flags, e.g. [--runner=DataflowRunner]")
    return NightlyConfig(tuple(pairs), tuple(beam_args))


def _flag_texts(key: str, value, action: argparse.Action) -> list[str]:
    """A YAML value as command-line text, checked with the flag's own type and choices."""
    repeatable = flags.repeatable(action)
    texts = []
    for item in value if repeatable and isinstance(value, list) else [value]:
        if isinstance(item, (dict, list)):
            raise ConfigError(f"{key}: expected {'one value or a list' if repeatable else 'one value'}, got {shown(item)}")
        text = str(item).lower() if isinstance(item, bool) else str(item)
        try:
            converted = action.type(text) if action.type else text
        except argparse.ArgumentTypeError as e:
            raise ConfigError(f"{key}: {e}") from None
        except ValueError:
            raise ConfigError(f"{key}: expected {action.type.__name__}, got {shown(item)}") from None
        if action.choices and converted not in action.choices:
            raise ConfigError(f"{key}: {shown(item)} is not one of {', '.join(action.choices)}")
        texts.append(text)
    return texts


@user_errors("restoreflow nightly", job_options.FlagError, sources.InputError,
             failures=(lock.OutputLocked, failures.RunFailed))
def main(argv: list[str]) -> int:
    args = commands.nightly().parse_args(argv)
    setup_logging(args.verbose)
    config = load(args.config)
    config, empty = _without_empty_inputs(config)
    if config is None:
        print(f"nightly: nothing to restore: {', '.join(empty)} holds no files (an empty night is normal); "
              f"nothing was run")
        return 0
    for given in empty:
        print(f"nightly: note: --input {given} holds no files tonight")
    try:
        summary = restore.run(config.restore_argv())
    except (ConfigError, job_options.FlagError, sources.InputError, lock.OutputLocked, failures.RunFailed, Interrupted):
        raise  # one line each (a full disk and Ctrl-C say what was finished)
    except Exception:  # noqa: BLE001 - any failure of the run itself is the scheduler's business
        log.exception("nightly: the restore run failed")
        print("nightly: FAILED (see the log above); nothing was marked as done for the failed run")
        return 1
    for warning in summary["warnings"]:
        log.warning("%s", warning)
    print(f"nightly: {summaries.summary_line(summary, config.output)}")
    for advice in summary.get("guidance", []):
        print(f"nightly: note: {advice}")
    return restore.exit_status(summary)


def _without_empty_inputs(config: NightlyConfig) -> tuple[NightlyConfig | None, list[str]]:
    """(the config without its inputs that exist but hold no file, or None when that is all
    of them; those inputs). An input that does not exist stays, for the job to refuse."""
    specs, _ = input_scope.apart_from_output([sources.resolve(given) for given in config.inputs], config.output)
    empty = [spec.given for spec in specs if input_scope.holds_nothing(spec)]
    if len(empty) == len(specs):
        return None, empty
    return config.without_inputs(empty), empty


if __name__ == "__main__":
    sys.exit(main())

