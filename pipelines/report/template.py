"""The page's Jinja2 template (``template.html``, beside this module) and its
Content-Security-Policy: only the template's own scripts and styles may run."""

from __future__ import annotations

import base64
import hashlib
import importlib.resources
import re

TEMPLATE = "template.html"


def source() -> str:
    return importlib.resources.files(__package__).joinpath(TEMPLATE).read_text(encoding="utf-8")


def bodies(tag: str, text: str) -> list[str]:
    return re.findall(rf"<{tag}>(.*?)</{tag}>", text, re.S)


def content_security_policy(template: str) -> str:
    """Allows only the template's own scripts and styles (by hash, so text from the data can
    never run even if it escaped escaping) and data: images: no fetch of any kind."""

    def hashes(tag):
        return " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(b.encode()).digest()).decode()}'"
                        for b in bodies(tag, template))

    return (f"default-src 'none'; img-src data:; script-src {hashes('script')}; style-src {hashes('style')}; "
            "base-uri 'none'; form-action 'none'")
