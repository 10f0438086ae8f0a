"""The scores table: what job 3 records per image, read back by the report, reruns and benchmarks.

``OUT/scores/<run>/*.parquet`` holds one ``ScoreRow`` per input image and run, ``status``
"restored" or "skipped" (done before for the same content, model and settings; its scores are
in the run that restored it). Scores come in pairs: ``<metric>_degraded`` (the input as given,
or as degraded in paired mode) and ``<metric>_restored``; full-reference ones are null without
a reference. ``crop_path`` is a small side-by-side PNG of the image's centre, for the report.

Each file records ``SCHEMA_VERSION`` in its metadata. ``read`` accepts every older version
(columns a version did not have are null) and refuses a newer one, or a Parquet file that is
not a scores table, with a ``ScoresVersionError`` naming the file.

Only pyarrow here (and Beam's FileSystems, imported by the readers, for gs:// and s3://).
"""

from __future__ import annotations

import dataclasses
import math

import pyarrow as pa

from restoreflow.configs import ConfigError

REPLACED = "replaced output"  # a ``redone`` value: see ScoreRow.redone
SCHEMA_VERSION = 4  # 1: the first table; 2: output_sha256, mask_sha256, redone, note; 3: --model auto's
# choice and the damage diagnosis (chosen_model ... diagnosis_version); 4: niqe_degraded, niqe_restored
# and precision (what ran: f32 or bf16)
VERSION_KEY = b"restoreflow.schema_version"

METRICS = ("psnr_db", "ssim", "ms_ssim", "noise_sigma", "sharpness", "blockiness", "niqe")
SCORE_COLUMNS = tuple(f"{name}_{role}" for name in METRICS for role in ("degraded", "restored"))


def _column(arrow_type: pa.DataType, *, required: bool = False):
    metadata = {"arrow": arrow_type}
    return dataclasses.field(metadata=metadata) if required else dataclasses.field(default=None, metadata=metadata)


_STR, _FLOAT = pa.string(), pa.float64()


@dataclasses.dataclass(frozen=True)
class ScoreRow:
    """One row of the scores table; the field order is the column order."""

    image_id: str = _column(_STR, required=True)
    source: str = _column(_STR, required=True)
    status: str = _column(_STR, required=True)  # "restored" or "skipped"
    run_id: str = _column(_STR, required=True)
    settings_key: str = _column(_STR, required=True)
    model_id: str = _column(_STR, required=True)
    task: str = _column(_STR, required=True)
    content_sha256: str | None = _column(_STR)
    width_in: int | None = _column(pa.int32())
    height_in: int | None = _column(pa.int32())
    width_out: int | None = _column(pa.int32())
    height_out: int | None = _column(pa.int32())
    channels: int | None = _column(pa.int8())
    bit_depth: int | None = _column(pa.int8())
    has_alpha: bool | None = _column(pa.bool_())
    source_mode: str | None = _column(_STR)
    format_in: str | None = _column(_STR)
    format_out: str | None = _column(_STR)
    output_path: str | None = _column(_STR)
    crop_path: str | None = _column(_STR)
    reference: str | None = _column(_STR)  # "paired", a reference's path, or null
    tiles: int | None = _column(pa.int32())
    seconds: float | None = _column(_FLOAT)
    psnr_db_degraded: float | None = _column(_FLOAT)
    psnr_db_restored: float | None = _column(_FLOAT)
    ssim_degraded: float | None = _column(_FLOAT)
    ssim_restored: float | None = _column(_FLOAT)
    ms_ssim_degraded: float | None = _column(_FLOAT)
    ms_ssim_restored: float | None = _column(_FLOAT)
    # The three no-reference signals (pipelines.quality.signals); above 2 MP they are read on
    # evenly spaced bands of 2 MP of the image (signals.SAMPLE_PIXELS), not every pixel.
    noise_sigma_degraded: float | None = _column(_FLOAT)
    noise_sigma_restored: float | None = _column(_FLOAT)
    sharpness_degraded: float | None = _column(_FLOAT)
    sharpness_restored: float | None = _column(_FLOAT)
    blockiness_degraded: float | None = _column(_FLOAT)
    blockiness_restored: float | None = _column(_FLOAT)
    niqe_degraded: float | None = _column(_FLOAT)  # NIQE naturalness (pipelines.quality.niqe): lower is more natural
    niqe_restored: float | None = _column(_FLOAT)
    output_sha256: str | None = _column(_STR)  # what a rerun checks OUT/restored/... against
    mask_sha256: str | None = _column(_STR)  # the --masks mask's bytes (inpainting)
    # Why an image with an earlier output was written again: "missing output" or "changed output"
    # (redone), or REPLACED (other input bytes under a name restored before: its output is overwritten).
    redone: str | None = _column(_STR)
    note: str | None = _column(_STR)  # something a person should know, e.g. why a reference was not used
    # --model auto: the model chosen (a bundled name, or "copy": written unchanged), why, the
    # --strength, and the diagnosis it was chosen from (restoreflow.diagnosis.Diagnosis's
    # fields, prefixed, plus its one-word label); null for a run with one model.
    chosen_model: str | None = _column(_STR)
    choice_reason: str | None = _column(_STR)
    strength: float | None = _column(_FLOAT)
    diagnosis_label: str | None = _column(_STR)
    diagnosis_noise_sigma: float | None = _column(_FLOAT)
    diagnosis_noise_kind: str | None = _column(_STR)
    diagnosis_jpeg_quality: int | None = _column(pa.int32())
    diagnosis_blur_sigma: float | None = _column(_FLOAT)
    diagnosis_resolution: float | None = _column(_FLOAT)
    diagnosis_undamaged: bool | None = _column(pa.bool_())
    diagnosis_undamaged_probability: float | None = _column(_FLOAT)
    diagnosis_estimator: str | None = _column(_STR)
    diagnosis_version: int | None = _column(pa.int32())
    precision: str | None = _column(_STR)  # what the model ran in ("f32" or "bf16"); null when no model ran

    def __post_init__(self):
        # Scores arrive as numpy floats; NaN (undefined) is stored as null, inf (identical
        # images) is kept.
        for name in SCORE_COLUMNS:
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, None if math.isnan(value) else float(value))

    def to_dict(self) -> dict:
        return {name: getattr(self, name) for name in SCHEMA.names}


