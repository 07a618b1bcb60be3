"""Backup and restore: ``citygov backup`` of a running demo city (online, consistent while writers run) and
``citygov restore`` into an empty instance, on SQLite and PostgreSQL. The restored instance verifies with the
same checkpoint root and, served by ``citygov serve``, answers the same as the original."""

from __future__ import annotations

import json
import shutil
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.reliability.crash_support import (Instance, backends, create_pg_database, discard_instance,
                                             eve_lines, write_eve)

READS = ["/api/v1/projects?per_page=500&order=title", "/api/v1/projects/export?format=json", "/api/v1/projects/portfolio", "/api/v1/standards", "/api/v1/audit/checkpoint",
         "/api/v1/audit/events?limit=200", "/api/v1/audit/entries?start=0&end=50"]


@pytest.fixture(scope="module", params=backends())
def demo(request, tmp_path_factory):
    """One demo city per back-end for this module (the tests only add to it)."""
    path = tmp_path_factory.mktemp(f"demo-{request.param}") / "demo"
    url = f"sqlite:///{path / 'citygov.sqlite'}" if request.param == "sqlite" else create_pg_database()
    inst = Instance(path=path, url=url, backend=request.param)
    res = inst.ok("demo", "--instance", str(path), "--format", "json", timeout=600)
    inst.password = json.loads(res.stdout)["login"]["password"]
    inst.ok("audit", "checkpoint", "sign", "--force")
    try:
        yield inst
    finally:
        discard_instance(inst)


def _target(backend: str, path: Path) -> Instance:
    url = f"sqlite:///{path / 'citygov.sqlite'}" if backend == "sqlite" else create_pg_database()
    return Instance(path=path, url=url, backend=backend)


def _get(base: str, token: str, path: str):
    req = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode("utf-8", "replace")[:2000]


