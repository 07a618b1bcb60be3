"""The release gate (issue 13, fix-first 1 and 5): every checksum-valid direct identifier in every cell
of the output counts, at any share, whatever operator produced it; the suggested policy passes the
gate on the file it was made from."""

from __future__ import annotations

import csv
import random

import pytest

from opendata.desensitize import ResidualIdentifiers, desensitize_file
from opendata.gate import gate_table
from opendata.generate import Generator
from opendata.operators import Keys
from opendata.policy import parse_policy, suggest_policy
from opendata.scan import scan_table
from opendata.tabular import open_table

KEY = b"g" * 32
REMARKS = ["已办结", "材料齐全，已受理", "请于三个工作日内补交材料", "无", "电话回访满意", "窗口咨询"]


def _citizens(path, n=4000, ids_in_remarks=186, seed=13):
    """A citizen file whose free-text remarks carry resident IDs in 186 of 4,000 cells (4.65 % < 5 %)."""
    g = Generator(seed=seed, decoy_rate=0.0)
    rnd = random.Random(seed)
    with_id = set(rnd.sample(range(n), ids_in_remarks))
    rows = [["编号", "区", "备注", "统一社会信用代码"]]
    for i in range(n):
        remark = rnd.choice(REMARKS)
        if i in with_id:
            remark = f"申请人身份证{g.resident_id()}，{remark}"
        rows.append([f"A{i:06d}", rnd.choice(["南山区", "福田区", "宝安区"]), remark, g.uscc()])
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path, sorted(i + 1 for i in with_id)


def test_minority_identifiers_in_free_text_refuse_the_release(tmp_path):
    src, rows = _citizens(tmp_path / "in.csv")
    out = tmp_path / "out.csv"
    pol = parse_policy("version: 1\ncolumns:\n  统一社会信用代码: {type: drop}\n")
    with pytest.raises(ResidualIdentifiers) as ei:
        desensitize_file(src, pol, out, keys=Keys(pseudonym=KEY))
    errs = ei.value.errors
    assert [(e["column"], e["entity"], e["cells"]) for e in errs] == [("备注", "CN_RESIDENT_ID", 186)]
    assert errs[0]["rows"] == rows[:5]
    assert not out.exists()
    # one single identifier is enough
    rep = gate_table(open_table(str(src)))
    assert {(f.column, f.entity, f.cells) for f in rep.blocking} >= {("备注", "CN_RESIDENT_ID", 186)}


def test_token_and_mask_outputs_are_rescanned(tmp_path):
    src, _rows = _citizens(tmp_path / "in.csv", n=200, ids_in_remarks=3)
    rows = list(csv.reader(open(src, encoding="utf-8")))
    g = Generator(seed=5)
    rows[0].append("身份证号")
    for r in rows[1:]:
        r.append(g.resident_id())
    with open(src, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    out = tmp_path / "out.csv"
    for spec in ("{type: token, keep_first: 18}", "{type: mask, chars_to_mask: 0}", "{type: keep}"):
        pol = parse_policy("version: 1\ncolumns:\n  备注: {type: redact}\n  统一社会信用代码: {type: drop}\n"
                           f"  身份证号: {spec}\n")
        with pytest.raises(ResidualIdentifiers) as ei:
            desensitize_file(src, pol, out, keys=Keys(pseudonym=KEY))
        assert [(e["column"], e["entity"], e["cells"], e["rows"]) for e in ei.value.errors] == [
            ("身份证号", "CN_RESIDENT_ID", 200, [1, 2, 3, 4, 5])], spec
        assert not out.exists()
    # keeping a personal identifier "with a reason" is refused too
    pol = parse_policy("version: 1\ncolumns:\n  备注: {type: redact}\n  统一社会信用代码: {type: drop}\n"
                       "  身份证号: {type: keep}\nkeep_identifiers: [{column: 身份证号, reason: needed by the tax office}]\n")
    with pytest.raises(ResidualIdentifiers):
        desensitize_file(src, pol, out, keys=Keys(pseudonym=KEY))


def test_organisation_codes_kept_only_with_a_reason(tmp_path):
    src, _rows = _citizens(tmp_path / "in.csv", n=300, ids_in_remarks=0)
    out = tmp_path / "out.csv"
    with pytest.raises(ResidualIdentifiers) as ei:
        desensitize_file(src, parse_policy("version: 1\ncolumns: {}\n"), out)
    assert ei.value.errors[0]["entity"] == "CN_USCC"
    pol = parse_policy("version: 1\ncolumns: {}\nkeep_identifiers:\n"
                       "  - {column: 统一社会信用代码, reason: legal persons' credit codes are public by law}\n")
    res = desensitize_file(src, pol, out)
    assert res.gate["passed"] and res.gate["kept"][0]["kept"].startswith("legal persons")
    with pytest.raises(Exception):
        parse_policy("version: 1\ncolumns: {}\nkeep_identifiers: [{column: x}]\n")  # a reason is required


def test_suggested_policy_passes_its_own_gate(tmp_path):
    src, _rows = _citizens(tmp_path / "in.csv")
    pol = suggest_policy(scan_table(open_table(str(src)), sample_rows=None))
    assert pol["columns"]["统一社会信用代码"]["type"] == "pseudonymize"
    assert pol["columns"]["备注"] == {"type": "redact", "entities": ["CN_RESIDENT_ID"]}
    res = desensitize_file(src, pol, tmp_path / "out.csv", keys=Keys(pseudonym=KEY))
    assert res.gate["passed"] and res.residual == []


def test_suggested_policy_passes_on_the_generated_citizen_file(tmp_path):
    from opendata.generate import write_csv

    src = tmp_path / "citizens.csv"
    write_csv(src, rows=3000, seed=2026)
    pol = suggest_policy(scan_table(open_table(str(src)), sample_rows=None))
    res = desensitize_file(src, pol, tmp_path / "out.csv", keys=Keys(pseudonym=KEY))
    assert res.gate["passed"]
