"""Shared command-line plumbing: logging set-up and turning user errors into exit code 2."""

from __future__ import annotations

import argparse
import functools
import logging
import os
import sys

from restoreflow import quiet_tf
from restoreflow.configs import ConfigError

# Libraries that talk too much at INFO; their warnings still show (all of it with --verbose).
_QUIET_LOGGERS = ("apache_beam", "absl", "tensorflow", "h5py")

# Messages Beam logs that say nothing about the job:
EXPECTED_NOISE = (
    # At import, when the optional GCP clients (the `gcp` extra) are absent.
    "apitools not found",
    # Beam 2.77 imports `resource` in the same try block as a torch-only module, so without
    # torch it believes `resource` is missing and warns on every inference batch.
    "Resource module is not available",
    # Local worker processes have no staging directory; nothing is staged locally.
    "No semi_persistent_directory found",
    # Beam's multi-model RunInference (--model auto) shares its models through a local proxy
    # server and logs its start and every connection at INFO on the root logger.
    "Done starting server",
    "Connecting to remote proxy at",
)


# Beam's local runner logs a transform's exception with its traceback ("... [while running
# 'STEP']") just before raising it again to the launcher, which reports it (one line for the
# causes the jobs name, the whole traceback otherwise): the logged copy is a duplicate.
_RERAISED_BY = "apache_beam.runners.common"


class DropExpectedNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.name == _RERAISED_BY and record.exc_info and "[while running '" in message:
            return False
        return not any(text in message for text in EXPECTED_NOISE)


def setup_logging(verbose: bool = False) -> None:
    """INFO lines of restoreflow, warnings of the libraries; everything with ``verbose``
    (which local worker processes inherit through the environment, see quiet_tf)."""
    if verbose:
        os.environ[quiet_tf.VERBOSE_ENV] = "1"
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO if verbose else logging.WARNING)
    if not verbose:
        # On the handlers: a logger's own filter never sees what its child loggers pass up
        # (Beam forwards its local workers' log lines through a child logger).
        for handler in logging.getLogger().handlers:
            handler.addFilter(DropExpectedNoise())


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions keep their line breaks; every option says whether it is required, or its
    default when it has one and its help does not already give it."""

    def _get_help_string(self, action):
        text = action.help or ""
        if action.required:
            return f"{text} (required)"
        default = action.default
        unset = default is None or default is False or default == [] or default == argparse.SUPPRESS
        if action.option_strings and not unset and "default" not in text:
            return f"{text} (default: %(default)s)"
        return text


class ArgumentParser(argparse.ArgumentParser):
    """argparse with HelpFormatter, whose usage mistakes raise ConfigError, so that
    ``user_errors`` prints one line and returns 2."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        raise ConfigError(message)


def add_verbose_flag(parser) -> None:
    parser.add_argument("--verbose", action="store_true",
                        help="Show every library's log lines, TensorFlow's C++ start-up lines included.")


def take_verbose_flag(argv: list[str]) -> tuple[bool, list[str]]:
    """(whether ``--verbose`` is among ``argv``, ``argv`` without it): for the Beam jobs, whose
    other flags go to PipelineOptions."""
    rest = [arg for arg in argv if arg != "--verbose"]
    return len(rest) != len(argv), rest


INTERRUPTED_EXIT = 130  # the shell's code for a command stopped by SIGINT (128 + 2)


class Interrupted(Exception):
    """Ctrl-C, with what the run had finished and what a rerun does (one line, exit 130)."""


def in_chain(error: BaseException, match) -> BaseException | None:
    """The first exception in ``error``'s cause/context chain (``error`` included) for which
    ``match(exception)`` is true. Beam's local runner re-raises a transform's exception wrapped
    (a KeyboardInterrupt becomes a RuntimeError), so causes are found along the chain."""
    seen = set()
    while error is not None and id(error) not in seen:
        if match(error):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


def _is_ctrl_c(error: BaseException) -> bool:
    return isinstance(error, KeyboardInterrupt)


MAX_ERROR_CHARS = 400  # one readable line, whatever a message echoes


def error_line(prog: str, error: BaseException) -> str:
    """``PROG: error: MESSAGE`` for stderr; a message over ``MAX_ERROR_CHARS`` keeps its start and
    end (where the advice is). Values are cut where they are echoed (``configs.shown``); this is
    the backstop for everything else (a file name, a library's message)."""
    message = str(error)
    if len(message) > MAX_ERROR_CHARS:
        head = MAX_ERROR_CHARS * 3 // 4
        message = f"{message[:head]} … {message[head - MAX_ERROR_CHARS + 3:]}"
    return f"{prog}: error: {message}"


def user_errors(prog: str, *extra_errors, failures: tuple = ()):
    """Decorator for ``main(argv)``: a user's mistake prints one line and exits with 2; one of
    ``failures`` (a run that could not happen, e.g. its output is in use) one line and 1;
    Ctrl-C one line and 130; --help (argparse exits after printing it) returns 0."""

    def wrap(fn):
        @functools.wraps(fn)
        def run(argv=None):
            try:
                return fn(list(sys.argv[1:] if argv is None else argv))
            except (ConfigError, *extra_errors) as e:
                print(error_line(prog, e), file=sys.stderr)
                return 2
            except failures as e:
                print(error_line(prog, e), file=sys.stderr)
                return 1
            except SystemExit as e:  # ArgumentParser.error raises ConfigError: this is --help
                return int(e.code or 0)
            except (Interrupted, KeyboardInterrupt) as e:
                print(f"{prog}: {e if isinstance(e, Interrupted) else 'interrupted (Ctrl-C)'}", file=sys.stderr)
                return INTERRUPTED_EXIT
            except Exception as e:  # Ctrl-C inside a Beam transform arrives wrapped
                if in_chain(e, _is_ctrl_c) is None:
                    raise
                print(f"{prog}: interrupted (Ctrl-C)", file=sys.stderr)
                return INTERRUPTED_EXIT

        return run

    return wrap
