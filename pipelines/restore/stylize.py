"""``restoreflow stylize``: job 3 with a style model (model.json ``task: style``, trained by
``restoreflow train`` with a ``style:`` section). The same inputs, tiling, reruns, errors and
report as ``restoreflow restore``, and its flags, plus ``--keep_colors``:

    restoreflow stylize --input IN --model STYLE_DIR --output OUT [--strength 0.7] [--keep_colors]
"""

from __future__ import annotations

import sys

from pipelines.inputs import sources
from pipelines.restore.job import finish, run
from pipelines.runtime import failures, flags, lock, options as job_options
from restoreflow.console import user_errors


@user_errors("restoreflow stylize", job_options.FlagError, sources.InputError, failures=(lock.OutputLocked, failures.RunFailed))
def main(argv: list[str]) -> int:
    argv = flags.start_job("stylize", argv)
    if argv is None:
        return 0
    return finish(run(argv, job="stylize"), "stylize")


if __name__ == "__main__":
    sys.exit(main())
