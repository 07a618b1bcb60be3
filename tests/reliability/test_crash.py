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

import pytest

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


def _push(base: str, token: str, body: bytes, key: str) -> int:
    u = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    try:
        conn.request("POST", "/api/v1/secmon/eve?sensor=push-1", body=body,
                     headers={"X-Sensor-Token": token, "Content-Type": "application/x-ndjson",
                              "Idempotency-Key": key})
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
