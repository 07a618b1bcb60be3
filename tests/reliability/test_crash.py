"""Crashes lose nothing acknowledged: SIGKILL a real ``citygov`` process in the middle of its work, restart,
and check that everything it acknowledged is there exactly once, nothing unacknowledged is half there, the
ingest resumes where it stopped, no temporary file passes for a complete one, and the audit log verifies.

Acknowledgements: ``citygov secmon ingest --progress`` prints ``committed source=… offset=…`` after each
batch's COMMIT returned; an HTTP 2xx; a command's exit status 0. Where a command does its work in one
transaction, the kill lands at a named fault-injection point (``kernel.faults``) after all of its rows are
flushed into the open transaction, just before the COMMIT: the worst moment.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
import urllib.parse


from tests.reliability.crash_support import FAULT_ENV, eve_lines, instance, write_eve  # noqa: F401

COMMITTED = re.compile(r"committed source=(\d+) offset=(\d+) events=(\d+)")


def _events(inst, source_id: int) -> list[int]:
    return [r[0] for r in inst.query("SELECT line_offset FROM secmon_event WHERE source_id = :s ORDER BY line_offset",
                                     s=source_id)]


def test_eve_file_ingest_killed_mid_way_keeps_every_acknowledged_event_and_resumes(instance, tmp_path):
    n = 60_000
    path = tmp_path / "eve.json"
    offsets = write_eve(path, eve_lines(n))
    size = path.stat().st_size
    proc = instance.popen("secmon", "ingest", str(path), "--sensor", "crash-1", "--batch-size", "2000",
                          "--progress", "--no-correlate")
    lines = instance.wait_for_line(proc, "committed", timeout=180)
    lines += instance.wait_for_line(proc, "committed", timeout=60)  # at least two acknowledged batches
    instance.kill9(proc)
    acks = [COMMITTED.search(line) for line in lines]
    acks = [(int(m[1]), int(m[2]), int(m[3])) for m in acks if m]
    source_id, acked_offset, acked_events = acks[-1]
    assert 0 < acked_offset < size, "the kill must land mid-way"
    # every acknowledged event is present exactly once; nothing beyond the durable high-water mark
    stored = _events(instance, source_id)
    assert len(stored) == len(set(stored))
    acked_lines = [o for o in offsets if o < acked_offset]
    assert stored[: len(acked_lines)] == acked_lines
    high_water, src_events = instance.query("SELECT high_water, events FROM secmon_source WHERE id = :s",
                                            s=source_id)[0]
    assert high_water >= acked_offset and src_events >= acked_events
    assert stored == [o for o in offsets if o < high_water], "events beyond the committed high-water mark"
    assert src_events == len(stored)
    # the ingest resumes from the high-water mark: no duplicates, no gaps
    res = instance.ok("secmon", "ingest", str(path), "--sensor", "crash-1", "--no-correlate", "--format", "json")
    report = json.loads(res.stdout)
    assert report["duplicates_skipped"] == len(stored)
    assert report["events"] == n - len(stored)
    assert _events(instance, source_id) == offsets
    assert instance.scalar("SELECT high_water FROM secmon_source WHERE id = :s", s=source_id) == size
    instance.audit_verify()


def _push(base: str, token: str, body: bytes, key: str, *, asynchronous: bool = False) -> int:
    u = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    headers = {"X-Sensor-Token": token, "Content-Type": "application/x-ndjson", "Idempotency-Key": key}
    if asynchronous:
        headers["Prefer"] = "respond-async"
    try:
        conn.request("POST", "/api/v1/secmon/eve?sensor=push-1", body=body, headers=headers)
        return conn.getresponse().status
    finally:
        conn.close()


def _sensor_token(inst) -> str:
    return json.loads(inst.ok("secmon", "sensor-register", "push-1", "--format", "json").stdout)["token"]


def test_eve_http_push_server_killed_keeps_every_acknowledged_push(instance):
    token = _sensor_token(instance)
    proc, base = instance.serve()
    per_push = 300
    bodies = [b"\n".join(eve_lines(per_push, seed=k)) + b"\n" for k in range(1, 200)]
    acked: list[int] = []
    started: list[int] = []
    stop = threading.Event()

    def pusher():
        for k, body in enumerate(bodies):
            if stop.is_set():
                return
            started.append(k)
            try:
                status = _push(base, token, body, f"crash-push-{k}")
            except (OSError, http.client.HTTPException):
                return
            if 200 <= status < 300:
                acked.append(k)
            else:
                raise AssertionError(f"push {k} answered {status}")

    workers = [threading.Thread(target=pusher) for _ in range(1)]
    for w in workers:
        w.start()
    deadline = time.monotonic() + 120
    while len(acked) < 8 and time.monotonic() < deadline:
        time.sleep(0.02)
    # a push half uploaded when the server dies: never acknowledged, must leave nothing behind
    u = urllib.parse.urlsplit(base)
    half = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    partial = b"\n".join(eve_lines(per_push, seed=500)) + b"\n"
    half.putrequest("POST", "/api/v1/secmon/eve?sensor=push-1")
    for h, v in {"X-Sensor-Token": token, "Content-Type": "application/x-ndjson",
                 "Idempotency-Key": "crash-push-partial", "Content-Length": str(len(partial))}.items():
        half.putheader(h, v)
    half.endheaders()
    half.send(partial[: len(partial) // 2])
    time.sleep(0.3)
    instance.kill9(proc)
    stop.set()
    for w in workers:
        w.join(timeout=60)
    half.close()
    assert len(acked) >= 8, "the server must have acknowledged pushes before the kill"
    # every acknowledged push: all of its events, exactly once; every push: all or nothing
    rows = instance.query("SELECT s.first_name, s.events, s.high_water, count(e.line_offset), "
                          "count(DISTINCT e.line_offset) FROM secmon_source s "
                          "LEFT JOIN secmon_event e ON e.source_id = s.id GROUP BY s.id, s.first_name, s.events, "
                          "s.high_water")
    assert all(r[3] == r[4] == r[1] for r in rows), rows
    stored_pushes = {r[3] for r in rows}
    assert stored_pushes <= {0, per_push}, "a push is stored whole or not at all"
    total = instance.scalar("SELECT count(*) FROM secmon_event")
    assert total >= per_push * len(acked)
    assert total <= per_push * len(started)
    assert not any(r[0].endswith("partial") for r in rows if r[3])
    # the sender retries everything it sent (acknowledged or not) after the restart: nothing doubles
    proc2, base2 = instance.serve()
    for k in started:
        assert 200 <= _push(base2, token, bodies[k], f"crash-push-{k}") < 300
    assert instance.scalar("SELECT count(*) FROM secmon_event") == per_push * len(started)
    assert instance.scalar("SELECT count(*) FROM (SELECT DISTINCT source_id, line_offset FROM secmon_event) d") \
        == per_push * len(started)
    proc2.terminate()
    proc2.wait(timeout=30)
    instance.audit_verify()


def _kill9_tree(proc) -> None:
    """SIGKILL a ``serve --workers`` supervisor and every process it started, at the same instant."""
    import psutil

    procs = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    for p in procs:
        p.kill()
    psutil.wait_procs(procs, timeout=30)
    proc.wait(timeout=30)


def test_eve_async_push_killed_while_queued_or_ingesting_keeps_every_acknowledged_push(instance):
    """``Prefer: respond-async``: a 202 means the push is stored. Kill the server (its workers and the
    background process ingesting) mid-stream: every acknowledged push is in the queue; after the restart the
    queue drains — the pushes the killed process was ingesting taken up again — and every push is there
    exactly once, whole."""
    token = _sensor_token(instance)
    env = {"CITYGOV_SECMON_PUSH_STALE_SECONDS": "2"}  # the killed worker's pushes are taken up 2 s later
    proc, base = instance.serve("--workers", "2", env=env)
    per_push = 300
    bodies = [b"\n".join(eve_lines(per_push, seed=k)) + b"\n" for k in range(1, 400)]
    acked: list[int] = []
    stop = threading.Event()

    def pusher():
        for k, body in enumerate(bodies):
            if stop.is_set():
                return
            try:
                status = _push(base, token, body, f"async-{k}", asynchronous=True)
            except (OSError, http.client.HTTPException):
                return
            if status != 202:
                raise AssertionError(f"push {k} answered {status}")
            acked.append(k)

    thread = threading.Thread(target=pusher)
    thread.start()
    deadline = time.monotonic() + 120
    # kill once pushes are both waiting and being ingested
    while time.monotonic() < deadline and not (
            len(acked) >= 20 and instance.scalar("SELECT count(*) FROM secmon_event") > 0):
        time.sleep(0.05)
    _kill9_tree(proc)
    stop.set()
    thread.join(timeout=60)
    assert len(acked) >= 20, "the server must have acknowledged pushes before the kill"
    rows = {r[0]: (r[1], r[2]) for r in instance.query("SELECT idempotency_key, state, body IS NOT NULL "
                                                        "FROM secmon_push")}
    assert {f"async-{k}" for k in acked} <= set(rows), "an acknowledged push is not stored"
    assert all(has_body for state, has_body in rows.values() if state != "done"), "a waiting push lost its body"
    assert any(state != "done" for state, _ in rows.values()), "the kill should leave pushes waiting"
    # the restarted server's background process drains the queue, the killed one's pushes included
    proc2, base2 = instance.serve("--workers", "2", env=env)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and instance.scalar(
            "SELECT count(*) FROM secmon_push WHERE state <> 'done'"):
        time.sleep(0.2)
    states = instance.query("SELECT state, count(*) FROM secmon_push GROUP BY state")
    assert states == [("done", len(rows))], states
    stored = len(rows)  # acknowledged, plus any push stored just before the kill cut off its answer
    assert instance.scalar("SELECT count(*) FROM secmon_event") == per_push * stored
    assert instance.scalar("SELECT count(*) FROM (SELECT DISTINCT source_id, line_offset FROM secmon_event) d") \
        == per_push * stored
    # the sender repeats what it sent: the same pushes answer, nothing is stored twice
    for k in acked[-3:]:
        assert _push(base2, token, bodies[k], f"async-{k}", asynchronous=True) == 202
    assert instance.scalar("SELECT count(*) FROM secmon_push") == stored
    proc2.terminate()
    proc2.wait(timeout=30)
    instance.audit_verify()


# --------------------------------------------------------------------------- one-transaction commands


def _killed_at(inst, point: str, *args: str):
    """Run ``citygov ARGS`` until it reaches the fault point ``point`` (all of its work flushed into the open
    transaction, nothing committed), SIGKILL it there."""
    proc = inst.popen(*args, env={FAULT_ENV: point})
    inst.wait_for_line(proc, f"citygov-fault-pause: {point}", timeout=300)
    inst.kill9(proc)


def _audit_count(inst, action: str) -> int:
    return inst.scalar("SELECT count(*) FROM audit_event WHERE action = :a", a=action)


def test_library_import_killed_before_commit_leaves_nothing_and_keeps_the_acknowledged_import(instance, tmp_path):
    from registry import generator

    def library(n, seed, tag):
        docs = generator.library(n, seed=seed)
        for i, d in enumerate(docs):
            d.update(state="approved", approved_on="2024-01-02", decision_ref=f"{tag}-{i}")
        path = tmp_path / f"{tag}.json"
        path.write_text(json.dumps(docs, ensure_ascii=False), encoding="utf-8")
        return path

    first = json.loads(instance.ok("projects", "import", str(library(50, 3, "ACK")), "--create-organisations",
                                   "--format", "json").stdout)
    assert first["imported"] == 50  # acknowledged: exit 0
    events_before = instance.scalar("SELECT count(*) FROM audit_event")
    big = library(1500, 5, "CRASH")
    _killed_at(instance, "registry.library_import.before_commit", "projects", "import", str(big),
               "--create-organisations")
    ids = [r[0] for r in instance.query("SELECT id FROM registry_project")]
    assert sorted(ids) == sorted(first["ids"]), "the acknowledged import is whole; nothing of the killed one"
    assert instance.scalar("SELECT count(*) FROM registry_transition") == 50
    assert instance.scalar("SELECT count(*) FROM audit_event") == events_before
    instance.audit_verify()
    again = json.loads(instance.ok("projects", "import", str(big), "--create-organisations", "--format",
                                   "json").stdout)
    assert again["imported"] == 1500
    assert instance.scalar("SELECT count(*) FROM registry_project") == 1550
    assert _audit_count(instance, "registry:library:import") == 2
    assert _audit_count(instance, "registry:project:import") == 1550
    instance.audit_verify()


def test_standards_publish_killed_before_commit_leaves_no_half_version(instance, tmp_path):
    from registry.certify import samples

    def spec(version):
        path = tmp_path / f"uds-{version}.json"
        path.write_text(json.dumps(samples.standard_spec(version)), encoding="utf-8")
        return str(path)

    instance.ok("standards", "publish", f"{samples.STANDARD_NAME}@1.0.0", spec("1.0.0"), "--kind", "openapi")
    versions = instance.query("SELECT version, state FROM standards_version")
    published_events = instance.scalar("SELECT count(*) FROM audit_event")
    _killed_at(instance, "standards.publish.before_commit", "standards", "publish",
               f"{samples.STANDARD_NAME}@1.1.0", spec("1.1.0"))
    assert instance.query("SELECT version, state FROM standards_version") == versions == [("1.0.0", "published")]
    assert instance.scalar("SELECT count(*) FROM audit_event") == published_events
    instance.audit_verify()
    instance.ok("standards", "publish", f"{samples.STANDARD_NAME}@1.1.0", spec("1.1.0"))
    assert sorted(instance.query("SELECT version, state FROM standards_version")) == [
        ("1.0.0", "published"), ("1.1.0", "published")]
    instance.audit_verify()


def test_certificate_issue_killed_before_commit_issues_nothing_and_writes_no_file(instance, tmp_path):
    from registry.certify import samples

    std = tmp_path / "uds.json"
    std.write_text(json.dumps(samples.standard_spec("1.0.0")), encoding="utf-8")
    instance.ok("standards", "publish", f"{samples.STANDARD_NAME}@1.0.0", str(std), "--kind", "openapi")
    instance.ok("org", "add", "V-CRASH", "Crash test vendor", "--kind", "vendor")
    vendor, har = tmp_path / "vendor.json", tmp_path / "traffic.har"
    vendor.write_text(json.dumps(samples.vendor_spec()), encoding="utf-8")
    har.write_text(json.dumps(samples.good_har()), encoding="utf-8")
    run = json.loads(instance.ok("certify", "--standard", f"{samples.STANDARD_NAME}@1.0.0", "--spec", str(vendor),
                                 "--har", str(har), "--vendor", "V-CRASH", "--submit", "--format", "json").stdout)
    assert run["conformant"]
    out = tmp_path / "cert.json"
    _killed_at(instance, "certify.issue.before_commit", "cert", "issue", run["id"], "--out", str(out))
    assert instance.scalar("SELECT count(*) FROM registry_certificate") == 0
    assert _audit_count(instance, "registry:certificate:issue") == 0
    assert not out.exists() and not list(tmp_path.glob(".cert.json.*"))
    instance.audit_verify()
    issued = json.loads(instance.ok("cert", "issue", run["id"], "--out", str(out), "--format", "json").stdout)
    assert instance.query("SELECT serial FROM registry_certificate") == [(issued["serial"],)]
    assert _audit_count(instance, "registry:certificate:issue") == 1
    assert json.loads(out.read_text(encoding="utf-8"))  # the file is complete JSON
    instance.audit_verify()


def test_desensitize_killed_while_writing_leaves_the_previous_output_whole(instance, tmp_path):
    import csv

    src = tmp_path / "people.csv"
    with src.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["姓名", "身份证号", "手机", "年龄"])
        for i in range(20000):
            w.writerow([f"张{i}", "11010519491231002X", f"138{i:08d}", str(20 + i % 50)])
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\ncolumns:\n  姓名: {type: drop}\n  身份证号: {type: drop}\n  手机: {type: drop}\n"
                      "  年龄: {type: generalize, method: age_band}\n", encoding="utf-8")
    out = tmp_path / "out" / "people.csv"
    instance.ok("opendata", "desensitize", str(src), "--policy", str(policy), "--out", str(out))
    previous = out.read_bytes()
    with src.open("a", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerow(["李四", "440308199901101512", "13912345678", "99"])
    proc = instance.popen("opendata", "desensitize", str(src), "--policy", str(policy), "--out", str(out),
                          env={FAULT_ENV: "opendata.desensitize.before_rename"})
    instance.wait_for_line(proc, "citygov-fault-pause", timeout=300)
    leftovers = list(out.parent.glob(".people.csv.*.tmp"))
    assert len(leftovers) == 1 and leftovers[0].stat().st_size > 0  # complete, but under its temporary name
    instance.kill9(proc)
    assert out.read_bytes() == previous, "the output is the previous complete file, not a half-written one"
    assert [p.name for p in out.parent.iterdir() if not p.name.startswith(".")] == ["people.csv"]
    instance.ok("opendata", "desensitize", str(src), "--policy", str(policy), "--out", str(out))
    assert out.read_bytes() != previous and len(out.read_text(encoding="utf-8").splitlines()) == 20002
    assert not list(out.parent.glob(".people.csv.*")), "the killed run's temporary file is cleaned up"
