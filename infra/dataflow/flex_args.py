"""What the Flex Template launcher scripts share: argv clean-up and submit-without-waiting.

A Dataflow Flex Template launcher runs ``python launch_<job>.py`` with every template
parameter as ``--name=value`` plus the Beam flags it adds itself (``--runner``, ``--project``,
``--region``, ``--temp_location``, ``--template_location``, ``--sdk_container_image``, ...).
Two things differ from a person typing ``restoreflow restore``:

* Our boolean job flags are argparse switches (``--force``), which reject a value; a template
  passes ``--force=true`` or ``--force=false``. :func:`normalize` turns those into ``--force``
  or nothing.
* The launcher must exit once the job is submitted (Dataflow's Flex Template guide: do not call
  ``wait_until_finish``). ``pipelines.<job>.main`` waits for the job and then reads its outputs
  (the restore summary, the shards manifest), so :func:`launch` builds the pipeline with the job's
  ``build_pipeline(argv)`` and calls ``run()`` only.
"""

from __future__ import annotations

import argparse
import logging
import sys

TRUE = frozenset({"true", "yes", "1", "on"})
FALSE = frozenset({"false", "no", "0", "off", ""})

log = logging.getLogger("restoreflow.flex")


def job_flags(job_options_cls) -> argparse.ArgumentParser:
    """A parser with just one job's own flags (InputOptions + the job's options)."""
    from pipelines.options import InputOptions

    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    InputOptions._add_argparse_args(parser)
    job_options_cls._add_argparse_args(parser)
    return parser


def switches(job_options_cls) -> set[str]:
    """The job's flags that take no value (store_true switches such as --force)."""
    found = set()
    for action in job_flags(job_options_cls)._actions:
        if action.nargs == 0 and action.const is True:
            found.update(s for s in action.option_strings if s.startswith("--"))
    return found


def normalize(argv: list[str], job_options_cls) -> list[str]:
    """``--force=true`` -> ``--force``; ``--force=false`` -> (dropped); everything else as is."""
    from pipelines.options import FlagError

    names = switches(job_options_cls)
    out = []
    for arg in argv:
        name, sep, value = arg.partition("=")
        if not sep or name not in names:
            out.append(arg)
            continue
        word = value.strip().lower()
        if word in TRUE:
            out.append(name)
        elif word not in FALSE:
            raise FlagError(f"{name} takes true or false, not {value!r}")
    return out


def launch(prog: str, build_pipeline, job_options_cls, argv: list[str]) -> int:
    """Builds the job's pipeline from a launcher's argv and submits it; 0 once submitted,
    2 for a user's mistake (bad flag, missing input or model), as ``restoreflow`` exits."""
    from model.export import ModelDirError
    from pipelines import sources
    from pipelines.options import FlagError
    from restoreflow.configs import ConfigError
    from restoreflow.console import setup_logging

    setup_logging()
    user_errors = (ConfigError, FlagError, sources.InputError, ModelDirError)
    try:
        pipeline, _ = build_pipeline(normalize(list(argv), job_options_cls))
    except user_errors as e:
        print(f"restoreflow {prog} (flex template): error: {e}", file=sys.stderr)
        return 2
    result = pipeline.run()
    job_id = getattr(result, "job_id", None)
    log.info("restoreflow %s submitted%s; state %s", prog,
             f" as job {job_id()}" if callable(job_id) and getattr(result, "has_job", False) else "",
             getattr(result, "state", "unknown"))
    return 0
