"""Fixtures for opendata tests. Uses the suite-wide ``shared_data`` fixture when tests/conftest.py
provides it; otherwise locates the shared data itself (CITYGOV_SHARED_DATA or ../shared/data)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.shared import shared_data_path


def _locate() -> Path | None:
    base = shared_data_path()
    return base if base.is_dir() else None


@pytest.fixture(scope="session")
def od_data(request) -> Path:
    """Path to the shared data directory (skips when absent)."""
    try:
        return request.getfixturevalue("shared_data")
    except pytest.FixtureLookupError:
        p = _locate()
        if p is None:
            pytest.skip("shared data not found: set CITYGOV_SHARED_DATA or provide ../shared/data")
        return p


@pytest.fixture(scope="session")
def pii_dir(od_data) -> Path:
    p = Path(od_data) / "pii"
    if not p.is_dir():
        pytest.skip(f"{p} absent")
    return p


@pytest.fixture(scope="session")
def kanon_dir(od_data) -> Path:
    p = Path(od_data) / "k-anonymity"
    if not p.is_dir():
        pytest.skip(f"{p} absent")
    return p


@pytest.fixture(scope="session")
def area_codes(pii_dir):
    from opendata.validators import AreaCodes

    return AreaCodes.load(pii_dir / "cn" / "stdnum_cn_loc.dat")