def _answers(inst: Instance, password: str) -> dict:
    proc, base = inst.serve()
    try:
        req = urllib.request.Request(base + "/api/v1/auth/token", method="POST",
                                     data=json.dumps({"username": "admin", "password": password}).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            token = json.loads(resp.read())["token"]
        return {p: _get(base, token, p) for p in READS}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_backup_then_restore_verifies_with_the_same_root_and_serves_the_same_data(demo, tmp_path):
    before_verify = demo.audit_verify()
    dest = tmp_path / "backup"
    res = demo.ok("backup", str(dest), "--format", "json")
    manifest = json.loads(res.stdout)
    assert manifest["audit_tree_size"] == before_verify["tree_size"] and manifest["audit_checkpoints"] >= 1
    names = {p["path"] for p in manifest["parts"]}
    assert manifest["database"] in names and "instance/config.py" in names
    assert any(n.startswith("instance/audit-keys/") and n.endswith(".pub") for n in names)
    assert oct(dest.stat().st_mode & 0o777) == oct(0o700)
    before = _answers(demo, demo.password)  # after the backup: the login it needs is audited after the snapshot

    target = _target(demo.backend, tmp_path / "restored")
    try:
        res = target.ok("restore", str(dest), "--format", "json")
        assert json.loads(res.stdout)["schema_up_to_date"] is True
        after_verify = target.audit_verify()
        assert after_verify["ok"] and after_verify["root_hash"] == before_verify["root_hash"]
        assert after_verify["tree_size"] == before_verify["tree_size"]
        assert after_verify["checkpoints_verified"] == before_verify["checkpoints_verified"] >= 1
        assert after_verify["latest_verified_size"] == before_verify["latest_verified_size"]
        after = _answers(target, demo.password)
        for path in READS:
            status, body = after[path]
            assert status == 200 and before[path][0] == 200, (path, before[path], status, body)
            if path.startswith("/api/v1/audit/events"):
                # after the backup point the original recorded the backup and a login, the restored one a
                # login: compare the newest 150 events of the history both share
                tail = before_verify["tree_size"]
                old = [e for e in before[path][1]["items"] if tail - 150 <= e["index"] < tail]
                new = [e for e in body["items"] if tail - 150 <= e["index"] < tail]
                assert old == new and len(old) == min(150, tail)
            elif path.startswith("/api/v1/audit/entries"):  # the same entries; the log grew by different events
                assert {**body, "tree_size": None} == {**before[path][1], "tree_size": None}
                assert len(body["entries"]) == 50
            elif path == "/api/v1/audit/checkpoint":
                assert body == before[path][1]
            else:
                assert body == before[path][1], path
        assert len(before["/api/v1/projects?per_page=500&order=title"][1]["items"]) > 100
        assert before["/api/v1/standards"][1]["items"]
        # a second restore into the now non-empty instance is refused with exit 2, nothing changed
        root = target.audit_verify()["root_hash"]
        again = target.run("restore", str(dest))
        assert again.returncode == 2 and "not empty" in again.stderr
        assert target.audit_verify()["root_hash"] == root
    finally:
        discard_instance(target)


def test_restore_refuses_a_corrupt_or_unfinished_backup_and_a_non_empty_database(demo, tmp_path):
    dest = tmp_path / "backup"
    demo.ok("backup", str(dest))
    again = demo.run("backup", str(dest))
    assert again.returncode == 2 and "not an empty folder" in again.stderr
    bad = tmp_path / "bad"
    shutil.copytree(dest, bad)
    key = next((bad / "instance" / "audit-keys").glob("*.pub"))
    key.write_text(key.read_text().replace("a", "b", 1))
    target = _target(demo.backend, tmp_path / "t1")
    try:
        res = target.run("restore", str(bad))
        assert res.returncode == 2 and "SHA-256" in res.stderr
        (bad / "manifest.json").unlink()
        res = target.run("restore", str(bad))
        assert res.returncode == 2 and "no manifest.json" in res.stderr
        assert not target.path.exists() or not any(target.path.iterdir())
        # the demo's own (non-empty) database is refused, even with an empty instance folder
        res = target.run("restore", str(dest), "--database-url", demo.url)
        assert res.returncode == 2 and "not empty" in res.stderr
    finally:
        discard_instance(target)


def test_backup_taken_while_ingest_and_audited_writes_run_is_consistent(demo, tmp_path):
    path = tmp_path / "eve.json"
    write_eve(path, eve_lines(60_000, seed=7))
    ingest = demo.popen("secmon", "ingest", str(path), "--sensor", "backup-1", "--batch-size", "1000", "--progress",
                        "--no-correlate")
    demo.wait_for_line(ingest, "committed", timeout=180)
    stop = threading.Event()
    registered = []

    def audited_writes():
        k = 0
        while not stop.is_set():
            res = demo.run("secmon", "sensor-register", f"concurrent-{k}", "--format", "json")
            assert res.returncode == 0, res.stderr
            registered.append(k)
            k += 1

    writer = threading.Thread(target=audited_writes)
    writer.start()
    try:
        dest = tmp_path / "backup"
        demo.ok("backup", str(dest))
    finally:
        stop.set()
        writer.join(timeout=120)
    still_running = ingest.poll() is None
    ingest.communicate(timeout=600)
    assert ingest.returncode == 0
    target = _target(demo.backend, tmp_path / "restored")
    try:
        target.ok("restore", str(dest))
        verify = target.audit_verify()
        assert verify["ok"]
        # the snapshot holds whole batches only: each source's events match its committed high-water mark
        rows = target.query("SELECT s.id, s.events, s.high_water, count(e.line_offset), max(e.line_offset) "
                            "FROM secmon_source s LEFT JOIN secmon_event e ON e.source_id = s.id "
                            "JOIN secmon_sensor n ON n.id = s.sensor_id WHERE n.name = 'backup-1' "
                            "GROUP BY s.id, s.events, s.high_water")
        assert rows, "the backup must hold the ingest's first committed batch"
        (_sid, events, high_water, count, last), = rows
        assert count == events and 0 < events and (last is None or last < high_water)
        if still_running:
            assert events < 60_000, "the backup was taken mid-ingest"
        # and the restored instance resumes the ingest where its snapshot stopped: no gap, no duplicate
        res = target.ok("secmon", "ingest", str(path), "--sensor", "backup-1", "--no-correlate", "--format", "json")
        rep = json.loads(res.stdout)
        assert rep["duplicates_skipped"] == events and rep["events"] == 60_000 - events
    finally:
        discard_instance(target)
