"""Where the shared test data lives: ``CITYGOV_SHARED_DATA``, else ``../shared/data`` beside the project."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def shared_data_path() -> Path:
    return Path(os.environ.get("CITYGOV_SHARED_DATA") or PROJECT_ROOT / ".." / "shared" / "data").resolve()
