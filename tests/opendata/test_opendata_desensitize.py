"""Policies, operators, streaming desensitization and bad input."""

from __future__ import annotations

import csv
import json

import pytest

from kernel.errors import ValidationFailed
from opendata.desensitize import ResidualIdentifiers, desensitize_file
from opendata.operators import (
    Keys,
    OperatorError,
    build_operator,
    decrypt_value,
    encrypt_value,
    format_token,
    mask,
    presidio_mask,
    pseudonym,
)
from opendata.policy import parse_policy, suggest_policy
from opendata.scan import scan_file
from opendata.tabular import DataError, detect_encoding, open_table

KEY = b"k" * 32
ROWS = [
    ["姓名", "身份证号", "手机", "邮箱", "备注", "年龄", "出生日期", "地址", "收入"],
    ["张伟", "11010519491231002X", "13800138000", "zw@example.com", "请联系13912345678", "34", "1991-03-05",
     "广东省深圳市南山区科技园路1号", "250000"],
    ["李娜", "440308199901101512", "13912345678", "ln@example.cn", "无", "28", "1999-01-10",
     "北京市海淀区中关村大街1号", "8000"],
    ["王芳", "360426199101010071", "15012345678", "wf@a.org", "电话010-62345678", "45", "1991-01-01",
     "浙江省杭州市西湖区文三路90号", "12000"],
]
POLICY = """
version: 1
columns:
  姓名: {type: mask, keep_first: 1}
  身份证号: {type: generalize, method: id_region_birth_year}
  手机: {type: pseudonymize, length: 16}
  邮箱: {type: mask, keep_first: 1, until: "@"}
  备注: {type: redact}
  年龄: {type: generalize, method: age_band, width: 10}
  出生日期: {type: generalize, method: date, granularity: month}
  地址: {type: generalize, method: address_district}
  收入: {type: generalize, method: top_bottom, upper: 100000}
"""


def _write(path, rows, encoding="utf-8", delimiter=","):
    with open(path, "w", encoding=encoding, newline="") as fh:
        csv.writer(fh, delimiter=delimiter).writerows(rows)
    return path


def _read(path):
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def test_presidio_mask_vectors(pii_dir):
    rows = [json.loads(x) for x in (pii_dir / "presidio" / "presidio_anonymizer_operator_vectors.jsonl").read_text().splitlines()]
    masks = [r for r in rows if r["operator"] == "mask"]
    assert len(masks) == 18
    for r in masks:
        assert presidio_mask(r["text"], chars_to_mask=r["chars_to_mask"], from_end=r["from_end"],
                             char=r["masking_char"]) == r["anonymized_text"], r
    op = build_operator({"type": "redact", "replacement": "<{entity}>"}, column="c")
    assert op("call 13800138000") == "call <CN_MOBILE>"


def test_pseudonym_is_keyed_and_consistent():
    a = pseudonym("11010519491231002X", KEY)
    assert a == pseudonym("11010519491231002X", KEY)
    assert a != pseudonym("11010519491231002X", b"x" * 32)
    import hashlib

    assert a != hashlib.sha256(b"11010519491231002X").hexdigest()[:32]
    with pytest.raises(OperatorError):
        build_operator({"type": "pseudonymize"}, column="id", keys=Keys())
    with pytest.raises(OperatorError):
        Keys(pseudonym=b"short")


def test_token_and_encryption():
    t = format_token("138-0013-8000", KEY, keep_first=3)
    assert t[:3] == "138" and len(t) == 13 and t[3] == "-" and t[4:8].isdigit()
    assert t == format_token("138-0013-8000", KEY, keep_first=3)
    c = encrypt_value("11010519491231002X", b"0" * 32, aad="id")
    assert c != encrypt_value("11010519491231002X", b"0" * 32, aad="id")  # random nonce
    assert decrypt_value(c, b"0" * 32, aad="id") == "11010519491231002X"
    with pytest.raises(Exception):
        decrypt_value(c, b"0" * 32, aad="other-column")
    assert mask("13800138000", keep_first=3, keep_last=4) == "138****8000"


def test_desensitize_end_to_end(tmp_path):
    src = _write(tmp_path / "in.csv", ROWS)
    out = tmp_path / "out.csv"
    res = desensitize_file(src, parse_policy(POLICY), out, keys=Keys(pseudonym=KEY))
    got = _read(out)
    assert got[0] == ROWS[0]
    assert got[1][:2] == ["张*", "110100|1949"]
    assert got[1][2] == pseudonym("13800138000", KEY, length=16)
    assert got[1][3] == "z*@example.com"
    assert got[1][4] == "请联系<CN_MOBILE>"
    assert got[1][5:] == ["30-39", "1991-03", "广东省深圳市南山区", ">100000"]
    assert got[2][7] == "北京市海淀区"
    assert res.rows == 3 and res.residual == []
    # a re-scan of the output finds no direct identifier
    assert scan_file(str(out)).direct_identifiers() == []


