"""The hostile-input corpus (issue 15 §2): every case of ``badinputs/manifest.yaml`` through the CLI and the
API, on SQLite and PostgreSQL. Targets: 0 crashes (no 5xx, no traceback), 0 hangs past the stated bound,
0 outbound connection attempts, 0 partial writes. See ``badinput_support.py`` for how each is asserted."""

from __future__ import annotations

import csv
import io
import json
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.reliability import badinput_support as bs
from tests.reliability.badinputs import generate

CASES = bs.cases()


def _params():
    out = []
    for case in CASES:
        for channel in ("cli", "api"):
            if channel not in case:
                continue
            marks = []
            if case.get("slow"):
                marks.append(pytest.mark.slow)
            reason = (case.get("xfail") or {}).get(channel)
            if reason:
                marks.append(pytest.mark.xfail(reason=reason, strict=False))
            out.append(pytest.param(case, channel, id=f"{case['id']}-{channel}", marks=marks))
    return out


# --------------------------------------------------------------------------- the world the corpus runs in


@dataclass
class World:
    headers: dict
    std: str


@pytest.fixture
def world(db_session, auth, client):
    from kernel import system_principal
    from opendata.catalog import dataset_create
    from secmon import services as secmon
    from tests.certify.conftest import publish_standard
    from tests.factories import make_org

    from registry import proposal

    make_org(db_session, "BAD-ORG")
    # an instance in use has published the proposal schema (done once, on first use): not the corpus's write
    proposal.ensure_published(db_session)
    db_session.commit()
    commission = auth.user("commission_admin", "commission_reviewer", org=make_org(db_session, "BAD-COMM", kind="commission"))
    od_org = make_org(db_session, "BAD-OD")
    steward = auth.user("data_steward", org=od_org, username="od-steward")
    dataset_create(db_session, auth.principal(steward),
                   {"name": "hostile-ds", "title_zh": "恶意输入", "title_en": "Hostile input", "description_zh": "测试",
                    "description_en": "test", "theme": "TRAN", "keywords": ["test"], "licence": "CC-BY-4.0",
                    "frequency": "MONTHLY", "contact_email": "od@sz.gov.cn", "quasi_identifiers": []})
    vendor = auth.user("vendor", org=make_org(db_session, "BAD-VENDOR", kind="vendor"))
    std = publish_standard(db_session)
    sensor = secmon.sensor_register(db_session, system_principal("t"), "bad-sensor")
    headers = {"commission": auth.headers(commission), "steward": auth.headers(steward),
               "vendor": auth.headers(vendor), "sensor": {"X-Sensor-Token": sensor["token"]}, "anonymous": {}}
    from flask.testing import FlaskClient

    # warm up once (the OpenAPI validator, app caches): the bound measures the input, not a cold start
    assert FlaskClient.get(client, "/api/v1/standards").status_code == 200
    return World(headers, std)


@pytest.fixture(scope="module")
def trap():
    t = bs.Trap()
    yield t
    t.close()


def _materialise(spec: dict, name: str, tmp: Path, trap_port: int) -> Path:
    if "file" in spec:
        return bs.CORPUS / spec["file"]
    target = tmp / (spec.get("name") or name)
    getattr(generate, spec["generate"])(target, trap=trap_port, **(spec.get("args") or {}))
    return target


# --------------------------------------------------------------------------- one run


