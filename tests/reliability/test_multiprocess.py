"""Several server processes agree: a change made through one `citygov serve` is seen by another at once.

Two real `citygov serve` processes (waitress) share one database (a SQLite file, and a fresh PostgreSQL
database when CITYGOV_TEST_DATABASE_URL is set) and one instance folder, as two workers of one deployment
do. Each scenario writes through server A and reads through server B immediately, with no wait and no
retry: anything either process keeps in memory (the duplicate-detection index, compiled standards, token
checks, permissions) must be shared through the database or invalidated by it.
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from tests.served import citygov_cmd, free_port, wait_healthy

PG_ENV = "CITYGOV_TEST_DATABASE_URL"
PASSWORD = "correct horse battery staple"


class Server:
    def __init__(self, env: dict[str, str], log: Path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        with log.open("w") as fh:
            self.proc = subprocess.Popen(citygov_cmd("serve", "--port", str(self.port), "--threads", "4"), env=env,
                                         stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def wait_ready(self) -> None:
        wait_healthy(self.base, self.proc, output=self.log.read_text)

    def call(self, method: str, path: str, body=None, *, token: str | None = None,
             content_type: str = "application/json") -> tuple[int, dict]:
        data = None
        headers = {}
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            headers["Content-Type"] = content_type
        if token:
            headers["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return resp.status, json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as err:
            raw = err.read()
            return err.code, json.loads(raw) if raw[:1] == b"{" else {"raw": raw.decode(errors="replace")}

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _postgres_database():
    base = make_url(os.environ[PG_ENV])
    name = f"{base.database}_citygov_mp_{os.getpid()}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def drop():
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    return base.set(database=name).render_as_string(hide_password=False), drop


@pytest.fixture(params=[
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql",
                 marks=pytest.mark.skipif(not os.environ.get(PG_ENV), reason=f"PostgreSQL tests need {PG_ENV}")),
])
def two_servers(request, tmp_path):
    """Servers A and B on one freshly initialised database, and an admin token."""
    drop = None
    if request.param == "postgresql":
        url, drop = _postgres_database()
    else:
        url = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    env = {**os.environ, "CITYGOV_INSTANCE_PATH": str(tmp_path / "inst"), "CITYGOV_DATABASE_URL": url,
           "CITYGOV_ADMIN_PASSWORD": PASSWORD, "CITYGOV_LOG_LEVEL": "WARNING"}
    env.pop("CITYGOV_SECRET_KEY", None)
    init = subprocess.run(citygov_cmd("init", "--format", "json"), env=env, capture_output=True, text=True, check=False,
                          timeout=300, stdin=subprocess.DEVNULL)
    assert init.returncode == 0, init.stderr
    servers = [Server(env, tmp_path / "a.log"), Server(env, tmp_path / "b.log")]
    try:
        for s in servers:
            s.wait_ready()
        a, b = servers
        status, body = a.call("POST", "/api/v1/auth/token", {"username": "admin", "password": PASSWORD})
        assert status == 201, body
        yield a, b, body["token"]
    finally:
        for s in servers:
            s.stop()
        if drop is not None:
            drop()


def test_revoking_a_token_on_one_server_locks_it_out_of_the_other_at_once(two_servers):
    a, b, admin = two_servers
    status, tok = a.call("POST", "/api/v1/tokens", {"name": "second", "days": 1}, token=admin)
    assert status == 201, tok
    assert b.call("GET", "/api/v1/me", token=tok["token"])[0] == 200  # B has seen and used the token
    assert a.call("DELETE", f"/api/v1/tokens/{tok['id']}", token=admin)[0] == 200
    status, body = b.call("GET", "/api/v1/me", token=tok["token"])
    assert status == 401, body
    assert b.call("GET", "/api/v1/me", token=admin)[0] == 200  # and only that token


def test_a_standard_published_or_retired_on_one_server_is_served_by_the_other_at_once(two_servers):
    a, b, admin = two_servers
    assert a.call("POST", "/api/v1/standards", {"name": "mp.person", "kind": "jsonschema",
                                                 "compatibility": "BACKWARD"}, token=admin)[0] == 201
    v1 = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
          "properties": {"name": {"type": "string"}}, "required": ["name"]}
    status, body = a.call("PUT", "/api/v1/standards/mp.person/versions/1.0.0",
                          {"content": json.dumps(v1), "filename": "person.json"}, token=admin)
    assert status == 201, body
    # B compiles and caches 1.0.0 …
    status, rep = b.call("POST", "/api/v1/standards/mp.person/versions/1.0.0/validate", {"name": 5}, token=admin)
    assert status == 200 and rep["valid"] is False, rep
    # … A publishes 1.1.0 (an optional field more) and B serves it at once
    v2 = dict(v1, properties={"name": {"type": "string"}, "age": {"type": "integer"}})
    status, body = a.call("PUT", "/api/v1/standards/mp.person/versions/1.1.0",
                          {"content": json.dumps(v2), "filename": "person.json"}, token=admin)
    assert status == 201, body
    status, std = b.call("GET", "/api/v1/standards/mp.person")
    assert status == 200 and "1.1.0" in json.dumps(std), std
    status, rep = b.call("POST", "/api/v1/standards/mp.person/versions/1.1.0/validate",
                         {"name": "x", "age": "old"}, token=admin)
    assert status == 200 and rep["valid"] is False, rep
    # A retires 1.0.0: B refuses to validate against it at once, although it has it compiled
    status, body = a.call("POST", "/api/v1/standards/mp.person/versions/1.0.0/retire", token=admin)
    assert status == 200, body
    status, body = b.call("POST", "/api/v1/standards/mp.person/versions/1.0.0/validate", {"name": "x"}, token=admin)
    assert status == 409, body


def _proposal(title: str) -> dict:
    from registry import generator

    doc = next(iter(generator.iter_library(1, seed=4242)))
    doc["organisation"] = "MP-DEPT"
    doc["title"] = title
    return doc


def test_a_project_changed_on_one_server_is_seen_and_ranked_by_the_other_at_once(two_servers):
    a, b, admin = two_servers
    assert a.call("POST", "/api/v1/organisations", {"code": "MP-DEPT", "name": "测试局", "kind": "department"},
                  token=admin)[0] == 201
    status, body = a.call("POST", "/api/v1/users", {"username": "mp.dept", "display_name": "dept", "password": PASSWORD,
                                                     "org": "MP-DEPT", "roles": ["department_submitter"]}, token=admin)
    assert status == 201, body
    status, dept = a.call("POST", "/api/v1/auth/token", {"username": "mp.dept", "password": PASSWORD})
    assert status == 201, dept
    dept = dept["token"]
    first = _proposal("多进程一致性测试平台建设项目")
    status, p1 = a.call("POST", "/api/v1/projects?submit=1", first, token=dept)
    assert status == 201, p1
    # B loads its duplicate index (p1 in it) …
    status, sim = b.call("POST", "/api/v1/projects/similar?top=5", first, token=admin)
    assert status == 200 and [m["id"] for m in sim["items"]][:1] == [p1["id"]], sim
    # … A adds a near-copy: B ranks it at once
    status, p2 = a.call("POST", "/api/v1/projects?submit=1", dict(first, title="多进程一致性测试平台建设项目（二期）"),
                        token=dept)
    assert status == 201, p2
    status, sim = b.call("POST", "/api/v1/projects/similar?top=5", first, token=admin)
    assert status == 200 and {p1["id"], p2["id"]} <= {m["id"] for m in sim["items"]}, sim
    # A edits a draft: B's detail, search and optimistic-locking revision follow at once
    status, draft = a.call("POST", "/api/v1/projects", _proposal("多进程草稿甲"), token=dept)
    assert status == 201, draft
    assert b.call("GET", f"/api/v1/projects/{draft['id']}", token=dept)[1]["title"] == "多进程草稿甲"
    status, body = a.call("PUT", f"/api/v1/projects/{draft['id']}?revision={draft['revision']}",
                          {"title": "多进程草稿乙"}, token=dept)
    assert status == 200, body
    status, got = b.call("GET", f"/api/v1/projects/{draft['id']}", token=dept)
    assert status == 200 and got["title"] == "多进程草稿乙" and got["revision"] == draft["revision"] + 1, got
    status, listed = b.call("GET", "/api/v1/projects?q=" + urllib.request.quote("多进程草稿"), token=dept)
    assert status == 200 and [(p["id"], p["title"]) for p in listed["items"]] == [(draft["id"], "多进程草稿乙")], listed
    # a stale revision is refused by B, which has not served the edit itself
    status, body = b.call("PUT", f"/api/v1/projects/{draft['id']}?revision={draft['revision']}",
                          {"title": "过期修改"}, token=dept)
    assert status == 409, body
