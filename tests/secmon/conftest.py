"""secmon test helpers: shared data location and the reference suricata-update runner."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def suricata_data(shared_data) -> Path:
    """``shared_data / "suricata"`` (skips with a clear message when absent)."""
    d = shared_data / "suricata"
    if not d.is_dir():
        pytest.skip(f"shared Suricata data not found at {d} (set CITYGOV_SHARED_DATA)")
    return d


@pytest.fixture(scope="session")
def suricata_update():
    """The real suricata-update (test extra), run offline over local files."""
    return run_suricata_update


def run_suricata_update(tmp: Path, paths: list[Path], policy_dir: Path | None = None) -> Path:
    """Run the real suricata-update offline over local files; returns the merged suricata.rules path."""
    pytest.importorskip("suricata.update.main", reason="suricata-update (test extra) not installed")
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "empty.rules").write_text("")
    (tmp / "update.yaml").write_text("")
    cmd = [sys.executable, "-m", "suricata.update.main", "-q", "-c", str(tmp / "update.yaml"),
           "-D", str(tmp / "data"), "-o", str(tmp / "out"), "--suricata-conf", str(tmp / "no-suricata.yaml"),
           "--url", "file://" + str(tmp / "empty.rules"), "--no-test", "--no-reload"]
    for name in ("disable", "enable", "drop", "modify"):
        f = policy_dir / f"{name}.conf" if policy_dir else tmp / "absent.conf"
        cmd += [f"--{name}-conf", str(f)]
    for p in paths:
        cmd += ["--local", str(p)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = tmp / "out" / "suricata.rules"
    assert out.exists(), proc.stderr[-2000:]
    return out
