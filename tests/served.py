"""citygov as its users run it — a real process on loopback — for the tests that need one (browser journeys,
the reliability suite, ``citygov serve`` itself): the command line, a free port, waiting for ``/healthz``."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable


def citygov_cmd(*args: str) -> list[str]:
    """The ``citygov`` command run by this interpreter (so the checkout under test is what runs)."""
    return [sys.executable, "-c", "from portal.cli import main; main()", *args]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(base_url: str, proc: subprocess.Popen, *, timeout: float = 60.0,
                 output: Callable[[], str] = lambda: "") -> None:
    """Return once ``base_url/healthz`` answers 200; fail with the server's output if it exits or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"citygov serve exited with {proc.returncode}: {output()[-3000:]}")
        try:
            with urllib.request.urlopen(base_url + "/healthz", timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            time.sleep(0.1)
    raise AssertionError(f"citygov serve did not answer /healthz in {timeout:.0f} s: {output()[-3000:]}")
