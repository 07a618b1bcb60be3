"""Policy matchers and order (suricata-update semantics), lint checks, diff."""

from secmon.lint import check_pcre, format_sarif, lint_ruleset
from secmon.policy_files import (GroupMatcher, IdMatcher, Policy, build, parse_matcher, parse_matchers_text,
                                 parse_modify_text)
from secmon.rules import RuleSet, parse_text
from secmon.ruleset_diff import diff_rulesets


def rs(text, name="/x/emerging-test.rules"):
    return RuleSet(files=[parse_text(text, name)])


BASE = (
    'alert http any any -> any any (msg:"ET POLICY a"; metadata:signature_severity Major; sid:1; rev:1;)\n'
    '# alert http any any -> any any (msg:"ET INFO b"; sid:2; rev:1;)\n'
    'alert tcp any any -> any any (msg:"ET SCAN c"; flowbits:isset,fb; sid:3; rev:1;)\n'
    '# alert tcp any any -> any any (msg:"setter"; flowbits:set,fb; flowbits:noalert; sid:4; rev:1;)\n'
    'alert tcp any any -> any any (msg:"old"; sid:5; rev:1;)\n'
    'alert tcp any any -> any any (msg:"new"; sid:5; rev:3;)\n'
    'alert tcp any any -> any any (msg:"first"; gid:3; sid:5; rev:2;)\n'
    'alert tcp any any -> any any (msg:"second same rev"; gid:3; sid:5; rev:2;)\n'
)


def test_matcher_parsing():
    assert isinstance(parse_matcher("1:2,3"), IdMatcher)
    assert parse_matcher("1:2:3").ids == [(1, 2, 3)]
    assert isinstance(parse_matcher("emerging-scan.rules"), GroupMatcher)
    assert parse_matcher("re:[unclosed") is None
    ms, errs = parse_matchers_text("# c\n\n2 # trailing\nbogus thing\n")
    assert len(ms) == 1 and errs[0].line == 4
    mods, errs = parse_modify_text('1 "a" "b"\nmodifysid 2 "x" | "y"\nmetadata-add 3 k v\nonly two\n')
    assert len(mods) == 3 and len(errs) == 1


def test_duplicates_enable_wins_flowbits_drop_modify():
    pol = Policy(disable=[parse_matcher("re:ET INFO"), parse_matcher("1")],
                 enable=[parse_matcher("2"), parse_matcher("1")],
                 drop=[parse_matcher("group:emerging-test"), ],
                 modify=parse_modify_text('3 "ET SCAN (\\w)" "ET SCANNED ${1}"\n1 "rev:1;" "rev:9;"\n')[0])
    res = build(rs(BASE), pol)
    m = res.rulemap
    assert m[(1, 5)].msg == "new" and m[(3, 5)].msg == "first" and len(res.duplicates) == 2
    assert m[(1, 2)].enabled and m[(1, 1)].enabled  # enable wins over disable
    assert m[(1, 1)].rev == 9 and m[(1, 3)].msg == "ET SCANNED c"
    assert all(r.action == "drop" for k, r in m.items() if k != (1, 4))
    assert m[(1, 4)].enabled and m[(1, 4)].noalert and [r.sid for r in res.flowbit_enabled] == [4]
    assert m[(1, 4)].action == "alert"  # drop skips noalert rules
    assert "noalert;" in m[(1, 4)].format()


def test_lint_checks_and_vars_file(tmp_path):
    text = ('alert tcp $HOME_NET any -> $CUSTOM_NET $WEB_PORTS (msg:"x"; metadata:created_at; sid:1; rev:1;)\n'
            'alert foo any any -> any any (msg:"y"; sid:2; rev:1;)\n'
            'alert tcp any any <- any any (msg:"z"; sid:3; rev:1;)\n'
            'alert tcp 999.1.1.1/99x any -> any any (msg:"w"; sid:4; rev:1;)\n')
    f = lint_ruleset(rs(text))
    by = {(x.sid, x.check) for x in f}
    assert {(1, "undefined-var"), (1, "metadata-format"), (2, "header-protocol"), (3, "header-direction"),
            (4, "header-syntax")} <= by
    v = tmp_path / "vars.yaml"
    v.write_text("vars:\n  address-groups:\n    HOME_NET: any\n    CUSTOM_NET: any\n  port-groups:\n    WEB_PORTS: 80\n")
    assert not any(x.check == "undefined-var" for x in lint_ruleset(rs(text), vars_file=v))
    assert check_pcre('"/abc/i"') is None and "compile" in check_pcre('"/(abc/"')[1] and "modifier" in check_pcre('"/a/!"')[1]
    sarif = format_sarif(f)
    assert '"ruleId": "header-protocol"' in sarif


