from pathlib import Path

import pytest

from secmon.rules import RuleSyntaxError, load_ruleset, parse_rule_text, parse_text, parse_classification, parse_threshold_config


def accounted(rf):
    assert rf.accounted_lines == rf.total_lines, (rf.accounted_lines, rf.total_lines)


@pytest.mark.parametrize("action", ["alert", "drop", "pass", "reject", "rejectsrc", "rejectdst", "rejectboth",
                                    "accept:hook"])
def test_all_actions(action):
    r = parse_rule_text(f'{action} tcp any any -> any 80 (msg:"x"; sid:1; rev:1;)')
    assert r.action == action and r.sid == 1 and r.gid == 1 and r.enabled


def test_gid_and_header_fields():
    r = parse_rule_text('alert tcp [10.0.0.0/8,!10.1.0.0/16] any -> $HOME_NET [80,443] (msg:"a"; gid:3; sid:9; rev:2;)')
    assert (r.gid, r.sid, r.rev) == (3, 9, 2)
    assert r.src == "[10.0.0.0/8,!10.1.0.0/16]" and r.dport == "[80,443]" and r.direction == "->"
    assert r.rule_id == "3:9"


def test_tab_between_action_and_header_is_kept():
    r = parse_rule_text('alert\ttcp any any -> any any (msg:"t"; sid:5; rev:1;)')
    assert r.sid == 5 and r.proto == "tcp"


def test_msg_escaped_quote_and_metadata_multidict():
    r = parse_rule_text(r'alert tcp any any -> any any (msg:"say \"q\""; metadata:a 1, b 2; metadata:a 3; sid:2; rev:1;)')
    assert r.msg == 'say "q"'
    assert r.metadata == [("a", "1"), ("b", "2"), ("a", "3")]


@pytest.mark.parametrize("text,reason", [
    ('alert tcp any any -> any any (msg:"x"; sid:1', "parenthes"),
    ('alert tcp any any -> any any (msg:"x; sid:1; rev:1)', "';'"),
    ('alert tcp any any -> any any (msg:"x";; sid:1;)', "option"),
    ('alert tcp any any -> any any (msg:"x"; sid:abc;)', "sid"),
    ('alert tcp any any -> any any (msg:"x"; rev:1;)', "missing sid"),
    ('alert tcp any any any any (msg:"x"; sid:1;)', "header"),
    ('bogus tcp any any -> any any (msg:"x"; sid:1;)', "action"),
])
def test_bad_rules_raise_with_reason(text, reason):
    with pytest.raises(RuleSyntaxError) as exc:
        parse_rule_text(text)
    assert reason in str(exc.value)


def test_every_line_is_rule_comment_or_error():
    text = (
        "# a comment\n"
        "\n"
        'alert tcp any any -> any any (msg:"one"; sid:1; rev:1;)\r\n'
        '# alert tcp any any -> any any (msg:"disabled"; sid:2; rev:1;)\n'
        '## alert tcp any any -> any any (msg:"disabled2"; sid:3; rev:1;)\n'
        "# alert if STARTTLS was not followed by TLS\n"
        'alert dnp3 any any -> any any (msg:"multi"; \\\n'
        "    app-layer-event:dnp3.flooded; \\\n"
        "    sid:4; rev:1;)\n"
        'alert tcp any any -> any any (msg:"trailing"; sid:5; rev:1;) # comment\n'
        "garbage line here\n"
        'alert tcp any any -> any any (msg:"unbalanced; sid:6; rev:1;)\n'
        'rejectboth tcp any any -> any any (msg:"rb"; sid:7; rev:1;)\n'
    )
    rf = parse_text(text, "t.rules")
    assert [r.sid for r in rf.rules] == [1, 2, 3, 4, 7]
    assert [r.enabled for r in rf.rules] == [True, False, False, True, True]
    assert rf.rules[3].line == 7 and rf.rules[3].end_line == 9
    assert [e.line for e in rf.errors] == [10, 11, 12]
    assert all(e.file == "t.rules" and e.reason for e in rf.errors)
    assert rf.comment_lines == 2 and rf.blank_lines == 1
    accounted(rf)


def test_binary_garbage_and_invalid_utf8(tmp_path):
    p = tmp_path / "bin.rules"
    p.write_bytes(b"\x00\x01\x02garbage\xff\xfe\n")
    rs = load_ruleset([p])
    assert rs.files[0].rules == [] and len(rs.errors) == 1
    p2 = tmp_path / "utf.rules"
    p2.write_bytes(b'alert tcp any any -> any any (msg:"caf\xe9"; sid:1; rev:1;)\n\xff\xfe junk\n')
    rs2 = load_ruleset([p2])
    assert len(rs2.rules) == 1 and "\ufffd" in rs2.rules[0].msg
    assert len(rs2.errors) == 1 and rs2.errors[0].line == 2


def test_classification_and_threshold():
    cls, errs = parse_classification("config classification: trojan-activity,A Network Trojan was detected, 1\n"
                                     "config classification: broken\n")
    assert cls["trojan-activity"].priority == 1 and len(errs) == 1 and errs[0].line == 2
    th, errs = parse_threshold_config("threshold gen_id 1, sig_id 2000, type limit, track by_src, count 1, seconds 60\n"
                                      "suppress gen_id 1, sig_id 2001, track by_src, ip 10.0.0.1\n"
                                      "nonsense\n")
    assert [(t["kind"], t["sid"]) for t in th] == [("threshold", 2000), ("suppress", 2001)]
    assert errs[0].line == 3


def test_load_ruleset_tree_and_ignore(tmp_path):
    (tmp_path / "a.rules").write_text('alert tcp any any -> any any (msg:"a"; sid:1; rev:1;)\n')
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "emerging-deleted.rules").write_text('# alert tcp any any -> any any (msg:"d"; sid:2; rev:1;)\n')
    (tmp_path / "classification.config").write_text("config classification: x,X,2\n")
    (tmp_path / "threshold.config").write_text("suppress gen_id 1, sig_id 1, track by_src, ip 1.2.3.4\n")
    rs = load_ruleset([tmp_path])
    assert [r.sid for r in rs.rules] == [1]
    assert len(rs.ignored_files) == 1 and "x" in rs.classifications and len(rs.thresholds) == 1
    assert len(load_ruleset([tmp_path], ignore=()).rules) == 2


def test_oversized_line_is_reported_without_loading(tmp_path, monkeypatch):
    from secmon import rules as rules_mod

    monkeypatch.setattr(rules_mod, "MAX_RULE_LINE", 200)
    p = tmp_path / "big.rules"
    p.write_bytes(b'alert tcp any any -> any any (msg:"a"; sid:1; rev:1;)\r\n'
                  + b'alert tcp any any -> any any (msg:"' + b"x" * 5000 + b'"; sid:2; rev:1;)\r\n'
                  + b'alert tcp any any -> any any (msg:"c"; sid:3; rev:1;)\r\n')
    rf = rules_mod.parse_file(p)
    assert [r.sid for r in rf.rules] == [1, 3]
    assert [(e.line, "longer than" in e.reason) for e in rf.errors] == [(2, True)]
    assert rf.accounted_lines == rf.total_lines == 3
    import hashlib

    assert rf.sha256 == hashlib.sha256(p.read_bytes()).hexdigest()
