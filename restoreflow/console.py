"""Shared command-line plumbing: logging set-up and turning user errors into exit code 2."""

from __future__ import annotations

import functools
import logging
import sys

from restoreflow.configs import ConfigError

# Libraries that talk too much at INFO; their warnings still show.
_QUIET_LOGGERS = ("apache_beam", "absl", "tensorflow", "h5py")


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def user_errors(prog: str, *extra_errors, failures: tuple = ()):
    """Decorator for ``main(argv)``: a user's mistake prints one line and exits with 2; one of
    ``failures`` (a run that could not happen, e.g. its output is in use) one line and 1."""

    def wrap(fn):
        @functools.wraps(fn)
        def run(argv=None):
            try:
                return fn(list(sys.argv[1:] if argv is None else argv))
            except (ConfigError, *extra_errors) as e:
                print(f"{prog}: error: {e}", file=sys.stderr)
                return 2
            except failures as e:
                print(f"{prog}: error: {e}", file=sys.stderr)
                return 1

        return run

    return wrap