@pytest.mark.parametrize("case,channel", _params())
def test_hostile_input(case, channel, world, app, client, runner, db_session, trap, tmp_path):
    inputs_dir = tmp_path / "inputs"
    inputs_dir.mkdir()
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    files = {"input": _materialise(case["input"], "input", inputs_dir, trap.port)}
    for key, spec in (case.get("extra") or {}).items():
        files[key] = _materialise(spec, key, inputs_dir, trap.port)
    env = {k: str(v) for k, v in files.items()} | {"out": str(out_dir), "std": world.std, "trap": str(trap.port)}
    expect = case[channel]
    instance = Path(app.config["INSTANCE_PATH"])

    db_session.commit()
    rows_before = bs.row_counts(db_session)
    files_before = bs.files_under(instance, out_dir)
    hits_before = trap.hits
    rss_before = bs.peak_rss_mb()
    bound = float(case["bound_s"])

    started = time.perf_counter()
    with bs.NetGuard.watching() as attempts:
        with bs.deadline(bound + bs.GRACE_S):
            if channel == "cli":
                outcome = _run_cli(runner, bs.substitute(expect["args"], env))
            else:
                outcome = _run_api(client, expect, env, files, world.headers)
    seconds = time.perf_counter() - started
    time.sleep(0.05)  # let the trap's accept loop count a connection made at the very end

    _record(case, channel, db_session, outcome, seconds, attempts, trap.hits - hits_before)
    # 0 crashes
    assert outcome.crashed is None, f"{case['id']} via {channel} crashed: {outcome.crashed}"
    # 0 hangs
    assert seconds <= bound, f"{case['id']} via {channel} took {seconds:.1f} s (bound {bound} s)"
    # 0 network
    assert list(attempts) == [], f"outbound connection attempts: {attempts}"
    assert trap.hits == hits_before, "a remote reference was fetched (the loopback trap was contacted)"
    # bounded memory
    growth = bs.peak_rss_mb() - rss_before
    assert growth <= case["max_rss_growth_mb"], f"peak RSS grew by {growth:.0f} MiB"
    # the stated outcome
    fragment = (expect.get("message") or "").lower()
    if channel == "cli":
        assert outcome.code == expect["exit"], f"exit {outcome.code}, expected {expect['exit']}:\n{outcome.text[-2000:]}"
    else:
        assert outcome.code == expect["status"], f"HTTP {outcome.code}, expected {expect['status']}:\n{outcome.text[:2000]}"
        if outcome.code >= 400:
            assert outcome.content_type.startswith("application/problem+json"), outcome.content_type
            assert outcome.problem and outcome.problem.get("status") == outcome.code
    assert fragment in outcome.text.lower(), f"{fragment!r} not in:\n{outcome.text[:2000]}"

    # 0 partial writes (committing the test's own session releases its savepoint; it discards nothing)
    db_session.commit()
    deltas = bs.count_deltas(rows_before, bs.row_counts(db_session))
    allowed = dict(expect["writes"] if "writes" in expect else case.get("writes") or {})
    free = set(case.get("writes_may_touch") or [])
    per_row = case.get("per_row") if channel == "cli" or "per_row_api" not in case else case["per_row_api"]
    if case["module"] == "secmon" and per_row is not None:
        _check_ingest_report(outcome, per_row, deltas, channel)
        free |= {"secmon_event", "secmon_alert", "secmon_quarantine", "secmon_ingest_run", "secmon_source",
                 "secmon_ingest_batch", "secmon_flow", "audit_event", "secmon_sensor"}
    unexpected = {t: d for t, d in deltas.items() if t not in free and allowed.get(t) != d}
    missing = {t: d for t, d in allowed.items() if deltas.get(t) != d}
    if (channel == "cli" and expect["exit"] == 2) or (channel == "api" and outcome.code >= 400):
        assert deltas == {}, f"a refused input wrote rows: {deltas}"
        assert bs.files_under(instance, out_dir) == files_before, "a refused input left files behind"
    else:
        assert not unexpected and not missing, f"row changes {deltas}, allowed {allowed} + any of {sorted(free)}"
    after = case.get("after")
    if after:
        globals()[f"_after_{after}"](client, runner, world, tmp_path)


def _record(case, channel, db_session, outcome, seconds, attempts, trap_hits) -> None:
    """With CITYGOV_BADINPUT_REPORT=FILE, one JSON line per run (the README's figures come from it)."""
    import os

    target = os.environ.get("CITYGOV_BADINPUT_REPORT")
    if not target:
        return
    line = {"case": case["id"], "module": case["module"], "channel": channel, "slow": bool(case.get("slow")),
            "backend": db_session.get_bind().dialect.name, "seconds": round(seconds, 3), "code": outcome.code,
            "crashed": outcome.crashed is not None, "bound_s": case["bound_s"],
            "connection_attempts": len(attempts) + trap_hits}
    with open(target, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(line) + "\n")


# --------------------------------------------------------------------------- feeding


def _run_cli(runner, args) -> bs.Outcome:
    t = time.perf_counter()
    res = runner.invoke(args, catch_exceptions=True)
    out = bs.Outcome("cli", time.perf_counter() - t, code=res.exit_code,
                     text=(res.output or "") + (getattr(res, "stderr", "") if res.stderr_bytes is not None else ""))
    exc = res.exception
    if exc is not None and not isinstance(exc, SystemExit):
        import traceback

        out.crashed = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))[-3000:]
    elif "Traceback (most recent call last)" in out.text:
        out.crashed = out.text[-3000:]
    return out


def _run_api(client, expect, env, files, identities) -> bs.Outcome:
    method, path = expect["op"].split(" ", 1)
    path = bs.substitute(path, env)
    headers = dict(identities[expect["as"]])
    body = expect["body"]
    if "raw" in body:
        fh = files[body["raw"]].open("rb")
        headers["Content-Type"] = body["content_type"]
        headers["Content-Length"] = str(files[body["raw"]].stat().st_size)
        kwargs = {"input_stream": fh}
    else:
        raw = {k: p.read_bytes() for k, p in files.items() if _mentions(body["json"], f"@{k}")}
        data = bs.json_with_raw(bs.substitute(body["json"], env), raw)
        headers["Content-Type"] = "application/json"
        kwargs = {"data": data}
        fh = None
    t = time.perf_counter()
    try:
        resp = client.open(path, method=method, headers=headers, **kwargs)
    finally:
        if fh:
            fh.close()
    out = bs.Outcome("api", time.perf_counter() - t, code=resp.status_code, content_type=resp.content_type or "")
    out.text = resp.get_data(as_text=True)[:200000]
    if out.content_type.startswith("application/problem+json"):
        out.problem = json.loads(out.text)
    if resp.status_code >= 500:
        out.crashed = f"HTTP {resp.status_code}: {out.text[:3000]}"
    return out


