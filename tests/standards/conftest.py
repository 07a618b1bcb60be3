"""Shared helpers for standards tests: locating ../shared/data without depending on the root conftest."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def shared_data_dir() -> Path | None:
    env = os.environ.get("CITYGOV_SHARED_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parents[2] / ".." / "shared" / "data")
    for c in candidates:
        if c.is_dir():
            return c.resolve()
    return None


@pytest.fixture(scope="session")
def sdata() -> Path:
    base = shared_data_dir()
    if base is None:
        pytest.skip("shared data not found: set CITYGOV_SHARED_DATA or place it at ../shared/data")
    return base
