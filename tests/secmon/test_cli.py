import json

import pytest

RULES = (
    'alert tcp $HOME_NET any -> $EXTERNAL_NET 80 (msg:"a"; flow:established; flowbits:set,x; flowbits:noalert; '
    'classtype:trojan-activity; sid:1; rev:1;)\n'
    '# alert tcp any any -> any any (msg:"b"; flowbits:isset,y; sid:2; rev:1;)\n'
    'alert tcp any any -> any any (msg:"c"; flowbits:isset,x; sid:3;)\n'
    'alert tcp $NOPE any -> any any (msg:"d"; foo:bar; pcre:"/(unclosed/"; classtype:nope; priority:x; sid:4; rev:1;)\n'
    'alert tcp any any -> any any (msg:"dup"; sid:4; rev:2;)\n'
    'alert tcp any any -> any [1:70000] (msg:"e"; sid:5; rev:1;)\n'
    'this is garbage\n'
)


@pytest.fixture
def rules_dir(tmp_path):
    d = tmp_path / "rules"
    d.mkdir()
    (d / "local.rules").write_text(RULES)
    (d / "classification.config").write_text("config classification: trojan-activity,Trojan,1\n")
    return d


def test_lint_formats_and_exit_codes(runner, rules_dir):
    r = runner.invoke(["secmon", "rules", "lint", str(rules_dir), "--format", "json"])
    assert r.exit_code == 1, r.output
    doc = json.loads(r.output)
    checks = {f["check"] for f in doc["findings"]}
    assert {"parse-error", "duplicate-sid", "missing-rev", "unknown-keyword", "undefined-var", "classtype", "pcre",
            "priority-format", "header-syntax", "flowbits"} <= checks
    dup = next(f for f in doc["findings"] if f["check"] == "duplicate-sid")
    assert dup["rule_id"] == "1:4" and "rev 2" in dup["message"] and dup["line"] == 4
    assert all({"file", "line", "sid", "rule_id", "severity", "message"} <= f.keys() for f in doc["findings"])
    sarif = json.loads(runner.invoke(["secmon", "rules", "lint", str(rules_dir), "--format", "sarif"]).output)
    assert sarif["version"] == "2.1.0" and sarif["runs"][0]["results"]
    text = runner.invoke(["secmon", "rules", "lint", str(rules_dir), "--fail-on", "never"])
    assert text.exit_code == 0 and "local.rules:7: error: [parse-error]" in text.output
    assert runner.invoke(["secmon", "rules", "lint", "/nonexistent"]).exit_code == 2


def test_build_and_diff(runner, rules_dir, tmp_path):
    pol = tmp_path / "pol"
    pol.mkdir()
    (pol / "disable.conf").write_text("5\n")
    out = tmp_path / "suricata.rules"
    r = runner.invoke(["secmon", "rules", "build", str(rules_dir), "--policy", str(pol), "--out", str(out),
                       "--format", "json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["summary"]["flowbit_enabled"] == 0 and d["summary"]["disabled_by_policy"] == 1
    text = out.read_text()
    assert "# alert tcp any any -> any [1:70000]" in text and 'msg:"dup"' in text
    new = tmp_path / "new.rules"
    new.write_text(RULES.replace('msg:"c"; flowbits:isset,x; sid:3;', 'msg:"c2"; flowbits:isset,x; sid:3;')
                   .replace("# alert tcp any any -> any any (msg:\"b\"", "alert tcp any any -> any any (msg:\"b\"")
                   + 'alert udp any any -> any any (msg:"f"; sid:6; rev:1;)\n')
    r = runner.invoke(["secmon", "rules", "diff", str(rules_dir / "local.rules"), str(new), "--format", "json"])
    d = json.loads(r.output)
    assert [a["rule_id"] for a in d["added"]] == ["1:6"]
    assert [e["rule_id"] for e in d["enabled"]] == ["1:2"]
    assert [m["rule_id"] for m in d["modified"] if not m["rev_bumped"]] == ["1:3"]
    assert runner.invoke(["secmon", "rules", "build", str(rules_dir), "--policy", "/nope", "--out", str(out)]).exit_code == 2


def test_import_and_ingest_cli(runner, rules_dir, suricata_data):
    r = runner.invoke(["secmon", "rules", "import", str(rules_dir), "--format", "json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["stats"]["rules"] == 6
    r = runner.invoke(["secmon", "ingest", str(suricata_data / "eve" / "surevego-2017-broken.eve.json"),
                       "--sensor", "edge", "--format", "json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["events"] == 263 and d["quarantined"] == 10 and d["by_event_type"]["alert"] == 68
    r = runner.invoke(["secmon", "ingest", "-", "--sensor", "edge"], input=b'{"event_type":"dns","timestamp":"2023-01-01T00:00:00+0000"}\n')
    assert r.exit_code == 0 and "1 events" in r.output
    r = runner.invoke(["secmon", "report", "top", "--by", "src_ip", "--format", "json"])
    assert r.exit_code == 0 and json.loads(r.output)
    assert runner.invoke(["secmon", "ingest", "/nonexistent", "--sensor", "x"]).exit_code == 2
    assert runner.invoke(["secmon", "ingest", str(rules_dir), "--sensor", "bad name!"]).exit_code == 2


def test_report_views_and_bad_vars(runner, rules_dir, suricata_data, tmp_path):
    bad = tmp_path / "vars.yaml"
    bad.write_text("vars: [unclosed\n")
    assert runner.invoke(["secmon", "rules", "lint", str(rules_dir), "--vars", str(bad)]).exit_code == 2
    assert runner.invoke(["secmon", "report", "coverage"]).exit_code == 2  # no rule set imported yet
    runner.invoke(["secmon", "ingest", str(suricata_data / "eve" / "d3vzer0-2017-fileinfo-stats.eve.json"),
                   "--sensor", "dc", "--no-validate"])
    runner.invoke(["secmon", "rules", "import", str(rules_dir)])
    # imported, but built for no sensor: coverage needs a version or a sensor (never "the last import")
    assert runner.invoke(["secmon", "report", "coverage"]).exit_code == 2
    assert runner.invoke(["secmon", "rules", "import", str(rules_dir), "--sensor", "dc"]).exit_code == 0
    health = json.loads(runner.invoke(["secmon", "report", "health", "--format", "json"]).output)
    assert health[0]["sensor"] == "dc" and health[0]["stats_events"] == 90
    cov = json.loads(runner.invoke(["secmon", "report", "coverage", "--format", "json"]).output)
    assert cov["enabled_rules"] == 4
    r = runner.invoke(["secmon", "report", "alerts", "--bucket", "day", "--since", "not-a-time"])
    assert r.exit_code == 2
    assert runner.invoke(["secmon", "report", "unknown-sids"]).exit_code == 0
