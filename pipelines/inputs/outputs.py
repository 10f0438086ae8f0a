"""Names that must stay unique: image ids, archive namespaces and the restore job's outputs.

Image ids (``relative/path.png``, ``archive.zip/member.png``) name the outputs, so two inputs
sharing one would overwrite each other's results. Every conflict is found from the listing
alone, before any file is read or written, and the later input goes to ``errors/`` with a
reason that names the one it conflicts with:

* **the same image id** from two ``--input``s: the first ``--input`` keeps it;
* **an archive's namespace**: the members of ``a.tar`` get the ids ``a.tar/...``, so a file
  under a folder ``a.tar/`` of another ``--input`` would share them; whichever comes from the
  later ``--input`` (the files, or the whole archive) is refused;
* **the same output file** (restore only): ``restored/<image_id>`` keeps the id's extension
  when the output format is the one that extension names or the id has none; otherwise the
  format's extension is appended (``x.gif`` -> ``x.gif.png``). When that lands on another
  input's name (``x.gif.png``), the input whose id *is* that name keeps it.

Inside one archive the same checks run while its members are read (``ArchiveNames``); there
the earlier member keeps a name (an archive is read once, front to back).
"""

from __future__ import annotations

import posixpath

import apache_beam as beam

from pipelines.imaging import images
from pipelines.runtime.flags import WRITABLE_FORMATS

_ARCHIVE, _UNDER, _ID, _OUTPUT = "archive", "under", "id", "output"


def output_format(image_id: str, requested: str, decoded_format: str | None = None) -> str:
    """The format an image is written in: ``requested`` unless it is "keep"; else the format
    its extension names when it can be written, PNG when it cannot; an id without an
    extension keeps its decoded format (PNG when that cannot be written)."""
    if requested != "keep":
        return requested
    extension = posixpath.splitext(image_id)[1]
    fmt = images.format_for_extension(extension) if extension else _SAME_FORMAT.get(decoded_format, decoded_format)
    return fmt if fmt in WRITABLE_FORMATS else "PNG"


# Formats Pillow reads under another name than the one to write them with.
_SAME_FORMAT = {"MPO": "JPEG"}  # phone cameras' multi-picture JPEGs


def output_name(image_id: str, requested: str) -> str:
    """The path under ``restored/``; decided from the id alone, so that it is known (and
    checked for conflicts) before anything is decoded."""
    extension = posixpath.splitext(image_id)[1]
    if not extension:
        return image_id if requested == "keep" else image_id + images.FORMAT_EXTENSIONS[requested]
    fmt = output_format(image_id, requested)
    return image_id if images.format_for_extension(extension) == fmt else image_id + images.FORMAT_EXTENSIONS[fmt]


def _claims(item, output_format_requested: str | None, is_archive):
    """(claim key, (role, InputFile)) for every name ``item`` needs to itself."""
    yield (_ID, item.image_id), (_ID, item)
    if is_archive(item.path):
        yield (_ARCHIVE, item.image_id), (_ARCHIVE, item)
    elif output_format_requested is not None:
        yield (_OUTPUT, output_name(item.image_id, output_format_requested)), (_OUTPUT, item)
    # Only a folder named like an archive can share its ids with an archive's members.
    parts = item.image_id.split("/")
    for depth in range(1, len(parts)):
        if is_archive(parts[depth - 1]):
            yield (_ARCHIVE, "/".join(parts[:depth])), (_UNDER, item)


def _order(item) -> tuple:
    return item.input_index, item.image_id, item.path


def _conflicts(grouped):
    """One claim key and its claimants -> ((input_index, path), reason) for every loser."""
    (kind, name), claimants = grouped
    by_role: dict[str, list] = {}
    for role, item in claimants:
        by_role.setdefault(role, []).append(item)
    if kind == _ID and len(by_role[_ID]) > 1:
        first, *others = sorted(by_role[_ID], key=_order)
        for other in others:
            yield _key(other), f"duplicate image id: {first.path} (an earlier --input) has the same relative path"
    elif kind == _OUTPUT and len(by_role[_OUTPUT]) > 1:
        # The input whose id is the output name keeps it; else the earlier one.
        first, *others = sorted(by_role[_OUTPUT], key=lambda f: (f.image_id != name, *_order(f)))
        for other in others:
            yield _key(other), (f"its output restored/{name} would overwrite the output of {first.path}; "
                                f"rename one of the two (or choose another --format)")
    elif kind == _ARCHIVE and _ARCHIVE in by_role and _UNDER in by_role:
        archive = min(by_role[_ARCHIVE], key=_order)
        files = sorted(by_role[_UNDER], key=_order)
        if _order(archive) < _order(files[0]):
            for item in files:
                yield _key(item), (f"image id {item.image_id} lies inside archive {archive.path} (an earlier "
                                   f"--input), whose members own the ids {name}/...")
        else:
            yield _key(archive), (f"its members would get the ids {name}/..., which files of an earlier --input "
                                  f"already use (e.g. {files[0].path})")


def _key(item) -> tuple:
    return item.input_index, item.path


def _keep_or_refuse(joined, error_record, errors_tag):
    _, grouped = joined
    reasons = sorted(grouped["reason"])
    for item in grouped["file"]:  # one, unless the same path was given twice
        if reasons:
            yield beam.pvalue.TaggedOutput(errors_tag, error_record(
                source=item.path, image_id=item.image_id, stage="list", reason="; ".join(reasons)))
        else:
            yield item


class UniqueNames(beam.PTransform):
    """InputFiles -> the InputFiles that keep their names (main output) and an error per file
    that loses one (tag ``errors_tag``): one error per file, however many names it lost."""

    def __init__(self, *, output_format_requested: str | None, is_archive, error_record, errors_tag: str):
        super().__init__()
        self._requested = output_format_requested
        self._is_archive = is_archive
        self._error_record = error_record
        self._errors_tag = errors_tag

    def expand(self, files):
        requested, is_archive = self._requested, self._is_archive
        reasons = (
            files
            | "Names claimed" >> beam.FlatMap(lambda f: _claims(f, requested, is_archive))
            | "Claimants" >> beam.GroupByKey()
            | "Conflicts" >> beam.FlatMap(_conflicts)
        )
        keyed = files | "By input and path" >> beam.Map(lambda f: (_key(f), f))
        return (
            {"file": keyed, "reason": reasons}
            | "Files and their conflicts" >> beam.CoGroupByKey()
            | "Keep or refuse" >> beam.FlatMap(_keep_or_refuse, self._error_record, self._errors_tag).with_outputs(
                self._errors_tag, main="files")
        )


class ArchiveNames:
    """The same checks among one archive's members, as they are read."""

    def __init__(self, output_format_requested: str | None):
        self._requested = output_format_requested
        self._paths: set[str] = set()
        self._outputs: dict[str, str] = {}

    def path_conflict(self, member_path: str) -> str | None:
        """Every member's path counts, a refused one's too (a later namesake is ambiguous)."""
        if member_path in self._paths:
            return "duplicate member name in the archive (an earlier member has the same path)"
        self._paths.add(member_path)
        return None

    def output_conflict(self, image_id: str) -> str | None:
        """Only members that are read claim an output name."""
        if self._requested is None:
            return None
        name = output_name(image_id, self._requested)
        other = self._outputs.setdefault(name, image_id)
        if other != image_id:
            return (f"its output restored/{name} would overwrite the output of {other}; rename one of the two "
                    f"(or choose another --format)")
        return None
