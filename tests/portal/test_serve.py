"""End to end: `citygov init` then `citygov serve` (waitress) in a real process, spoken to over HTTP."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _citygov(*args, env):
    exe = Path(sys.executable).with_name("citygov")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-c", "from portal.cli import main; main()"]
    return cmd + list(args)


def test_init_then_serve_answers_health_login_and_problems(tmp_path):
    env = {**os.environ, "CITYGOV_INSTANCE_PATH": str(tmp_path / "inst"), "CITYGOV_ADMIN_PASSWORD": "correct horse battery staple"}
    env.pop("CITYGOV_DATABASE_URL", None)
    env.pop("CITYGOV_SECRET_KEY", None)
    init = subprocess.run(_citygov("init", "--format", "json", env=env), env=env, capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)
    assert init.returncode == 0, init.stderr
    port = _free_port()
    proc = subprocess.Popen(_citygov("serve", "--port", str(port), env=env), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2) as resp:
                    assert json.load(resp)["status"] == "ok"
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        else:
            raise AssertionError("server did not come up")
        req = urllib.request.Request(base + "/api/v1/auth/token", method="POST",
                                     data=json.dumps({"username": "admin", "password": "correct horse battery staple"}).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            token = json.load(resp)["token"]
        me = urllib.request.Request(base + "/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(me, timeout=10) as resp:
            assert "commission_admin" in json.load(resp)["roles"]
        try:
            urllib.request.urlopen(base + "/api/v1/users", timeout=10)
        except urllib.error.HTTPError as err:
            assert err.code == 401 and err.headers["Content-Type"] == "application/problem+json"
        else:
            raise AssertionError("unauthenticated call was not refused")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
