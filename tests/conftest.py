"""Shared fixtures; the helpers they use are in tests/helpers/."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers.images import photo, write_image

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session", autouse=True)
def openvino_cache(tmp_path_factory) -> Path:
    """OpenVINO's conversions (model.ov_cache) go to a folder of this test session, never the
    user's ~/.cache; the session's tests (and their subprocesses) share it, as one machine's
    runs share the real one."""
    cache = tmp_path_factory.mktemp("xdg-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(cache))
        yield cache


@pytest.fixture
def gray_folder(tmp_path) -> Path:
    """Four small gray photographs in a folder (one in a subfolder)."""
    folder = tmp_path / "clean"
    for i, name in enumerate(("camera", "moon", "coins", "text")):
        sub = "nested/" if i == 3 else ""
        write_image(folder / f"{sub}{name}.png", photo(name, (56 + 8 * i, 72)))
    return folder
