"""``restoreflow report OUT``: ``OUT/report.html`` built from the run's files.

The one builder of the page: the restore job calls it once its pipeline has finished,
``restoreflow nightly`` through the restore job, and ``restoreflow report`` by hand (a Flex
Template run, which nobody waits for, gets its page that way: infra/README.md).
"""

from __future__ import annotations

import datetime
import logging

from apache_beam.io.filesystems import FileSystems

from pipelines.report import data as report_data, page as report_page
from pipelines.report.summaries import REPORT_FILE
from pipelines.runtime.files import partial_name, write_atomically
from restoreflow import commands
from restoreflow.configs import ConfigError
from restoreflow.console import user_errors

logger = logging.getLogger(__name__)


def build_report(output: str) -> str:
    """Writes ``OUT/report.html`` from every run's Parquet files, errors and summaries (see
    ``pipelines.report.page``); returns its path."""
    page = report_page.render_html(report_data.collect(output))
    path = FileSystems.join(output, REPORT_FILE)
    # The temporary name is shaped like a run's, so the next run's clean-up finds a killed one.
    tag = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ-report")
    write_atomically(path, page.encode("utf-8"), root=output, temporary=partial_name(path, tag))
    return path


def try_build_report(output: str) -> str | None:
    """``build_report`` after a run: its results are written, so a report problem is a warning
    naming the command that rebuilds it, never a failed run."""
    try:
        return build_report(output)
    except Exception:  # noqa: BLE001
        logger.warning("could not build %s; rebuild it with: restoreflow report %s",
                       FileSystems.join(output, REPORT_FILE), output, exc_info=True)
        return None


@user_errors("restoreflow report")
def main(argv: list[str]) -> int:
    output = commands.report().parse_args(argv).output
    try:
        FileSystems.get_filesystem(output)
    except ValueError as e:  # a scheme whose Beam extra is not installed, e.g. gs:// without [gcp]
        raise ConfigError(f"{output}: {e}") from None
    if "://" not in output and not FileSystems.exists(output):
        raise ConfigError(f"{output}: no such folder")
    print(build_report(output))
    return 0
