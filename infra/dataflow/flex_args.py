"""What the Flex Template launcher scripts share: submit without waiting.

A Dataflow Flex Template launcher runs ``python launch_<job>.py`` with every template
parameter as ``--name=value`` plus the Beam flags it adds itself (``--runner``, ``--project``,
``--region``, ``--temp_location``, ``--template_location``, ``--sdk_container_image``, ...).
Switches accept ``--force=true/false`` as templates pass them. What differs from a person
typing ``restoreflow restore``:

* The launcher must exit once the job is submitted (Dataflow's Flex Template guide: do not call
  ``wait_until_finish``). ``pipelines.<job>.main`` waits for the job and then reads its outputs
  (the restore summary, the shards manifest), so :func:`launch` builds the pipeline with the job's
  ``build_pipeline(argv)`` and calls ``run()`` only.
"""

from __future__ import annotations

import logging
import sys

log = logging.getLogger("restoreflow.flex")


def launch(prog: str, build_pipeline, argv: list[str]) -> int:
    """Builds the job's pipeline from a launcher's argv and submits it; 0 once submitted,
    2 for a user's mistake (bad flag, missing input or model), as ``restoreflow`` exits."""
    from model.export import ModelDirError
    from pipelines.inputs import sources
    from pipelines.runtime.options import FlagError
    from restoreflow.configs import ConfigError
    from restoreflow.console import setup_logging

    setup_logging()
    user_errors = (ConfigError, FlagError, sources.InputError, ModelDirError)
    try:
        pipeline, _ = build_pipeline(list(argv))
    except user_errors as e:
        print(f"restoreflow {prog} (flex template): error: {e}", file=sys.stderr)
        return 2
    result = pipeline.run()
    job_id = getattr(result, "job_id", None)
    log.info("restoreflow %s submitted%s; state %s", prog,
             f" as job {job_id()}" if callable(job_id) and getattr(result, "has_job", False) else "",
             getattr(result, "state", "unknown"))
    return 0
