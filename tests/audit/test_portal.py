"""The audit API (validated against the OpenAPI document) and the ``citygov audit`` commands."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from sqlalchemy import update

import audit
from audit import merkle, notes
from audit.models import AuditEvent
from tests.audit.conftest import SYSTEM

API = "/api/v1/audit"


@pytest.fixture
def events(db_session):
    evs = [
        audit.record(db_session, SYSTEM, "registry:project:approve", object_type="project", object_id=f"P-{i}",
                     state={"i": i}, details={"n": i}, private_details={"phone": "13800000000"} if i == 2 else None)
        for i in range(6)
    ]
    db_session.commit()
    return evs


def _sign(runner):
    result = runner.invoke(["audit", "checkpoint", "sign", "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_public_endpoints(client, runner, events):
    assert client.get(f"{API}/checkpoint").status_code in (200, 404)
    cp = _sign(runner)
    got = client.get(f"{API}/checkpoint")
    assert got.status_code == 200 and got.json["tree_size"] == cp["tree_size"]
    n, root = cp["tree_size"], base64.b64decode(cp["root_hash"])
    ev = events[2]

    proof = client.get(f"{API}/proof/inclusion", query_string={"index": ev.seq, "size": n}).json
    assert merkle.verify_inclusion(ev.seq, n, base64.b64decode(proof["leaf_hash"]),
                                   [base64.b64decode(p) for p in proof["proof"]], root)
    by_hash = client.get(f"{API}/proof/inclusion", query_string={"hash": proof["leaf_hash"]}).json
    assert by_hash["leaf_index"] == ev.seq

    cons = client.get(f"{API}/proof/consistency", query_string={"first": 2, "second": n}).json
    assert merkle.verify_consistency(2, n, base64.b64decode(cons["first_root"]), root,
                                     [base64.b64decode(p) for p in cons["proof"]])

    page = client.get(f"{API}/entries", query_string={"start": ev.seq, "end": ev.seq + 2}).json
    assert [e["index"] for e in page["entries"]] == [ev.seq, ev.seq + 1]
    assert "13800000000" not in json.dumps(page)
    assert base64.b64decode(page["entries"][0]["leaf_hash"]) == base64.b64decode(proof["leaf_hash"])


@pytest.mark.parametrize(
    ("path", "query", "status"),
    [
        ("proof/inclusion", {"index": "abc"}, 400),
        ("proof/inclusion", {"index": "-1"}, 400),
        ("proof/inclusion", {"index": "100000"}, 400),
        ("proof/inclusion", {"index": "0", "size": "999999"}, 400),
        ("proof/inclusion", {}, 400),
        ("proof/inclusion", {"index": "0", "hash": "AAAA"}, 400),
        ("proof/inclusion", {"hash": "not base64!"}, 400),
        ("proof/inclusion", {"hash": base64.b64encode(b"\x01" * 31).decode()}, 400),
        ("proof/inclusion", {"hash": "00" * 32}, 404),
        ("proof/consistency", {}, 400),
        ("proof/consistency", {"first": "0"}, 400),
        ("proof/consistency", {"first": "5", "second": "2"}, 400),
        ("proof/consistency", {"first": "1", "second": "99999999"}, 400),
        ("proof/consistency", {"first": "1e3"}, 400),
        ("entries", {"start": "x"}, 400),
        ("entries", {"start": "5", "end": "1"}, 400),
        # present but empty is neither an integer nor a hash: refused, not read as absent (found by Schemathesis)
        ("proof/inclusion", {"index": "0", "size": "", "hash": ""}, 400),
        ("proof/inclusion", {"index": "0", "size": ""}, 400),
        ("proof/consistency", {"first": "1", "second": ""}, 400),
        ("entries", {"start": ""}, 400),
    ],
)
def test_bad_input_is_a_problem_not_a_500(client, events, path, query, status):
    got = client.get(f"{API}/{path}", query_string=query)
    assert got.status_code == status, got.get_data(as_text=True)
    assert got.mimetype == "application/problem+json"


def test_browse_needs_a_commission_admin(client, auth, events):
    assert client.get(f"{API}/events").status_code == 401
    reviewer = auth.user("commission_reviewer")
    assert client.get(f"{API}/events", headers=auth.headers(reviewer)).status_code == 403
    admin = auth.user("commission_admin")
    got = client.get(f"{API}/events", query_string={"area": "registry", "object_id": "P-2"}, headers=auth.headers(admin))
    assert got.status_code == 200
    assert got.json["total"] == 1 and got.json["items"][0]["private_details"] == {"phone": "13800000000"}
    assert client.get(f"{API}/events", query_string={"since": "nope"}, headers=auth.headers(admin)).status_code == 400


def test_cli_verify_export_prove(runner, app, events, db_session, tmp_path):
    _sign(runner)
    ok = runner.invoke(["audit", "verify"])
    assert ok.exit_code == 0, ok.output
    assert ok.output.startswith("OK")

    proof = json.loads(runner.invoke(["audit", "prove", "--index", "1"]).output)
    assert proof["leaf_index"] == 1
    cons = json.loads(runner.invoke(["audit", "consistency", "--from", "1"]).output)
    assert cons["first"] == 1
    assert runner.invoke(["audit", "prove", "--index", "100000"]).exit_code == 2
    assert runner.invoke(["audit", "prove"]).exit_code == 2
    assert runner.invoke(["audit", "consistency", "--from", "0"]).exit_code == 2

    export = tmp_path / "export.json"
    assert runner.invoke(["audit", "export", "--format", "json", "-o", str(export)]).exit_code == 0
    pub = tmp_path / "audit.pub"
    pub.write_text(runner.invoke(["audit", "key", "public"]).output)
    offline = runner.invoke(["audit", "verify", "--export", str(export), "--public-key", str(pub)])
    assert offline.exit_code == 0, offline.output

    truncated = tmp_path / "truncated.json"
    truncated.write_bytes(export.read_bytes()[:-300])
    bad = runner.invoke(["audit", "verify", "--export", str(truncated), "--public-key", str(pub)])
    assert bad.exit_code == 1 and "not valid JSON" in bad.output
    assert runner.invoke(["audit", "verify", "--export", str(export)]).exit_code == 2
    nokey = tmp_path / "garbage.pub"
    nokey.write_text("not a key\n")
    assert runner.invoke(["audit", "verify", "--export", str(export), "--public-key", str(nokey)]).exit_code == 2
    stranger = tmp_path / "stranger.pub"
    stranger.write_text(notes.Signer.generate("city.example/audit").verifier.to_string() + "\n")
    unknown = runner.invoke(["audit", "verify", "--export", str(export), "--public-key", str(stranger)])
    assert unknown.exit_code == 1

    # rotate: old checkpoints still verify with the kept public keys
    rotated = runner.invoke(["audit", "key", "rotate", "--format", "json"])
    assert rotated.exit_code == 0, rotated.output
    assert runner.invoke(["audit", "verify"]).exit_code == 0

    # tamper with a row: verification fails and names it
    bad_index = events[3].seq
    db_session.execute(update(AuditEvent).where(AuditEvent.seq == bad_index).values(object_id="P-forged"))
    db_session.commit()
    failed = runner.invoke(["audit", "verify", "--format", "json"])
    assert failed.exit_code == 1
    assert json.loads(failed.output)["first_bad_index"] == bad_index
    assert Path(app.instance_path, "audit-keys", "signing.key").is_file()


def test_scheduler_job_signs_only_when_grown(app, events):
    from portal.scheduler_jobs import audit as job

    with app.app_context():
        first = job.sign_checkpoint()
        again = job.sign_checkpoint()
    assert first == again and str(len(events)) in first  # nothing new appended: same checkpoint