def _mentions(template, needle: str) -> bool:
    return needle in json.dumps(template)


def _check_ingest_report(outcome, per_row: dict, deltas: dict, channel: str) -> None:
    """An EVE ingest keeps the good lines and quarantines each bad one: the report says so line by line."""
    if channel == "api" and outcome.code >= 400:
        return
    text = outcome.text
    if channel == "api":
        rep = json.loads(text)
    else:
        rep = None
    for key, want in per_row.items():
        if rep is not None:
            assert rep.get(key) == want, f"{key}: {rep.get(key)} != {want} in {rep}"
        else:
            label = key.replace("_", "-")
            assert f"{want} {label}" in text, f"'{want} {label}' not in {text[:500]}"


# --------------------------------------------------------------------------- after-checks


_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def _after_export_neutralised(client, runner, world, tmp_path):
    """Formula-looking titles are stored as text and neutralised in every export format."""
    out = tmp_path / "export.csv"
    res = runner.invoke(["projects", "export", "-o", str(out)])
    assert res.exit_code == 0, res.output
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    titles = [r[rows[0].index("title")] for r in rows[1:]]
    assert titles, "nothing exported"
    assert not [t for t in titles if t.startswith(_DANGEROUS)], titles
    assert any(t.startswith("'=cmd|") for t in titles), titles
    xlsx = tmp_path / "export.xlsx"
    assert runner.invoke(["projects", "export", "-o", str(xlsx)]).exit_code == 0
    from openpyxl import load_workbook

    ws = load_workbook(xlsx, read_only=True).active
    cells = [c for row in ws.iter_rows(min_row=2) for c in row]
    assert not [c.value for c in cells if c.data_type == "f"], "a formula cell in the XLSX export"
    assert not [c.value for c in cells if isinstance(c.value, str) and c.value.startswith(_DANGEROUS)]
    r = client.get("/api/v1/projects/export?format=csv", headers=world.headers["commission"])
    assert r.status_code == 200
    api_rows = list(csv.reader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    assert not [c for row in api_rows[1:] for c in row if c.startswith(_DANGEROUS)]


def _after_title_roundtrip(client, runner, world, tmp_path):
    r = client.get("/api/v1/projects?q=国标编码项目", headers=world.headers["commission"])
    assert r.status_code == 200 and any(p["title"] == "国标编码项目" for p in r.json["items"]), r.json


# --------------------------------------------------------------------------- the checks themselves can fail


def test_manifest_is_complete():
    """Every case states its module, both channels with their expected outcome, and a time bound; every
    module of issue 15 §2 is covered; generators named exist."""
    by_module: dict[str, int] = {}
    for case in CASES:
        assert {"id", "module", "what", "input", "cli", "api", "bound_s"} <= set(case), case.get("id")
        assert "exit" in case["cli"] and "args" in case["cli"] and "message" in case["cli"], case["id"]
        assert {"op", "as", "body", "status", "message"} <= set(case["api"]), case["id"]
        for spec in [case["input"], *(case.get("extra") or {}).values()]:
            assert ("file" in spec and (bs.CORPUS / spec["file"]).is_file()) or hasattr(generate, spec.get("generate", "")), spec
        if case.get("slow"):
            assert case["bound_s"] <= 30, case["id"]
        by_module[case["module"]] = by_module.get(case["module"], 0) + 1
    assert set(by_module) == {"standards", "registry", "secmon", "opendata", "certify"}
    assert len({c["id"] for c in CASES}) == len(CASES)


def test_network_guard_counts_and_refuses(trap):
    import socket

    with bs.NetGuard.watching() as attempts:
        with socket.socket() as s, pytest.raises(OSError):
            s.connect(("192.0.2.1", 80))  # TEST-NET-1: refused before any packet leaves
        with pytest.raises(OSError):
            socket.getaddrinfo("example.invalid", 80)
        before = trap.hits
        socket.create_connection(("127.0.0.1", trap.port), timeout=2).close()  # loopback: allowed, seen by the trap
    time.sleep(0.3)
    assert [a[0] for a in attempts] == ["socket.connect", "socket.getaddrinfo"]
    assert trap.hits == before + 1


def test_deadline_interrupts_a_hang():
    started = time.perf_counter()
    with pytest.raises(bs.Hang):
        with bs.deadline(0.3):
            while True:
                pass
    assert time.perf_counter() - started < 2


def test_row_counts_see_a_write(db_session):
    from tests.factories import make_org

    before = bs.row_counts(db_session)
    make_org(db_session, "COUNTED-ORG")
    db_session.commit()
    deltas = bs.count_deltas(before, bs.row_counts(db_session))
    assert deltas.get("portal_organisation") == 1 and "audit_event" in deltas, deltas
