"""Writing job 1's outputs: ``WriteShards`` (the TFRecord files of each split, through Beam's
public ``FileBasedSink`` and ``Write``) and ``WriteJsonLines`` (index and error lines)."""

from __future__ import annotations

import json

import apache_beam as beam
from apache_beam import coders
from apache_beam.io.filebasedsink import FileBasedSink
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from pipelines.shards.degrade import writer_tag
from restoreflow import records
from restoreflow.manifest import SPLITS


class RecordListSink(FileBasedSink):
    """TFRecord files fed one list of serialized records per element (an image's patches), so
    Beam's per-element cost is paid per image, not per patch (``WriteToTFRecord`` takes one
    record per element: slower, as ``bench/jobs/shard_writer.py`` measures)."""

    def __init__(self, prefix: str, *, gzip: bool, num_shards: int):
        super().__init__(prefix, coders.PickleCoder(), file_name_suffix=".tfrecord.gz" if gzip else ".tfrecord",
                         num_shards=num_shards,
                         compression_type=CompressionTypes.GZIP if gzip else CompressionTypes.UNCOMPRESSED)

    def write_record(self, file_handle, value):
        file_handle.write(b"".join(map(records.frame, value)))


class WriteShards(beam.PTransform):
    """A dict of writer tag -> lists of serialized records (``DegradeToRecords``' writer
    outputs) -> a dict of split -> the paths of the shard files written.

    With ``num_shards`` 0 every writer tag writes where its records are made (Beam's per-bundle
    writes: no record crosses a shuffle), as ``part{group}-SSSSS-of-NNNNN`` files; otherwise
    each split is shuffled into exactly ``num_shards`` files ``part-SSSSS-of-NNNNN``.
    """

    def __init__(self, output: str, *, compression: str, groups: int, num_shards: int = 0):
        super().__init__()
        self._output = output
        self._compression = compression
        self._groups = groups
        self._num_shards = num_shards

    def expand(self, records_by_tag):
        return {split: tuple(self._write(records_by_tag, split, group) for group in range(self._groups))
                | f"Files {split}" >> beam.Flatten() for split in SPLITS}

    def _write(self, records_by_tag, split: str, group: int):
        prefix = FileSystems.join(self._output, split, "part" if self._num_shards else f"part{group}")
        sink = RecordListSink(prefix, gzip=self._compression == "gzip", num_shards=self._num_shards)
        return records_by_tag[writer_tag(split, group)] | f"Write {split} {group}" >> beam.io.Write(sink)


class WriteJsonLines(beam.PTransform):
    """Dicts -> ``prefix-SSSSS-of-NNNNN.jsonl`` files, one JSON object per line (keys sorted)."""

    def __init__(self, prefix: str, *, num_shards: int = 0):
        super().__init__()
        self._prefix = prefix
        self._num_shards = num_shards

    def expand(self, lines):
        return (
            lines
            | "To JSON" >> beam.Map(json.dumps, sort_keys=True)
            | "Write" >> beam.io.WriteToText(self._prefix, file_name_suffix=".jsonl", num_shards=self._num_shards)
        )
