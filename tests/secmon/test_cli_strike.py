"""`citygov secmon assets|incidents|responses|remediation|search` end to end, with exit codes."""

import json

from tests.factories import make_org, make_user
from tests.secmon.test_strike_campaigns import planted_file


def test_strike_cli_end_to_end(runner, db_session, suricata_data, tmp_path):
    org = make_org(db_session, "SZ-CLI")
    analyst = make_user(db_session, "security_analyst")
    admin = make_user(db_session, "commission_admin")
    dept = make_user(db_session, "department_submitter", org=org)
    bad = tmp_path / "bad.csv"
    bad.write_text("system,org,mlps_level,criticality,cidr\nweb,SZ-CLI,3,high,10.77.1.0/24\nx,SZ-CLI,9,high,10.78.0.0/33\n")
    r = runner.invoke(["secmon", "assets", "import", str(bad)])
    assert r.exit_code == 2 and "row 2: mlps_level" in r.output and "row 2: cidr" in r.output
    assert json.loads(runner.invoke(["secmon", "assets", "list", "--format", "json"]).output) == []
    good = tmp_path / "good.csv"
    good.write_text("system,org,mlps_level,criticality,cidr\nportal-web,SZ-CLI,3,high,10.77.1.10/32\n"
                    "dc,SZ-CLI,2,low,10.77.0.0/16\nhealth-db,SZ-CLI,2,medium,10.77.2.0/24\n"
                    "v6-service,SZ-CLI,4,critical,2001:db8:77::/48\n")
    assert runner.invoke(["secmon", "assets", "import", str(good)]).exit_code == 0
    assert runner.invoke(["secmon", "assets", "add-network", "dc", "10.77.0.0/16"]).exit_code == 2  # overlap
    assert runner.invoke(["secmon", "assets", "add-network", "dc", "10.300.0.0/16"]).exit_code == 2
    assert "portal-web" in runner.invoke(["secmon", "assets", "resolve", "10.77.1.10"]).output
    # editing: update a system (validated, nothing changed on bad input), remove a network
    up = runner.invoke(["secmon", "assets", "update-system", "dc", "--mlps", "3", "--description", "机房", "--format",
                        "json"])
    assert up.exit_code == 0 and json.loads(up.output)["mlps_level"] == 3
    assert runner.invoke(["secmon", "assets", "update-system", "dc", "--mlps", "7"]).exit_code == 2
    assert runner.invoke(["secmon", "assets", "update-system", "nope", "--mlps", "2"]).exit_code == 2
    assert runner.invoke(["secmon", "assets", "update-system", "dc"]).exit_code == 2
    assert runner.invoke(["secmon", "assets", "update-system", "dc", "--mlps", "2",
                          "--as", dept.username]).exit_code == 2  # a department cannot edit the inventory
    assert runner.invoke(["secmon", "assets", "update-system", "dc", "--mlps", "2"]).exit_code == 0
    dc = next(x for x in json.loads(runner.invoke(["secmon", "assets", "list", "--format", "json"]).output)
              if x["name"] == "dc")
    assert dc["mlps_level"] == 2 and dc["description"] == "机房"
    assert runner.invoke(["secmon", "assets", "add-network", "dc", "10.79.0.0/16"]).exit_code == 0
    assert "10.79.0.0/16 removed" in runner.invoke(["secmon", "assets", "remove-network", "10.79.0.0/16"]).output
    assert runner.invoke(["secmon", "assets", "remove-network", "10.79.0.0/16"]).exit_code == 2
    assert runner.invoke(["secmon", "assets", "remove-network", "10.79.0.0/99"]).exit_code == 2
    lines, expected = planted_file(suricata_data, tmp_path)
    eve = tmp_path / "eve.json"
    eve.write_text("\n".join(lines) + "\n")
    ing = runner.invoke(["secmon", "ingest", str(eve), "--sensor", "tpot", "--format", "json"])
    assert ing.exit_code == 0
    assert json.loads(ing.output)["correlation"]["incidents_created"] == len(expected)  # correlated on ingest
    c = json.loads(runner.invoke(["secmon", "incidents", "correlate", "--format", "json"]).output)
    assert c["incidents_created"] == 0 and c["alerts_linked"] == 0
    lst = json.loads(runner.invoke(["secmon", "incidents", "list", "--format", "json"]).output)
    sqli = next(i for i in lst["items"] if i["alert_count"] == 6)
    assert runner.invoke(["secmon", "incidents", "transition", sqli["id"], "closed"]).exit_code == 2
    assert runner.invoke(["secmon", "incidents", "transition", "nope", "triaged"]).exit_code == 2
    assert runner.invoke(["secmon", "incidents", "transition", sqli["id"], "triaged", "--as", analyst.username]).exit_code == 0
    assert "triaged" in runner.invoke(["secmon", "incidents", "show", sqli["id"]]).output
    # responses: two people
    p = runner.invoke(["secmon", "responses", "propose", "block scanner", "--incident", sqli["id"], "--block",
                       "198.51.100.66,48", "--rule", "drop:1:2200000", "--suppress", "1:2210048,by_src,10.77.0.0/16",
                       "--as", analyst.username, "--format", "json"])
    assert p.exit_code == 0, p.output
    rid = json.loads(p.output)["id"]
    assert runner.invoke(["secmon", "responses", "propose", "bad", "--block", "10.0.0.0/99",
                          "--as", analyst.username]).exit_code == 2
    assert runner.invoke(["secmon", "responses", "approve", rid, "--as", analyst.username]).exit_code == 2
    assert runner.invoke(["secmon", "responses", "approve", rid, "--as", admin.username]).exit_code == 0
    text = runner.invoke(["secmon", "responses", "export", "--kind", "text"]).output
    assert "198.51.100.66/32" in text and rid in text
    out = tmp_path / "build" / "suricata.rules"
    out.parent.mkdir()
    b = runner.invoke(["secmon", "rules", "build", str(suricata_data / "rules" / "oisf"), "--out", str(out),
                       "--format", "json"])
    assert b.exit_code == 0, b.output
    assert any("1:2200000" in line for line in json.loads(b.output)["approved_policy_lines"])
    assert "drop " in next(line for line in out.read_text().splitlines() if "sid:2200000;" in line)
    assert f"response {rid}" in (out.parent / "threshold.config").read_text()
    # remediation: the department fixes, the scheduler-equivalent verifies later
    t = json.loads(runner.invoke(["secmon", "remediation", "create", sqli["id"], "--format", "json"]).output)
    assert runner.invoke(["secmon", "remediation", "fix", t["id"], "--evidence", "patched",
                          "--as", dept.username]).exit_code == 0
    assert json.loads(runner.invoke(["secmon", "remediation", "list", "--format", "json",
                                     "--as", dept.username]).output)[0]["state"] == "fixed"
    # search
    s = json.loads(runner.invoke(["secmon", "search", "--ip", "198.51.100.0/24", "--sid", "2001219",
                                  "--format", "json"]).output)
    assert len(s["items"]) == 4
    assert runner.invoke(["secmon", "search"]).exit_code == 2
    bad_rules = tmp_path / "rules.yaml"
    bad_rules.write_text("rules: []\n")
    assert runner.invoke(["secmon", "incidents", "rules-check", str(bad_rules)]).exit_code == 2
