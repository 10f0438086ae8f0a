"""Validation during training: PSNR and SSIM over the val shards with the published convention
(outputs clipped and rounded to 8-bit steps), written to TensorBoard with image triplets."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

import numpy as np

log = logging.getLogger("restoreflow.train")


class TrainingError(RuntimeError):
    """Training cannot go on (e.g. a non-finite loss); the message says what to do."""


@dataclasses.dataclass(frozen=True)
class Evaluation:
    step: int
    tag: str  # "val", or "val_ema" for the EMA weights at the end
    values: dict  # score name -> value: what the model card records
    rank_key: str = "psnr_db"  # the score that picks the best evaluation
    higher_is_better: bool = True

    def scores(self) -> dict:
        """What the model card records."""
        return dict(self.values)

    @property
    def rank(self) -> float:
        """Larger is better, whichever way the ranking score runs."""
        value = self.values[self.rank_key]
        return value if self.higher_is_better else -value


Evaluator = Callable[..., Evaluation]


def check_records(records: int, expected_records: int, val_files, manifest: str) -> None:
    """A pass that read another number of records than the manifest lists is a TrainingError:
    a val shard cut at a record boundary, or emptied, reads without any error, and its score
    would be computed on fewer records."""
    if records != expected_records:

        raise TrainingError(
            f"the val shards ({len(val_files)} files) hold {records} records but {manifest} lists "
            f"{expected_records}: a val shard is truncated or was replaced; make the shards again with "
            "`restoreflow shards` (the checkpoints in the workdir are kept)")


def make_evaluator(model, val_files, *, shapes, channels: int, takes_mask: bool, batch_size: int,
                   max_records: int, image_summaries: int, compression: str, expected_records: int,
                   manifest: str = "the manifest", takes_noise_level: bool = False) -> Evaluator:
    """Returns ``evaluate(writer, step, tag="val") -> Evaluation`` over the val shards; a pass
    must read ``expected_records`` (what ``manifest`` lists, capped by ``max_records``)."""
    import tensorflow as tf

    from model import data, metrics

    dataset = data.validation_dataset(val_files, shapes=shapes, takes_mask=takes_mask, batch_size=batch_size,
                                      compression=compression, max_records=max_records,
                                      takes_noise_level=takes_noise_level)

    @tf.function
    def predict(inputs):
        return tf.cast(model(inputs, training=False), tf.float32)

    def evaluate(writer, step: int, tag: str = "val") -> Evaluation:
        psnr, ssim, first = [], [], None
        for inputs, clean, _ in dataset:
            restored = predict(inputs)
            psnr.append(metrics.psnr_db(clean, restored, quantize=True).numpy())
            ssim.append(metrics.ssim(clean, restored, quantize=True).numpy())
            first = first if first is not None else (inputs, restored, clean)
        records = sum(len(batch) for batch in psnr)
        check_records(records, expected_records, val_files, manifest)
        result = Evaluation(step, tag, {"psnr_db": float(np.mean(np.concatenate(psnr))),
                                        "ssim": float(np.mean(np.concatenate(ssim))), "records": records})
        with writer.as_default(step=step):
            tf.summary.scalar(f"{tag}/psnr_db", result.values["psnr_db"])
            tf.summary.scalar(f"{tag}/ssim", result.values["ssim"])
            tf.summary.image(f"{tag}/degraded_restored_clean", triplets(*first, channels=channels),
                             max_outputs=image_summaries)
        log.info("%s at step %d: PSNR %.2f dB, SSIM %.4f", tag, step, result.values["psnr_db"], result.values["ssim"])
        return result

    return evaluate


def make_diagnosis_evaluator(model, val_files, *, shapes, batch_size: int, max_records: int,
                             compression: str, expected_records: int, manifest: str = "the manifest") -> Evaluator:
    """Returns ``evaluate(writer, step, tag="val") -> Evaluation`` of a diagnosis model: its
    validation loss (which ranks the evaluations) and the scores of ``validation_scores``."""
    import tensorflow as tf

    from model import data
    from model.diagnosis_net import diagnosis_loss, validation_scores

    dataset = data.validation_dataset(val_files, shapes=shapes, takes_mask=False, batch_size=batch_size,
                                      compression=compression, max_records=max_records, target="diagnosis")

    @tf.function
    def predict(inputs):
        return tf.cast(model(inputs, training=False), tf.float32)

    def evaluate(writer, step: int, tag: str = "val") -> Evaluation:
        targets, outputs = [], []
        for inputs, target, _ in dataset:
            outputs.append(predict(inputs).numpy())
            targets.append(target.numpy())
        target, output = np.concatenate(targets), np.concatenate(outputs)
        check_records(len(target), expected_records, val_files, manifest)
        values = {"loss": float(np.mean(diagnosis_loss(target, output).numpy())), **validation_scores(target, output),
                  "records": len(target)}
        result = Evaluation(step, tag, values, rank_key="loss", higher_is_better=False)
        with writer.as_default(step=step):
            for name, value in values.items():
                tf.summary.scalar(f"{tag}/{name}", value)
        log.info("%s at step %d: %s", tag, step, ", ".join(f"{k} {v:.4f}" for k, v in values.items()))
        return result

    return evaluate


def triplets(inputs, restored, clean, *, channels: int):
    """Side-by-side degraded | restored | clean images (degraded resized to the clean size)."""
    import tensorflow as tf

    degraded = inputs[..., :channels]
    size = tf.shape(clean)[1:3]
    degraded = tf.image.resize(degraded, size, method="nearest")
    return tf.clip_by_value(tf.concat([degraded, restored, clean], axis=2), 0.0, 1.0)
