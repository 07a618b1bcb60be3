"""``citygov opendata`` commands (needs the lead's portal fixtures: ``runner``)."""

from __future__ import annotations

import csv
import json

import pytest

pytest.importorskip("portal.cli")

ROWS = [
    ["姓名", "身份证号", "手机", "备注", "年龄"],
    ["张伟", "11010519491231002X", "13800138000", "请联系13912345678", "34"],
    ["李娜", "440308199901101512", "13912345678", "无", "28"],
    ["王芳", "360426199101010071", "15012345678", "电话010-62345678", "45"],
]


@pytest.fixture
def src(tmp_path):
    p = tmp_path / "in.csv"
    with open(p, "w", encoding="gbk", newline="") as fh:
        csv.writer(fh).writerows(ROWS)
    return p


def test_scan_json_and_text(runner, src):
    r = runner.invoke(["opendata", "scan", str(src), "--format", "json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["table"]["encoding"] == "gbk"
    ents = {c["name"]: c["entity"] for c in d["columns"]}
    assert ents["身份证号"] == "CN_RESIDENT_ID" and ents["手机"] == "CN_MOBILE"
    r = runner.invoke(["opendata", "scan", str(src)])
    assert r.exit_code == 0 and "CN_RESIDENT_ID" in r.output
    r = runner.invoke(["opendata", "scan", str(src), "--cells", "--format", "json"])
    assert r.exit_code == 0 and any(f["entity"] == "CN_LANDLINE" for f in json.loads(r.output)["findings"])


def test_policy_suggest_then_desensitize(runner, src, tmp_path):
    pol = tmp_path / "p.yaml"
    r = runner.invoke(["opendata", "policy", "suggest", str(src), "--out", str(pol)])
    assert r.exit_code == 0, r.output
    out = tmp_path / "out.csv"
    r = runner.invoke(["opendata", "desensitize", str(src), "--policy", str(pol), "--out", str(out), "--format", "json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["ok"] and d["rows"] == 3
    text = out.read_text(encoding="utf-8")
    assert "11010519491231002X" not in text and "13800138000" not in text
    r = runner.invoke(["opendata", "policy", "suggest", str(src)])
    assert r.exit_code == 0 and "columns:" in r.output


def test_desensitize_refuses_residual_and_bad_input(runner, src, tmp_path):
    pol = tmp_path / "p.yaml"
    pol.write_text("version: 1\ncolumns:\n  年龄: {type: generalize, method: age_band}\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    r = runner.invoke(["opendata", "desensitize", str(src), "--policy", str(pol), "--out", str(out)])
    assert r.exit_code == 1 and not out.exists()
    pol.write_text("version: 1\ncolumns:\n  nope: {type: drop}\n", encoding="utf-8")
    r = runner.invoke(["opendata", "desensitize", str(src), "--policy", str(pol), "--out", str(out)])
    assert r.exit_code == 2 and not out.exists()
    pol.write_text("version: 1\ncolumns:\n  年龄: {type: shred}\n", encoding="utf-8")
    r = runner.invoke(["opendata", "desensitize", str(src), "--policy", str(pol), "--out", str(out)])
    assert r.exit_code == 2
    empty = tmp_path / "e.csv"
    empty.write_text("")
    r = runner.invoke(["opendata", "scan", str(empty)])
    assert r.exit_code == 2
    r = runner.invoke(["opendata", "scan", str(tmp_path / "missing.csv")])
    assert r.exit_code == 2


def test_anonymity_and_anonymize(runner, kanon_dir, tmp_path):
    adult = kanon_dir / "arx-adult"
    r = runner.invoke(["opendata", "anonymity", str(kanon_dir / "pycanon" / "adult_anonymized_10.csv"),
                       "--qi", "age,education,occupation,relationship,sex,native-country", "--sensitive", "salary-class",
                       "--format", "json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["k"] == 10 and d["l_distinct"] == 1
    out = tmp_path / "anon.csv"
    qi = "sex,age,race,marital-status,education,native-country,workclass,occupation,salary-class"
    r = runner.invoke(["opendata", "anonymize", str(adult / "adult.csv"), "--qi", qi, "--hierarchies", str(adult),
                       "--k", "100", "--suppression", "0", "--out", str(out), "--format", "json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["transformation"] == [0, 4, 1, 1, 3, 2, 2, 1, 1] and d["suppressed"] == 0
    r = runner.invoke(["opendata", "anonymity", str(out), "--qi", qi, "--format", "json"])
    assert r.exit_code == 0 and json.loads(r.output)["k"] >= 100 and json.loads(r.output)["classes"] == 12
    r = runner.invoke(["opendata", "anonymity", str(out), "--qi", qi])
    assert r.exit_code == 0 and "12 equivalence classes" in r.output
    r = runner.invoke(["opendata", "anonymize", str(adult / "adult.csv"), "--qi", "nope", "--hierarchies", str(adult),
                       "--k", "5", "--out", str(out)])
    assert r.exit_code == 2
    bad = tmp_path / "h"
    bad.mkdir()
    (bad / "sex.csv").write_text("Male;*\n", encoding="utf-8")
    r = runner.invoke(["opendata", "anonymize", str(adult / "adult.csv"), "--qi", "sex", "--hierarchies", str(bad),
                       "--k", "5", "--out", str(tmp_path / "x.csv")])
    assert r.exit_code == 2 and "does not cover" in r.output
    assert not (tmp_path / "x.csv").exists()
