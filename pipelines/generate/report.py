"""OUT/report.html of a generate output: one self-contained page (images inlined) with the
settings, the counts and a sheet of the first samples by index."""

from __future__ import annotations

import base64
import html

from apache_beam.io.filesystems import FileSystems

from pipelines.generate import state as states
from pipelines.runtime import files

REPORT_FILE = "report.html"
SHEET_SIZE = 64  # samples shown; the rest are in generated/
STYLE = ("body{font-family:sans-serif;margin:2em}img{width:128px;image-rendering:pixelated;margin:2px}"
         "figure{display:inline-block;margin:4px;text-align:center;font-size:12px}")


def page(state: dict, output: str, errors: int) -> str:
    settings = state["settings"]
    figures = []
    for name, entry in list(state["images"].items())[:SHEET_SIZE]:
        with FileSystems.open(states.image_path(output, entry["index"])) as f:
            data = base64.b64encode(f.read()).decode()
        figures.append(f'<figure><img alt="{html.escape(name)}" src="data:image/png;base64,{data}">'
                       f"<figcaption>{entry['index']}</figcaption></figure>")
    facts = "".join(f"<li>{html.escape(str(k))}: {html.escape(str(v))}</li>" for k, v in settings.items())
    return (f"<!doctype html><html><head><meta charset=utf-8><title>restoreflow generate</title>"
            f"<style>{STYLE}</style></head><body><h1>Generated images</h1><ul>{facts}"
            f"<li>images: {len(state['images'])} (the first {min(SHEET_SIZE, len(state['images']))} below)</li>"
            f"<li>errors: {errors}</li></ul>{''.join(figures)}</body></html>\n")


def write(state: dict, output: str, errors: int) -> str:
    path = FileSystems.join(output, REPORT_FILE)
    files.write_atomically(path, page(state, output, errors).encode(), root=output)
    return path
