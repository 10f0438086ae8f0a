"""Fixtures of the restore job's tests."""

import pytest

from tests.helpers.restore import make_model


@pytest.fixture(scope="session")
def gray_model(tmp_path_factory) -> str:
    """A tiny seeded gray DnCNN (3 layers of 8): never written to, so every test may share it."""
    return make_model(tmp_path_factory.mktemp("models") / "gray")
