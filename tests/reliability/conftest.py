"""A real served instance for reliability tests.

``served_instance`` (session scope, one per database back-end: SQLite, and PostgreSQL when
``CITYGOV_TEST_DATABASE_URL`` is set) runs the real command-line code paths in their own processes:
``citygov demo`` seeds the demo city (organisations, users of every role, projects, standards, security
events, datasets, certificates …), ``citygov serve`` (waitress, with its background-job worker) serves it on a free loopback port, and each role's
user logs in through ``POST /api/v1/auth/token`` for a bearer token.
The fixture yields a :class:`ServedInstance`: ``base_url``, ``tokens`` (role → bearer secret, no entry
for ``anonymous``), ``users`` (role → user name), ``password`` (every demo user's), ``database_url``
``instance`` (the folder) and ``server_output()`` (the end of the server's log).
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import PG_ENV, _backends, _fresh_postgres_url
from tests.served import citygov_cmd, free_port, wait_healthy

# role → demo user (portal/demo.py USERS; ``admin`` is created by ``citygov init``)
ROLE_USERS = {
    "commission_admin": "admin",
    "reviewer": "reviewer",
    "expert": "expert.wang",
    "submitter_psb": "psb.submitter",
    "submitter_health": "health.submitter",
    "vendor": "vendor.pengcheng",
    "security_analyst": "soc.analyst",
    "data_steward": "data.steward",
}
ROLES = [*ROLE_USERS, "anonymous"]


@dataclass
class ServedInstance:
    base_url: str
    instance: Path
    database_url: str
    password: str
    backend: str
    tokens: dict[str, str] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=lambda: dict(ROLE_USERS))
    log: Path | None = None

    def server_output(self, tail: int = 5000) -> str:
        """The end of the server's log (tracebacks of server errors land here)."""
        return self.log.read_text(encoding="utf-8", errors="replace")[-tail:] if self.log and self.log.exists() else ""

    @property
    def api_url(self) -> str:
        return self.base_url + "/api/v1"

    def headers(self, role: str) -> dict[str, str]:
        """Authorization headers of ``role`` (none for ``anonymous``)."""
        return {} if role == "anonymous" else {"Authorization": f"Bearer {self.tokens[role]}"}


def _run(env: dict[str, str], *args: str, timeout: int = 600) -> str:
    done = subprocess.run(citygov_cmd(*args), env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise RuntimeError(f"citygov {' '.join(args)} failed ({done.returncode}): {done.stderr[-3000:]}")
    return done.stdout


def _wait_until_up(served: ServedInstance, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    wait_healthy(served.base_url, proc, timeout=timeout, output=served.server_output)


def _drop_database(url: str) -> None:
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    target = make_url(url)
    admin = sa.create_engine(make_url(os.environ[PG_ENV]), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)')
    finally:
        admin.dispose()


def _login(served: ServedInstance, username: str) -> str:
    body = json.dumps({"username": username, "password": served.password, "token_name": "reliability"}).encode()
    req = urllib.request.Request(served.api_url + "/auth/token", data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.load(resp)["token"]


@pytest.fixture(scope="session", params=_backends())
def served_instance(request, tmp_path_factory):
    backend = request.param
    instance = tmp_path_factory.mktemp(f"served-{backend}") / "instance"
    database_url = f"sqlite:///{instance / 'citygov.sqlite'}" if backend == "sqlite" else _fresh_postgres_url()
    env = {**os.environ, "CITYGOV_INSTANCE_PATH": str(instance), "CITYGOV_DATABASE_URL": database_url,
           "CITYGOV_LOG_LEVEL": "INFO", "PYTHONPATH": os.pathsep.join([str(Path.cwd()), os.environ.get("PYTHONPATH", "")])}
    for key in ("CITYGOV_SECRET_KEY", "CITYGOV_ENV"):
        env.pop(key, None)
    summary = json.loads(_run(env, "demo", "--format", "json"))
    served = ServedInstance(base_url="", instance=instance, database_url=database_url,
                            password=summary["login"]["password"], backend=backend)
    port = free_port()
    served.base_url = f"http://127.0.0.1:{port}"
    # outside pytest's rotated temporary folders, so a failure can still be read after the run
    served.log = Path(tempfile.gettempdir()) / f"citygov-reliability-serve-{backend}-{os.getpid()}.log"
    log = served.log.open("w", encoding="utf-8")
    proc = subprocess.Popen(citygov_cmd("serve", "--port", str(port), "--threads", "4"), env=env, text=True,
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        _wait_until_up(served, proc)
        for role, username in ROLE_USERS.items():  # each role logs in through the API like a client would
            served.tokens[role] = _login(served, username)
        yield served
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        log.close()
        if backend == "postgresql":
            _drop_database(database_url)


__all__ = ["PG_ENV", "ROLES", "ROLE_USERS", "ServedInstance", "served_instance"]


def pytest_terminal_summary(terminalreporter):
    from tests.reliability.schemathesis_stats import STATS

    if STATS.examples:
        terminalreporter.write_line(STATS.summary())