SCHEMA = pa.schema(
    [(f.name, f.metadata["arrow"]) for f in dataclasses.fields(ScoreRow)],
    metadata={VERSION_KEY: str(SCHEMA_VERSION).encode()},
)


class ScoresVersionError(ConfigError):
    """A scores file this version of restoreflow cannot read (a newer version, or not one)."""


def version_of(schema: pa.Schema, where: str) -> int:
    """The schema version a file was written with; raises ScoresVersionError unless readable."""
    raw = (schema.metadata or {}).get(VERSION_KEY)
    try:
        version = int(raw)
    except (TypeError, ValueError):
        raise ScoresVersionError(f"{where} is not a restoreflow scores table (no {VERSION_KEY.decode()} in its "
                                 f"metadata); move it out of scores/") from None
    if version > SCHEMA_VERSION:
        raise ScoresVersionError(f"{where} has scores schema version {version}, newer than this restoreflow reads "
                                 f"({SCHEMA_VERSION}): run a newer restoreflow on this output, or choose another "
                                 f"--output")
    return version


def conform(table: pa.Table) -> pa.Table:
    """``table`` with exactly SCHEMA's columns: files from before a column existed get nulls."""
    columns = [
        table.column(f.name).cast(f.type) if f.name in table.column_names else pa.nulls(len(table), f.type)
        for f in SCHEMA
    ]
    return pa.Table.from_arrays(columns, schema=SCHEMA)


def read_file(path: str) -> pa.Table:
    """One scores file (local, gs://, s3://), version-checked and in the current schema."""
    import pyarrow.parquet as pq
    from apache_beam.io.filesystems import FileSystems

    with FileSystems.open(path) as f:
        data = f.read()
    # From bytes and on this thread: Arrow's reader threads made the interpreter abort at exit
    # now and then ("terminate called without an active exception": 4-9 in 16 runs from a
    # Python file, still 2 in 12 from bytes when the version check then raised); a scores
    # file is small, and its version is checked before its rows are read.
    version_of(pq.read_schema(pa.BufferReader(data)), path)
    return conform(pq.read_table(pa.BufferReader(data), use_threads=False))


def check_versions(paths: list[str]) -> None:
    """Reads each file's schema; raises ScoresVersionError for one this version cannot read."""
    import pyarrow.parquet as pq
    from apache_beam.io.filesystems import FileSystems

    for path in paths:
        with FileSystems.open(path) as f:
            version_of(pq.read_schema(pa.BufferReader(f.read())), path)  # bytes: see read_file


def files(output: str, run_id: str = "*") -> list[str]:
    """``OUT/scores/<run>/*.parquet``, sorted; Beam's temporary files lie deeper and are not a
    finished run's."""
    from apache_beam.io.filesystems import FileSystems

    found = FileSystems.match([FileSystems.join(output, "scores", run_id, "*.parquet")])[0].metadata_list
    return sorted(m.path for m in found)


def newest_run(paths: list[str]) -> list[str]:
    """The files of the newest run among ``paths`` (run ids sort by time)."""
    newest = max((run_of(path) for path in paths), default=None)
    return [path for path in paths if run_of(path) == newest]


def run_of(path: str) -> str:
    """The run id of ``scores/<run>/part.parquet`` (or of ``errors/<run>/errors.jsonl``)."""
    return path.replace("\\", "/").rstrip("/").split("/")[-2]


def read_files(paths: list[str]) -> pa.Table:
    tables = [read_file(path) for path in paths]
    return pa.concat_tables(tables) if tables else SCHEMA.empty_table()


def read(output: str, run_id: str = "*") -> pa.Table:
    """Every row of one run (or of all runs) under a restore output, as one table."""
    return read_files(files(output, run_id))