def test_residual_identifier_fails_and_writes_nothing(tmp_path):
    src = _write(tmp_path / "in.csv", ROWS)
    out = tmp_path / "out.csv"
    pol = parse_policy("version: 1\ncolumns:\n  姓名: {type: drop}\n")
    with pytest.raises(ResidualIdentifiers) as ei:
        desensitize_file(src, pol, out, keys=Keys(pseudonym=KEY))
    assert {e["pointer"] for e in ei.value.errors} >= {"/columns/身份证号", "/columns/手机"}
    assert not out.exists() and list(tmp_path.iterdir()) == [src]
    # personal identifiers cannot be kept, not even explicitly
    pol = parse_policy("version: 1\non_unlisted: drop\nkeep_identifiers: [手机]\ncolumns:\n  手机: {type: keep}\n")
    with pytest.raises(ResidualIdentifiers) as ei:
        desensitize_file(src, pol, out)
    assert [(e["column"], e["entity"], e["rows"]) for e in ei.value.errors] == [("手机", "CN_MOBILE", [1, 2, 3])]
    assert not out.exists()


@pytest.mark.parametrize(
    "text,pointer",
    [
        ("version: 1\ncolumns:\n  a: {type: shred}\n", "/columns/a/type"),
        ("version: 1\ncolumns:\n  a: {type: mask, keep_first: -1}\n", "/columns/a/keep_first"),
        ("version: 1\ncolumns:\n  a: {type: generalize, method: age_band, widht: 5}\n", "/columns/a"),
        ("version: 2\ncolumns: {}\n", "/version"),
        ("columns: [\n", None),
    ],
)
def test_bad_policies(text, pointer):
    with pytest.raises(ValidationFailed) as ei:
        parse_policy(text)
    if pointer:
        assert any(e.get("pointer") == pointer for e in ei.value.errors), ei.value.errors


def test_policy_unknown_column(tmp_path):
    src = _write(tmp_path / "in.csv", ROWS)
    with pytest.raises(ValidationFailed) as ei:
        desensitize_file(src, parse_policy("version: 1\ncolumns:\n  nope: {type: drop}\n"), tmp_path / "o.csv")
    assert ei.value.errors[0]["pointer"] == "/columns/nope"


def test_suggest_policy_round_trip(tmp_path):
    src = _write(tmp_path / "in.csv", ROWS)
    pol = suggest_policy(scan_file(str(src)))
    assert pol["columns"]["身份证号"]["type"] == "pseudonymize"
    assert pol["columns"]["手机"]["type"] == "mask"
    assert pol["columns"]["备注"]["type"] == "redact"
    desensitize_file(src, pol, tmp_path / "o.csv", keys=Keys(pseudonym=KEY))


@pytest.mark.parametrize("encoding,expected", [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gbk", "gbk"),
                                               ("gb18030", "gb18030")])
def test_encodings(tmp_path, encoding, expected):
    rows = [r[:] for r in ROWS]
    if encoding == "gb18030":
        rows[1][0] = "张\u9fa6"  # outside GBK, inside GB18030
    src = _write(tmp_path / "in.csv", rows, encoding=encoding, delimiter=";")
    t = open_table(src)
    assert t.encoding == expected and t.delimiter == ";" and t.columns[0] == "姓名"
    assert list(t.rows())[0][0] == rows[1][0]


def test_bad_inputs(tmp_path):
    empty = tmp_path / "e.csv"
    empty.write_bytes(b"")
    with pytest.raises(DataError, match="empty"):
        open_table(empty)
    ragged = tmp_path / "r.csv"
    ragged.write_text("a,b,c\n1,2,3\n1,2\n", encoding="utf-8")
    with pytest.raises(DataError) as ei:
        list(open_table(ragged).rows())
    assert ei.value.line == 3
    assert list(open_table(ragged, ragged="pad").rows())[1] == ["1", "2", None]
    quoted = tmp_path / "q.csv"
    quoted.write_text('a,b\n"line1\nline2 ""q""",x\n', encoding="utf-8")
    assert list(open_table(quoted).rows()) == [['line1\nline2 "q"', "x"]]
    mixed = tmp_path / "m.csv"
    mixed.write_bytes("a,b\n张,1\n".encode("utf-8") * 10000 + "李,2\n".encode("gbk") + b"\xff\xfe,3\n")
    with pytest.raises(DataError, match="mixed encodings"):
        list(open_table(mixed).rows())
    wide = tmp_path / "w.csv"
    wide.write_text(",".join(f"c{i}" for i in range(1_000_000)) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match="columns"):
        open_table(wide)
    with pytest.raises(DataError):
        detect_encoding(b"\x81\x30\x81" + bytes(range(128, 256)) * 3)


def test_ndjson_and_json_and_xlsx(tmp_path):
    recs = [dict(zip(ROWS[0], r)) for r in ROWS[1:]]
    nd = tmp_path / "in.ndjson"
    nd.write_text("\n".join(json.dumps({"person": r}, ensure_ascii=False) for r in recs) + "\n", encoding="utf-8")
    rep = scan_file(str(nd))
    assert rep.column("person.身份证号").entity == "CN_RESIDENT_ID"
    js = tmp_path / "in.json"
    js.write_text(json.dumps({"records": recs}, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "out.json"
    desensitize_file(js, parse_policy(POLICY), out, keys=Keys(pseudonym=KEY))
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data[0]["身份证号"] == "110100|1949"
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    for r in ROWS:
        ws.append([int(x) if x.isdigit() and len(x) < 6 else x for x in r])
    wb.save(tmp_path / "in.xlsx")
    rep = scan_file(str(tmp_path / "in.xlsx"))
    assert rep.column("手机").entity == "CN_MOBILE"
    assert rep.column("身份证号").entity == "CN_RESIDENT_ID"