def test_diff():
    old = rs(BASE)
    new = rs(BASE.replace('msg:"ET SCAN c"', 'msg:"ET SCAN c2"').replace("# alert http any any -> any any (msg:\"ET INFO b\"",
                                                                         "alert http any any -> any any (msg:\"ET INFO b\"")
             .replace('msg:"old"; sid:5; rev:1;', 'msg:"old"; sid:6; rev:1;'))
    d = diff_rulesets(old, new)
    assert [a["rule_id"] for a in d["added"]] == ["1:6"]
    assert [e["rule_id"] for e in d["enabled"]] == ["1:2"]
    assert [(m["rule_id"], m["rev_bumped"]) for m in d["modified"]] == [("1:3", False)]
    assert d["summary"]["modified_without_rev_bump"] == 1


def test_lint_oisf_and_threshold(suricata_data, tmp_path):
    from secmon.rules import load_ruleset

    import shutil

    d = tmp_path / "oisf"
    shutil.copytree(suricata_data / "rules" / "oisf", d)
    (d / "threshold.config").write_text("suppress gen_id 1, sig_id 2270000, track by_src, ip 10.0.0.1\n"
                                        "threshold gen_id 1, sig_id 99, type limit, track by_src, count 1, seconds 60\n")
    f = lint_ruleset(load_ruleset([d]))
    assert not [x for x in f if x.check == "parse-error"]
    assert [(x.check, x.sid) for x in f if x.check == "threshold"] == [("threshold", 99)]
    assert [x.check for x in f if x.severity == "error"] == []


# ------------------------------------------------------------------------- issue 11, fix 3 (lint)


def test_lint_pcre_with_pcre2_and_the_listed_errors(tmp_path):
    from secmon import lint as lint_mod
    from secmon.rules import load_ruleset

    assert lint_mod.pcre_engine() == "pcre2"
    p = tmp_path / "t.rules"
    p.write_text(
        # valid PCRE that Python's re rejects ((?-i) as in ET Open sid 2021141): not an error
        'alert http any any -> any any (msg:"ok"; pcre:"/^GET\\s*?(?=(?-i)[a-z0-9]*?[A-Z])/Ui"; sid:1; rev:1;)\n'
        # invalid PCRE: an error
        'alert http any any -> any any (msg:"bad"; pcre:"/(abc/"; sid:2; rev:1;)\n'
        # a disabled rule without its closing parenthesis: an error, not a comment
        '# alert tcp any any -> any any (msg:"x"; sid:3; rev:1;\n'
        # prose is still a comment
        '# alert if STARTTLS is seen\n'
        # missing ';' between options
        'alert tcp any any -> any any (msg:"x" content:"y"; sid:4; rev:1;)\n'
        'alert tcp any any -> any any (msg:"x"; sid:-5; rev:1;)\n')
    rs = load_ruleset([p])
    findings = lint_mod.lint_ruleset(rs)
    errors = {(f.line, f.check) for f in findings if f.severity == "error"}
    assert errors == {(2, "pcre"), (3, "parse-error"), (5, "parse-error"), (6, "parse-error")}, findings
    assert rs.files[0].comment_lines == 1
    msgs = {f.line: f.message for f in findings}
    assert "';'" in msgs[5] and "positive" in msgs[6]


def test_lint_stock_et_open_has_no_errors(suricata_data):
    """`rules lint` on the stock ET Open set exits 0 (no false PCRE errors)."""
    from secmon import lint as lint_mod
    from secmon.rules import load_ruleset

    rs = load_ruleset([suricata_data / "rules" / "et-open-2024-04-21"])
    errors = [f for f in lint_mod.lint_ruleset(rs) if f.severity == "error"]
    assert errors == []


def test_flowbits_one_parser_for_lint_and_build():
    from secmon.flowbits import parse_flowbit
    from secmon.policy_files import build
    from secmon.rules import RuleSet, parse_text

    assert parse_flowbit("isset,a|b").names == ("a", "b") and parse_flowbit("isset,a|b").checks
    assert parse_flowbit("setx,x,60").names == ("x",) and parse_flowbit("noalert").known
    rf = parse_text(
        '# alert tcp any any -> any any (msg:"sets a"; flowbits:set,a; flowbits:noalert; sid:10; rev:1;)\n'
        '# alert tcp any any -> any any (msg:"sets b"; flowbits:set,b; sid:11; rev:1;)\n'
        'alert tcp any any -> any any (msg:"checks a or b"; flowbits:isset,a|b; sid:12; rev:1;)\n')
    res = build(RuleSet(files=[rf]))
    # both setters of "a|b" are re-enabled: before, the policy looked for a flowbit named "a|b"
    assert {r.sid for r in res.flowbit_enabled} == {10, 11}
