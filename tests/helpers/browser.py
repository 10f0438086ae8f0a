"""Headless Chromium driven over the DevTools protocol (on a pipe: no port, no network), for
the report's checks at a given viewport. ``--window-size`` cannot go below 500 px wide, so
a phone's 390 px viewport needs the protocol's device-metrics override.

    with Chromium() as browser:
        browser.open(path, width=390, height=844, mobile=True)
        value = browser.evaluate("document.title")
        browser.screenshot(png_path)
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import subprocess
import time
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
         "--disable-component-update", "--disable-sync", "--remote-debugging-pipe"]


def chromium_or_fail() -> str:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install the Debian package chromium (the README's set-up does)",
                    pytrace=False)
    return CHROMIUM


class Chromium:
    def __init__(self, profile: Path, timeout_s: float = 60.0):
        self._profile, self._timeout_s = profile, timeout_s
        self._next_id, self._session, self._buffer = 0, None, b""

    def __enter__(self):
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def wire():  # the protocol pipe: the browser reads fd 3 and writes fd 4
            reads, writes = (fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_browser_r, from_browser_w))
            os.dup2(reads, 3)  # inheritable; every other descriptor of ours is not (PEP 446)
            os.dup2(writes, 4)

        self._process = subprocess.Popen(
            [chromium_or_fail(), *FLAGS, f"--user-data-dir={self._profile}", "about:blank"],
            close_fds=False, preexec_fn=wire, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        target = self._call("Target.createTarget", url="about:blank")["targetId"]
        self._session = self._call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self._call("Page.enable")
        return self

    def __exit__(self, *exc):
        try:
            self._session = None
            self._call("Browser.close")
        except (OSError, RuntimeError, TimeoutError):
            pass
        self._process.wait(timeout=30)
        os.close(self._to_browser)
        os.close(self._from_browser)

    def _send(self, method: str, params: dict) -> int:
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if self._session:
            message["sessionId"] = self._session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        return self._next_id

    def _receive(self, until) -> dict:
        """Reads messages until ``until(message)`` holds; returns that message."""
        deadline = time.monotonic() + self._timeout_s
        while time.monotonic() < deadline:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                message = json.loads(raw)
                if until(message):
                    return message
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the protocol pipe")
            self._buffer += chunk
        raise TimeoutError("no answer from chromium")

    def _call(self, method: str, **params) -> dict:
        number = self._send(method, params)
        answer = self._receive(lambda m: m.get("id") == number)
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer.get("result", {})

    def open(self, path: Path, *, width: int, height: int, mobile: bool = False) -> None:
        """Loads ``path`` in a viewport of ``width`` x ``height`` CSS pixels; returns after its load event."""
        self._call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                   mobile=mobile)
        self._send("Page.navigate", {"url": Path(path).as_uri()})
        self._receive(lambda m: m.get("method") == "Page.loadEventFired")

    def evaluate(self, expression: str):
        result = self._call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path: Path, *, full_page: bool = True) -> None:
        shot = self._call("Page.captureScreenshot", format="png", captureBeyondViewport=full_page)
        Path(path).write_bytes(base64.b64decode(shot["data"]))
