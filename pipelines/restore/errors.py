"""The restore job's own ways to reject an image (a mask problem, a failed inference batch);
the dead-letter handling the jobs share is ``pipelines.runtime.errors``."""

from __future__ import annotations

from pipelines.runtime.errors import ERRORS, Rejected, Rejections, from_dead_letter, record

__all__ = ["ERRORS", "MaskProblem", "Rejected", "Rejections", "from_dead_letter", "inference_failures", "record"]


class MaskProblem(Rejected):
    """An input whose --masks mask is missing, ambiguous, unusable or of another size."""

    stage = "mask"


def inference_failures(failure) -> list[dict]:
    """A failed inference batch (RunInference's dead letter) -> one error per image it held
    tiles of."""
    batch, error = failure
    # Beam hands over (exception type, repr, traceback lines) rather than the exception.
    reason = str(error[1]) if isinstance(error, tuple) and len(error) > 1 else f"{type(error).__name__}: {error}"
    keys = {}
    for key, example in batch:
        if isinstance(key, str):  # --model auto: (model name, (TileKey, tile))
            key = example[0]
        keys.setdefault(key.image_id, key)
    return [record(source=key.source, image_id=image_id, stage="inference", reason=reason)
            for image_id, key in keys.items()]
