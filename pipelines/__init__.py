"""Everything Apache Beam: the shards job (job 1) and the restore job (job 3)."""

import logging

# Messages Beam logs that say nothing about this job:
_EXPECTED_BEAM_NOISE = (
    # At import, when the optional GCP clients (the `gcp` extra) are absent.
    "apitools not found",
    # Beam 2.77 imports `resource` in the same try block as a torch-only module, so without
    # torch it believes `resource` is missing and warns on every inference batch.
    "Resource module is not available",
    # Local worker processes have no staging directory; nothing is staged locally.
    "No semi_persistent_directory found",
)


class _DropExpectedBeamNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(text in message for text in _EXPECTED_BEAM_NOISE)


logging.getLogger().addFilter(_DropExpectedBeamNoise())
