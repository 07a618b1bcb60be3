"""The CLI path to a certificate, as the API has it: ``citygov certify … --vendor ORG --submit`` stores the run
and prints its id → ``citygov cert issue`` (or the auto-approval policy) → a certificate file that
``citygov cert verify`` accepts — offline, with only the file and the public key, in a process that has no
instance and no secret key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from registry.certify import engine, samples
from tests.certify.conftest import publish_standard
from tests.factories import make_org

ROOT = Path(__file__).resolve().parents[2]
CITYGOV = [sys.executable, "-c", "from portal.cli import main; main()"]


def _files(tmp_path, spec=None):
    s = tmp_path / "vendor.json"
    s.write_text(json.dumps(spec or samples.vendor_spec()))
    h = tmp_path / "traffic.har"
    h.write_text(json.dumps(samples.good_har()))
    return str(s), str(h)


def _bare_env(tmp_path) -> dict[str, str]:
    """An environment with no instance and no secret key (and no database)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYGOV_")}
    env["PYTHONPATH"] = str(ROOT)
    env["HOME"] = str(tmp_path / "home")
    env["CITYGOV_INSTANCE_PATH"] = str(tmp_path / "no-instance")
    return env


def test_cli_submit_issue_and_verify_offline(runner, db_session, tmp_path):
    ref = publish_standard(db_session)
    make_org(db_session, "V-SUB", kind="vendor")
    spec, har = _files(tmp_path)
    res = runner.invoke(["certify", "--standard", ref, "--spec", spec, "--har", har, "--vendor", "V-SUB",
                         "--submit", "--system", "Pengcheng data service", "--format", "json"])
    assert res.exit_code == 0, res.output
    run = json.loads(res.output)
    assert run["conformant"] and run["vendor"] == "V-SUB" and run["vendor_org_id"]
    assert run["auto_approval"]["certificate"] is None  # no policy: the commission decides
    out = tmp_path / "cert.json"
    res = runner.invoke(["cert", "issue", run["id"], "--out", str(out), "--format", "json"])
    assert res.exit_code == 0, res.output
    serial = json.loads(res.output)["serial"]
    keys = tmp_path / "keys.json"
    keys.write_text(runner.invoke(["keys", "public", "--format", "json"]).output)
    res = runner.invoke(["cert", "verify", str(out), "--public-key", str(keys), "--format", "json"])
    assert res.exit_code == 0 and json.loads(res.output)["serial"] == serial
    # offline, in a bare process: no CITYGOV_SECRET_KEY, no instance folder is created
    env = _bare_env(tmp_path)
    proc = subprocess.run([*CITYGOV, "cert", "verify", str(out), "--offline",
                           "--public-key", str(keys), "--format", "json"], env=env, capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    result = json.loads(proc.stdout)
    assert result["valid"] and result["checks"]["signature"] == "ok" and result["checks"]["revocation"] == "unchecked"
    assert not (tmp_path / "no-instance").exists()
    assert "SECRET_KEY" not in proc.stderr
    # a tampered file fails offline too
    bad = tmp_path / "bad.json"
    bad.write_text(out.read_text().replace('"serial":"', '"serial":"X', 1))
    proc = subprocess.run([*CITYGOV, "cert", "verify", str(bad), "--offline",
                           "--public-key", str(keys)], env=env, capture_output=True, text=True, timeout=120,
                          cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr + proc.stdout
    # offline without a key is a usage error, still without an instance
    proc = subprocess.run([*CITYGOV, "cert", "verify", str(out), "--offline"], env=env,
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 2 and "--public-key" in proc.stderr
    assert not (tmp_path / "no-instance").exists()


def test_cli_submit_with_auto_approval_writes_the_certificate(runner, db_session, tmp_path):
    ref = publish_standard(db_session)
    make_org(db_session, "V-AUTO", kind="vendor")
    spec, har = _files(tmp_path)
    assert runner.invoke(["cert", "policy", "set", samples.STANDARD_NAME, "--enable", "--min-coverage", "0.5",
                          "--no-require-traffic"]).exit_code == 0
    out = tmp_path / "auto.json"
    res = runner.invoke(["certify", "--standard", ref, "--spec", spec, "--har", har, "--vendor", "V-AUTO",
                         "--submit", "--cert-out", str(out)])
    assert res.exit_code == 0, res.output
    assert "auto-approved: certificate CGC-" in res.output
    keys = tmp_path / "keys.json"
    keys.write_text(runner.invoke(["keys", "public", "--format", "json"]).output)
    res = runner.invoke(["cert", "verify", str(out), "--offline", "--public-key", str(keys)])
    assert res.exit_code == 0, res.output


def test_cli_submit_usage_errors(runner, db_session, tmp_path):
    ref = publish_standard(db_session)
    spec, har = _files(tmp_path)
    assert runner.invoke(["certify", "--standard", ref, "--spec", spec, "--submit"]).exit_code == 2
    assert runner.invoke(["certify", "--standard", ref, "--spec", spec, "--vendor", "X"]).exit_code == 2
    res = runner.invoke(["certify", "--standard", ref, "--spec", spec, "--vendor", "NO-SUCH-ORG", "--submit"])
    assert res.exit_code == 2 and "NO-SUCH-ORG" in res.output
    res = runner.invoke(["certify", "--standard", spec, "--spec", spec, "--vendor", "X", "--submit"])
    assert res.exit_code == 2
    res = runner.invoke(["certify", "--standard", ref, "--spec", spec, "--probe-header", "no-colon"])
    assert res.exit_code == 2 and "NAME: VALUE" in res.output


def test_audit_verify_export_needs_no_instance(runner, db_session, tmp_path):
    ref = publish_standard(db_session)  # audited events
    assert ref
    assert runner.invoke(["audit", "checkpoint", "sign"]).exit_code == 0
    export = tmp_path / "export.json"
    res = runner.invoke(["audit", "export", "-o", str(export)])
    assert res.exit_code == 0, res.output
    keys = tmp_path / "keys.pub"
    keys.write_text("\n".join(runner.invoke(["keys", "public"]).output.split()) + "\n")
    env = _bare_env(tmp_path)
    proc = subprocess.run([*CITYGOV, "audit", "verify", "--export", str(export),
                           "--public-key", str(keys)], env=env, capture_output=True, text=True, timeout=120,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert not (tmp_path / "no-instance").exists() and "SECRET_KEY" not in proc.stderr


def test_certification_passes_a_vendor_whose_only_difference_is_a_parameter_name():
    """oasdiff's TestBreaking_PathParamRename, in certification: {datasetId} → {id} is not a difference."""
    std = samples.standard_spec()
    vendor = json.loads(json.dumps(std).replace("{datasetId}", "{id}").replace('"name": "datasetId"',
                                                                                '"name": "id"'))
    assert "/datasets/{id}" in vendor["paths"]
    report = engine.run_certification(engine.Standard("uds@1.0.0", std, "x"), json.dumps(vendor).encode(),
                                      vendor_filename="vendor.json")
    checks = {c["id"]: c["status"] for c in report["checks"]}
    assert checks["conformance"] == "passed" and report["conformant"], report["findings"]
    assert report["summary"]["implemented"] == 3 and report["extra_operations"] == []
    # while a real difference on the renamed parameter still fails
    vendor["paths"]["/datasets/{id}"]["get"]["parameters"][0]["schema"] = {"type": "integer"}
    report = engine.run_certification(engine.Standard("uds@1.0.0", std, "x"), json.dumps(vendor).encode(),
                                      vendor_filename="vendor.json")
    assert not report["conformant"]
    assert {f["rule"] for f in report["findings"] if f["check"] == "conformance"} == {"request-parameter-type-changed"}
