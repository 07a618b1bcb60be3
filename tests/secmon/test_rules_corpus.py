"""Zero lost rules on ET Open and OISF, and parity with the real suricata-update."""

import pytest

from secmon.policy_files import build, load_policy
from secmon.rules import load_ruleset, parse_file


def _ids(path):
    rf = parse_file(path)
    assert rf.errors == []
    return {r.rule_id for r in rf.rules if r.enabled}, {r.rule_id for r in rf.rules if not r.enabled}


def test_oisf_zero_lost(suricata_data):
    rs = load_ruleset([suricata_data / "rules" / "oisf"], ignore=())
    s = rs.stats()
    assert (s["files"], s["rules"], s["enabled"], s["disabled"], s["errors"]) == (32, 494, 443, 51, 0)
    assert all(f.accounted_lines == f.total_lines for f in rs.files)
    assert {r.sid for r in rs.rules if r.file.endswith("dnp3-events.rules")} >= {2270000, 2270005}


@pytest.mark.slow
def test_et_open_zero_lost(suricata_data):
    rs = load_ruleset([suricata_data / "rules" / "et-open-2024-04-21"], ignore=())
    s = rs.stats()
    assert (s["files"], s["rules"], s["enabled"], s["disabled"], s["errors"]) == (51, 34850, 24827, 10023, 0)
    assert all(f.accounted_lines == f.total_lines for f in rs.files)
    assert len({r.id for r in rs.rules}) == 34850


def test_parity_oisf(suricata_data, tmp_path, suricata_update):
    paths = [suricata_data / "rules" / "oisf"]
    enabled, disabled = _ids(suricata_update(tmp_path, paths))
    res = build(load_ruleset(paths))
    assert res.enabled_ids == enabled and res.disabled_ids == disabled


@pytest.mark.slow
def test_parity_et_open_and_oisf_default(suricata_data, tmp_path, suricata_update):
    paths = [suricata_data / "rules" / "et-open-2024-04-21", suricata_data / "rules" / "oisf"]
    out = suricata_update(tmp_path, paths)
    enabled, disabled = _ids(out)
    res = build(load_ruleset(paths))
    assert len(enabled) == 25400 and len(disabled) == 6500
    assert res.render().splitlines() == [line for line in out.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert res.enabled_ids == enabled
    assert res.disabled_ids == disabled
    assert len(res.flowbit_enabled) == 130


POLICY = {
    "disable.conf": "group:emerging-games\nre:ET POLICY\n2013028\n1:2019401 # trailing comment\ngroup:emerging-scan.rules\n",
    "enable.conf": "group:emerging-games.rules\nre:ET INFO .*Observed\n1:2200007\nmetadata: signature_severity critical\n",
    "drop.conf": "group:emerging-exploit\n",
    "modify.conf": ('2019401 "rev:\\d+;" "rev:99;"\n'
                    '"re:ET SCAN" "classtype:attempted-recon;" "classtype:misc-activity;"\n'
                    'group:emerging-dos "^# " ""\n'
                    '2013504 "(msg:\\"[^\\"]*)\\"" "${1} MODIFIED\\""\n'
                    'metadata-add group:emerging-ftp "citygov" "reviewed"\n'),
}


@pytest.mark.slow
def test_parity_with_policy(suricata_data, tmp_path, suricata_update):
    pol = tmp_path / "policy"
    pol.mkdir()
    for name, text in POLICY.items():
        (pol / name).write_text(text)
    paths = [suricata_data / "rules" / "et-open-2024-04-21", suricata_data / "rules" / "oisf"]
    out = suricata_update(tmp_path / "su", paths, pol)
    enabled, disabled = _ids(out)
    res = build(load_ruleset(paths), load_policy(pol))
    assert res.enabled_ids == enabled
    assert res.disabled_ids == disabled
    theirs = {r.rule_id: r for r in parse_file(out).rules}
    ours = res.rulemap
    drops = {r.rule_id for r in theirs.values() if r.action == "drop"}
    assert drops == {r.rule_id for r in ours.values() if r.action == "drop"} and drops
    assert {k for k, r in theirs.items() if r.rev == 99} == {r.rule_id for r in ours.values() if r.rev == 99}
    assert res.summary()["disabled_by_policy"] > 0 and res.summary()["enabled_by_policy"] > 0
    # the whole effective rule set, text and order, is what suricata-update writes
    their_lines = [line for line in out.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert res.render().splitlines() == their_lines
    assert any("MODIFIED" in line for line in their_lines) and any("citygov reviewed" in line for line in their_lines)
