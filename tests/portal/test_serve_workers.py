"""`citygov serve --workers N`: N processes on one port, supervised.

A real `citygov serve --workers 2` on a fresh instance: both workers take connections (the kernel spreads them
with SO_REUSEPORT), a token made through one is honoured by the other, a worker killed with SIGKILL is started
again while the other keeps answering, the background process (jobs, queued EVE pushes) runs at a lower
priority, is started again when it dies and ingests what the workers accepted, a second instance on the same
port is refused, and SIGTERM stops all.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import time

import psutil
import pytest

from tests.served import citygov_cmd, free_port, wait_healthy

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="--workers needs fork (POSIX)")

PASSWORD = "correct horse battery staple"


def _children(proc: subprocess.Popen) -> list[psutil.Process]:
    return psutil.Process(proc.pid).children()


def _workers(proc: subprocess.Popen) -> list[psutil.Process]:
    """The processes that serve requests (the background process runs at a lower priority)."""
    return [p for p in _children(proc) if p.nice() == 0]


def _background(proc: subprocess.Popen) -> list[psutil.Process]:
    return [p for p in _children(proc) if p.nice() > 0]


def _wait_for(check, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def _get(conn: http.client.HTTPConnection, path: str, headers: dict | None = None) -> tuple[int, dict]:
    conn.request("GET", path, headers=headers or {})
    resp = conn.getresponse()
    return resp.status, json.loads(resp.read() or b"{}")


def _serve(tmp_path, threads: int) -> tuple[subprocess.Popen, int, dict, object]:
    """``citygov init`` of a fresh instance, then ``citygov serve --workers 2``: (process, port, env, log path)."""
    env = {**os.environ, "CITYGOV_INSTANCE_PATH": str(tmp_path / "inst"), "CITYGOV_ADMIN_PASSWORD": PASSWORD}
    env.pop("CITYGOV_DATABASE_URL", None)
    env.pop("CITYGOV_SECRET_KEY", None)
    init = subprocess.run(citygov_cmd("init", "--format", "json"), env=env, capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)
    assert init.returncode == 0, init.stderr
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as fh:
        proc = subprocess.Popen(citygov_cmd("serve", "--port", str(port), "--workers", "2", "--threads", str(threads)),
                                env=env, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    return proc, port, env, log


def test_two_workers_share_the_port_agree_restart_and_stop(tmp_path):
    proc, port, env, log = _serve(tmp_path, threads=2)
    conns: list[http.client.HTTPConnection] = []
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc, output=log.read_text)
        workers = _wait_for(lambda: len(_workers(proc)) == 2 and _workers(proc))

        def listening(p: psutil.Process) -> bool:  # a worker listens once warmed up (portal.warmup)
            return any(c.status == psutil.CONN_LISTEN and c.laddr.port == port for c in p.net_connections("tcp"))

        _wait_for(lambda: all(listening(w) for w in workers))
        # 16 kept-alive connections: the kernel hands them to both workers (all to one: p = 2^-15)
        conns = [http.client.HTTPConnection("127.0.0.1", port, timeout=30) for _ in range(16)]
        for conn in conns:
            assert _get(conn, "/healthz")[0] == 200

        def serving(p: psutil.Process) -> int:
            return sum(1 for c in p.net_connections("tcp") if c.status == psutil.CONN_ESTABLISHED and c.laddr.port == port)

        assert all(serving(w) > 0 for w in workers), [serving(w) for w in workers]

        # a token made through one worker is honoured by every connection, whichever worker holds it
        conns[0].request("POST", "/api/v1/auth/token", body=json.dumps({"username": "admin", "password": PASSWORD}),
                         headers={"Content-Type": "application/json"})
        resp = conns[0].getresponse()
        token = json.loads(resp.read())["token"]
        assert resp.status in (200, 201)
        for conn in conns:
            status, me = _get(conn, "/api/v1/me", {"Authorization": f"Bearer {token}"})
            assert status == 200 and "commission_admin" in me["roles"]
        for conn in conns:
            conn.close()

        # a worker killed outright is started again; the other keeps answering meanwhile
        victim = workers[1]
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        again = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        assert _get(again, "/healthz")[0] == 200
        again.close()
        replaced = _wait_for(lambda: len(_workers(proc)) == 2 and victim.pid not in {w.pid for w in _workers(proc)})
        assert replaced and proc.poll() is None
        assert "starting it again" in log.read_text()

        # the background process (jobs, queued EVE pushes): one, at nice 10, listening to nothing; started again
        # when it dies, and it ingests a push accepted by a worker
        background = _wait_for(lambda: len(_background(proc)) == 1 and _background(proc))[0]
        assert background.nice() == 10 and not background.net_connections("tcp")
        background.send_signal(signal.SIGKILL)
        background.wait(10)
        _wait_for(lambda: len(_background(proc)) == 1 and _background(proc)[0].pid != background.pid)
        sensor = subprocess.run(citygov_cmd("secmon", "sensor-register", "edge-9", "--format", "json"), env=env,
                                capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        sensor_token = json.loads(sensor.stdout)["token"]
        push = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        line = (b'{"timestamp":"2023-08-18T05:38:42.437967+0000","event_type":"dns","src_ip":"10.0.0.1",'
                b'"dest_ip":"8.8.8.8","dns":{"type":"query","rrname":"a.example","rrtype":"A"}}\n')
        push.request("POST", "/api/v1/secmon/eve?sensor=edge-9", body=line * 3,
                     headers={"X-Sensor-Token": sensor_token, "Content-Type": "application/x-ndjson",
                              "Prefer": "respond-async"})
        resp = push.getresponse()
        resp.read()
        assert resp.status == 202
        location = resp.headers["Location"]

        def ingested():
            status, body = _get(push, location, {"X-Sensor-Token": sensor_token})
            return status == 200 and body["state"] == "done" and body

        assert _wait_for(ingested)["report"]["events"] == 3
        push.close()

        # the port is this instance's: a second one is refused with a clear error, not silently added
        second = subprocess.run(citygov_cmd("serve", "--port", str(port), "--workers", "2"), env=env,
                                capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        assert second.returncode == 2 and "cannot listen" in second.stderr

        pids = [w.pid for w in _children(proc)]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
        assert not any(psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE for pid in pids)
    finally:
        for conn in conns:
            conn.close()
        if proc.poll() is None:
            for w in _children(proc):
                w.kill()
            proc.kill()
            proc.wait()


def test_a_forked_worker_writes_its_log_lines(capfd):
    """citygov's log records are written by a thread, and threads do not survive a fork: a worker starts its own
    writer, so what it logs is written (not queued for ever)."""
    import logging

    from portal.observability import configure_logging

    configure_logging("text", "INFO")
    log = logging.getLogger("citygov.test_fork")
    pid = os.fork()
    if pid == 0:  # the worker
        try:
            log.warning("line from worker %d", os.getpid())
            time.sleep(0.5)
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert f"line from worker {pid}" in capfd.readouterr().err


def test_workers_stop_when_the_supervisor_is_killed(tmp_path):
    """SIGKILL to the supervisor cannot be handled: its workers notice and stop, so none is left serving."""
    proc, port, _env, log = _serve(tmp_path, threads=1)
    workers: list[psutil.Process] = []
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc, output=log.read_text)
        workers = _wait_for(lambda: len(_workers(proc)) == 2 and len(_background(proc)) == 1 and _children(proc))
        proc.kill()
        proc.wait()
        _gone, alive = psutil.wait_procs(workers, timeout=15)
        assert not alive, [w.pid for w in alive]
    finally:
        if proc.poll() is None:
            workers = workers or _children(proc)
            proc.kill()
        for w in workers:
            if w.is_running():
                w.kill()
