"""Everything Apache Beam: the shards job (job 1) and the restore job (job 3)."""

import logging


class _ExpectedBeamImportWarning(logging.Filter):
    """Beam warns at import time when the optional GCP client libraries are absent (they are
    only needed for Dataflow and BigQuery, installed by the ``gcp`` extra); drop that line."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "apitools not found" not in record.getMessage()


logging.getLogger().addFilter(_ExpectedBeamImportWarning())
