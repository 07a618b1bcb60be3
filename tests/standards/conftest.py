"""Shared helpers for standards tests: locating ../shared/data without depending on the root conftest."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.shared import shared_data_path


def shared_data_dir() -> Path | None:
    base = shared_data_path()
    return base if base.is_dir() else None


@pytest.fixture(scope="session")
def sdata() -> Path:
    base = shared_data_dir()
    if base is None:
        pytest.skip("shared data not found: set CITYGOV_SHARED_DATA or place it at ../shared/data")
    return base
