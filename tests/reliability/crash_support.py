"""Real instances in real processes for the crash and backup tests.

``instance`` (fixture, parametrized sqlite / postgresql): a fresh instance folder initialised by
``citygov init`` in a subprocess, on its own SQLite file or on a fresh PostgreSQL database created on the
server named by ``CITYGOV_TEST_DATABASE_URL`` (dropped afterwards). ``Instance.run`` / ``popen`` start the
``citygov`` CLI against it, ``serve`` starts ``citygov serve`` on a free loopback port, ``query`` reads its
database directly.

Import the fixtures into a test module with ``from tests.reliability.crash_support import instance``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from tests.served import citygov_cmd, free_port, wait_healthy

PG_ENV = "CITYGOV_TEST_DATABASE_URL"
PASSWORD = "correct horse battery staple"
FAULT_ENV = "CITYGOV_FAULT_PAUSE"


def backends() -> list:
    return [pytest.param("sqlite", id="sqlite"),
            pytest.param("postgresql", id="postgresql",
                         marks=pytest.mark.skipif(not os.environ.get(PG_ENV), reason=f"PostgreSQL tests need {PG_ENV}"))]


def create_pg_database() -> str:
    base = make_url(os.environ[PG_ENV])
    name = f"{base.database}_rel_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def drop_pg_database(url: str) -> None:
    base = make_url(os.environ[PG_ENV])
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
    finally:
        admin.dispose()


@dataclass
class Instance:
    path: Path
    url: str
    backend: str
    procs: list = field(default_factory=list)
    _engine: sa.Engine | None = None

    @property
    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CITYGOV_") or k == "CITYGOV_SHARED_DATA"}
        env.update({"CITYGOV_INSTANCE_PATH": str(self.path), "CITYGOV_DATABASE_URL": self.url,
                    "CITYGOV_ADMIN_PASSWORD": PASSWORD, "CITYGOV_LOG_LEVEL": "WARNING",
                    "PYTHONPATH": os.environ.get("PYTHONPATH", str(Path(__file__).resolve().parents[2]))})
        return env

    def run(self, *args: str, timeout: float = 300, env: dict | None = None, input: str | None = None):
        return subprocess.run(citygov_cmd(*args), env={**self.env, **(env or {})}, capture_output=True, text=True,
                              timeout=timeout, input=input, stdin=None if input is not None else subprocess.DEVNULL)

    def ok(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        res = self.run(*args, **kwargs)
        assert res.returncode == 0, f"citygov {' '.join(args)} exited {res.returncode}: {res.stderr[-3000:]}"
        return res

    def popen(self, *args: str, env: dict | None = None) -> subprocess.Popen:
        proc = subprocess.Popen(citygov_cmd(*args), env={**self.env, **(env or {})}, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
        self.procs.append(proc)
        return proc

    def wait_for_line(self, proc: subprocess.Popen, needle: str, *, timeout: float = 120) -> list[str]:
        """Read ``proc``'s stderr until a line containing ``needle``; returns the lines read."""
        lines = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                raise AssertionError(f"process ended before {needle!r}: {''.join(lines)[-2000:]}"
                                     f"{proc.stdout.read()[-1000:]}")
            lines.append(line)
            if needle in line:
                return lines
        raise AssertionError(f"{needle!r} not seen in {timeout} s")

    def serve(self, *args: str, env: dict | None = None) -> tuple[subprocess.Popen, str]:
        port = free_port()
        log = (self.path.parent / f"serve-{self.path.name}-{port}.log").open("wb")  # beside, not in, the instance
        proc = subprocess.Popen(citygov_cmd("serve", "--port", str(port), "--threads", "4", *args),
                                env={**self.env, **(env or {})},
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.procs.append(proc)
        base = f"http://127.0.0.1:{port}"
        wait_healthy(base, proc, timeout=30)
        return proc, base

    @staticmethod
    def kill9(proc: subprocess.Popen) -> None:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL

    def engine(self) -> sa.Engine:
        if self._engine is None:
            self._engine = sa.create_engine(self.url)
        return self._engine

    def query(self, sql: str, **params) -> list[tuple]:
        with self.engine().connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(sql), params)]

    def scalar(self, sql: str, **params):
        return self.query(sql, **params)[0][0]

    def audit_verify(self) -> dict:
        res = self.run("audit", "verify", "--format", "json")
        assert res.returncode == 0, f"audit verify failed: {res.stdout[-3000:]} {res.stderr[-2000:]}"
        return json.loads(res.stdout)

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
            for stream in (proc.stdout, proc.stderr):
                if stream:
                    stream.close()
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def make_instance(backend: str, path: Path) -> Instance:
    url = f"sqlite:///{path / 'citygov.sqlite'}" if backend == "sqlite" else create_pg_database()
    inst = Instance(path=path, url=url, backend=backend)
    path.mkdir(parents=True, exist_ok=True)
    inst.ok("init", timeout=300)
    return inst


def discard_instance(inst: Instance) -> None:
    inst.close()
    if inst.backend == "postgresql":
        drop_pg_database(inst.url)


@pytest.fixture(params=backends())
def instance(request, tmp_path):
    inst = make_instance(request.param, tmp_path / "instance")
    try:
        yield inst
    finally:
        discard_instance(inst)


# --------------------------------------------------------------------------- data


def eve_lines(n: int, *, seed: int = 0) -> list[bytes]:
    """``n`` distinct EVE alert lines (each names its own number in ``pcap_cnt``), timestamps one second apart."""
    out = []
    for i in range(n):
        sec = seed * 100000 + i
        ts = f"2026-11-{1 + (sec // 86400) % 28:02d}T{(sec // 3600) % 24:02d}:{(sec // 60) % 60:02d}:{sec % 60:02d}.000000+0000"
        ev = {"timestamp": ts, "flow_id": 10_000_000 + sec, "pcap_cnt": sec, "event_type": "alert",
              "src_ip": f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}", "src_port": 1024 + i % 60000,
              "dest_ip": "192.0.2.10", "dest_port": 443, "proto": "TCP",
              "alert": {"action": "allowed", "gid": 1, "signature_id": 2100000 + i % 50, "rev": 1,
                        "signature": f"TEST crash signature {i % 50}", "category": "Misc activity", "severity": 3}}
        out.append(json.dumps(ev, separators=(",", ":")).encode())
    return out


def write_eve(path: Path, lines: list[bytes]) -> list[int]:
    """Write the lines; returns each line's start offset."""
    offsets, pos = [], 0
    with path.open("wb") as fh:
        for line in lines:
            offsets.append(pos)
            fh.write(line + b"\n")
            pos += len(line) + 1
    return offsets
