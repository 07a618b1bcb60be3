"""``citygov opendata datasets|release|harvest|dcat`` (issue 13)."""

from __future__ import annotations

import json

import yaml

from tests.opendata.test_opendata_release import META, _clean_rows, _csv


def _users(auth):
    from tests.factories import make_org

    org = make_org(auth.session, "SZ-TRANS-T")
    for name in ("od.alice", "od.bob"):
        auth.user("data_steward", username=name, org=org)


def test_cli_workflow(runner, auth, tmp_path, od_data):
    _users(auth)
    meta = tmp_path / "meta.yaml"
    meta.write_text(yaml.safe_dump(META, allow_unicode=True), encoding="utf-8")
    r = runner.invoke(["opendata", "datasets", "create", str(meta), "--as", "od.alice"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(["opendata", "datasets", "create", str(meta), "--as", "od.alice", "--format", "json"])
    assert r.exit_code == 2 and json.loads(r.output)["errors"][0]["pointer"] == "/name"
    assert runner.invoke(["opendata", "datasets", "grade", "bus-stops", "conditional", "--reason", "aggregates only",
                          "--as", "od.alice"]).exit_code == 0
    rows = _clean_rows()
    rows[0].append("手机")
    for r_ in rows[1:]:
        r_.append("无")
    rows[5][-1] = "13800138000"
    bad = _csv(tmp_path / "bad.csv", rows)
    assert runner.invoke(["opendata", "datasets", "add-file", "bus-stops", str(bad), "--file-format", "csv", "--as", "od.alice"]).exit_code == 0
    r = runner.invoke(["opendata", "release", "check", "bus-stops", "--as", "od.alice", "--format", "json"])
    assert r.exit_code == 1
    err = [e for e in json.loads(r.output)["errors"] if e.get("entity")][0]
    assert (err["column"], err["entity"], err["rows"]) == ("手机", "CN_MOBILE", [5])
    r = runner.invoke(["opendata", "datasets", "add-file", "bus-stops", str(tmp_path / "bad.csv"), "--file-format", "geojson",
                       "--as", "od.alice"])
    assert r.exit_code == 2 and "not valid JSON" in r.output
    r = runner.invoke(["opendata", "harvest", str(od_data / "ckan" / "ckanext-dcat" / "examples-dcat" / "dataset.ttl"),
                       "--as", "od.alice", "--contact-email", "a@b.cn"])
    assert r.exit_code == 2 and "not a valid ttl" in r.output
    r = runner.invoke(["opendata", "datasets", "list", "--format", "json"])
    assert [d["name"] for d in json.loads(r.output)] == ["bus-stops"]


def test_cli_access_and_dcat(runner, auth, tmp_path):
    """Apply, reject with a reason, approve, the applicant collects the key, revoke; the streamed
    DCAT-AP Turtle export parses back."""
    from rdflib import Graph

    from tests.factories import make_org

    _users(auth)
    auth.user("vendor", username="od.acme", org=make_org(auth.session, "V-ACME-C", kind="vendor"))
    meta = tmp_path / "meta.yaml"
    meta.write_text(yaml.safe_dump(dict(META, quasi_identifiers=[]), allow_unicode=True), encoding="utf-8")
    ok = [["opendata", "datasets", "create", str(meta), "--as", "od.alice"],
          ["opendata", "datasets", "grade", "bus-stops", "conditional", "--reason", "aggregates only", "--as", "od.alice"],
          ["opendata", "datasets", "add-file", "bus-stops", str(_csv(tmp_path / "ok.csv", _clean_rows())), "--file-format", "csv",
           "--as", "od.alice"],
          ["opendata", "release", "check", "bus-stops", "--as", "od.alice"],
          ["opendata", "release", "approve", "bus-stops", "--as", "od.bob"],
          ["opendata", "release", "publish", "bus-stops", "--as", "od.bob"]]
    for args in ok:
        r = runner.invoke(args)
        assert r.exit_code == 0, (args, r.output)

    def apply() -> str:
        r = runner.invoke(["opendata", "access", "apply", "bus-stops", "--purpose", "bus network planning study", "--as", "od.acme",
                           "--format", "json"])
        assert r.exit_code == 0, r.output
        return json.loads(r.output)["id"]

    first = apply()
    r = runner.invoke(["opendata", "access", "decide", first, "--reject", "--as", "od.bob"])
    assert r.exit_code == 2 and "reason" in r.output
    r = runner.invoke(["opendata", "access", "decide", first, "--reject", "--reason", "purpose too vague", "--as", "od.bob", "--format", "json"])
    assert r.exit_code == 0 and json.loads(r.output)["state"] == "rejected"
    second = apply()
    r = runner.invoke(["opendata", "access", "decide", second, "--approve", "--days", "30", "--as", "od.bob"])
    assert r.exit_code == 0 and "odk_" not in r.output and "access key" in r.output
    assert runner.invoke(["opendata", "access", "key", second, "--as", "od.bob"]).exit_code == 2  # not the applicant
    r = runner.invoke(["opendata", "access", "key", second, "--as", "od.acme", "--format", "json"])
    assert r.exit_code == 0 and json.loads(r.output)["key"].startswith("odk_")
    r = runner.invoke(["opendata", "access", "revoke", second, "--reason", "study finished", "--as", "od.bob", "--format", "json"])
    assert r.exit_code == 0 and json.loads(r.output)["state"] == "revoked"
    out = tmp_path / "catalog.ttl"
    assert runner.invoke(["opendata", "dcat", "--out", str(out)]).exit_code == 0
    g = Graph().parse(out, format="turtle")
    assert len(g) > 50
