"""The fast column scan (opendata.fastscan) gives exactly the statistics of the reference per-batch
scan (Detector.scan_cells), on generated labelled data, the shared vectors and edge cases."""

from __future__ import annotations

import json
import random
import re

import pytest

from opendata.fastscan import ColumnScanner, numpy_path_applies, scan_column
from opendata.generate import COLUMNS, Generator, fast_columns, write_csv_fast
from opendata.recognizers import Detector, _may_match_newline, default_detector, load_recognizers
from opendata.scan import header_entities, scan_table
from opendata.tabular import open_table
from opendata.validators import cn_licence_plate

HINT_SETS = [(), ("CN_RESIDENT_ID",), ("CN_USCC",), ("BANK_CARD",), ("CN_RESIDENT_ID", "CN_USCC", "BANK_CARD"),
             ("CN_MOBILE", "CN_LANDLINE"), ("EMAIL", "CN_LICENCE_PLATE", "CN_NAME", "CN_ADDRESS")]


def _norm(stats):
    return (stats.cells, stats.nonempty,
            {k: (v[0], round(v[1], 6), v[2]) for k, v in sorted(stats.by_entity.items())})


def assert_same(det, cells, hints=(), batch=None, cache_size=1 << 16):
    slow = det.scan_cells(cells, header_entities=hints)
    if batch is None:
        fast = scan_column(det, cells, header_entities=hints)
    else:  # several batches through one scanner (cache, adaptive switches)
        sc = ColumnScanner(det, hints, cache_size=cache_size)
        fast = sc.scan(cells[:batch])
        for i in range(batch, len(cells), batch):
            fast.merge(sc.scan(cells[i : i + batch]))
    assert _norm(fast) == _norm(slow), hints


def test_numpy_path_is_used_for_the_packaged_list():
    assert numpy_path_applies(default_detector())
    recs, _ = load_recognizers()
    assert not numpy_path_applies(Detector(recs[:-1]))


@pytest.mark.parametrize("hints", HINT_SETS)
def test_fast_equals_slow_on_vectorised_generator(hints):
    det = default_detector()
    cols, _truth = fast_columns(3000, seed=5)
    for name, cells in cols.items():
        assert_same(det, cells, hints)
        assert_same(det, cells, tuple(header_entities(name)))


def test_fast_equals_slow_on_labelled_generator_in_batches():
    det = default_detector()
    rows = [cells for cells, _ in Generator(seed=11).rows(4000)]
    for j, name in enumerate(COLUMNS):
        cells = [r[j] for r in rows]
        assert_same(det, cells, tuple(header_entities(name)), batch=1000)


def test_small_cache_overflows_between_batches():
    """A full cache is emptied between batches without losing the verdicts of the current one."""
    det = default_detector()
    g = Generator(seed=8)
    cells = [r[0][8] for r in g.rows(3000)] + [g.name() for _ in range(3000)]
    random.Random(2).shuffle(cells)
    for size in (1, 7, 50, 400):
        assert_same(det, cells, ("CN_NAME",), batch=250, cache_size=size)


def test_fast_equals_slow_mixed_column_and_edge_cases():
    det = default_detector()
    g = Generator(seed=3)
    edge = [
        "", "  ", None, "11010519491231002X", "11010519491231002x", "110105194912310021", "810000199001011234",
        "820000199001011236", "830000199001011238", "111111111111111111", "6222021234567890", "6222021234567891",
        "6222021234567890123", "1234567890123", "2234567890123", "4111111111111111", "14012345678", "13812345678",
        "12812345678", "01012345678", "008613812345678", "+86 138 1234 5678", "010-12345678", "(010)12345678",
        "（010）12345678", "110105491231002", "91110000600037341L", "91110000600037341l", "9111000060003734IL",
        "a@b.cn", "a@b.cn.x", "mail a@b.cn now", "1.2.3.4", "256.1.1.1", "fe80::1", "::1", "1::2::3",
        "京A12345", "京A·12345", "粤BD12345", "粤B12345D", "沪A1234学", "京a12345", "张三", "欧阳娜娜", "北京",
        "姓名：张三", "联系人王五", "姓名", "王五", "北京市朝阳区建国路88号", "E12345678", "EA1234567", "H12345678",
        "１３８１２３４５６７８", "٣٨١٢٣٤٥٦٧٨٩", "line\nbreak 13812345678", " 13812345678 ", "\t110105194912310021\r",
        "ID 110105194912310021, phone 13812345678", "x" * 60, "1" * 50, "110105194912310021110105194912310021",
        "0" * 18, "A" * 18, "ABCDEFGHJKLMNPQRTU", "91110000600037341L ", "6222 0212 3456 7890",
        # tokens after '+', touching tokens (41-character cap), several identifiers in one text
        "x+13812345678", "a+8613812345678", "电话+13812345678", "++8613812345678",
        "1234567890123456789012345678901234567890-(13812345678)", "1" * 41 + "-13812345678",
        "联系人电话13973655002", "姓名：李四 身份证110105194912310021 手机13812345678 卡号6222021234567890",
    ]
    cells = edge + [g.resident_id(random.Random(i).random() < 0.7) for i in range(200)] + \
        [g.uscc(i % 3 > 0) for i in range(200)] + [g.bank_card(i % 4 > 0) for i in range(200)] + \
        [g.mobile() for _ in range(100)] + [g.plate() for _ in range(100)] + [g.email() for _ in range(100)]
    random.Random(1).shuffle(cells)
    for hints in HINT_SETS:
        assert_same(det, cells, hints)
        assert_same(det, cells, hints, batch=97)


def test_fast_equals_slow_with_area_table_and_strict(pii_dir, area_codes):
    rows = [json.loads(x) for x in (pii_dir / "cn" / "cn_pii_test_vectors.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()]
    values = [str(r["value"]) for r in rows]
    for det in (default_detector(), Detector(area_codes=area_codes), Detector(area_codes=area_codes, strict_area=True)):
        assert numpy_path_applies(det)
        for hints in HINT_SETS:
            assert_same(det, values, hints)
            assert_same(det, values * 3, hints, batch=50)


def test_fast_equals_slow_on_presidio_vectors(pii_dir):
    rows = [json.loads(x) for x in (pii_dir / "presidio" / "presidio_recognizer_test_vectors.jsonl").read_text(encoding="utf-8").splitlines() if x.strip()]
    texts = [r["text"] for r in rows if isinstance(r.get("text"), str)]
    assert texts
    det = default_detector()
    for hints in HINT_SETS[:3]:
        assert_same(det, texts, hints)


def test_custom_recogniser_list_uses_generic_path():
    recs, _ = load_recognizers()
    det = Detector([r for r in recs if r.name != "cn_uscc"])
    sc = ColumnScanner(det)
    assert not sc.vectorise
    cols, _ = fast_columns(500, seed=9)
    for cells in cols.values():
        assert_same(det, cells)


def test_scan_table_fast_equals_reference(tmp_path):
    path = tmp_path / "gen.csv"
    write_csv_fast(path, size_mb=0.3, seed=3)
    t = open_table(path)
    fast = scan_table(t, sample_rows=None, batch_rows=1000).as_dict()
    slow = scan_table(t, sample_rows=None, batch_rows=1000, fast=False).as_dict()
    fast.pop("seconds"), slow.pop("seconds")
    assert fast == slow
    top = {c["name"]: c["entity"] for c in fast["columns"]}
    assert top["身份证号"] == "CN_RESIDENT_ID" and top["银行卡号"] == "BANK_CARD" and top["车牌"] == "CN_LICENCE_PLATE"


def test_write_csv_fast_size_and_labels():
    cols, truth = fast_columns(2000, seed=1)
    det = default_detector()
    for name in ("身份证号", "统一社会信用代码", "银行卡号", "手机", "邮箱", "车牌"):
        tp = sum(1 for v, e in zip(cols[name], truth[name]) if e and (f := det.classify_cell(v, threshold=0.4)) and f.entity == e)
        assert tp >= 0.99 * sum(1 for e in truth[name] if e), name


def test_write_csv_fast_writes_whole_lines(tmp_path):
    p = tmp_path / "x.csv"
    n = write_csv_fast(p, size_mb=0.2)
    data = p.read_bytes()
    assert len(data) == n <= 0.2 * 1024 * 1024 and data.endswith(b"\n")
    assert data.decode("utf-8").splitlines()[0] == ",".join(COLUMNS)


def test_plate_validator_is_implied_by_the_pattern():
    """The fast path skips cn_licence_plate on pattern matches: it must accept every one unchanged."""
    det = default_detector()
    rx = det.recognizer("cn_licence_plate").regex
    rng = random.Random(4)
    prov = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
    pool = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789DF挂学警港澳·IO"
    cands = [rng.choice(prov) + "".join(rng.choice(pool) for _ in range(rng.randint(5, 8))) for _ in range(20000)]
    cands += fast_columns(2000, seed=2)[0]["车牌"]
    checked = 0
    for c in cands:
        for m in rx.finditer(c):
            chk = cn_licence_plate(m.group(0))
            assert chk.ok and chk.weight == 1.0 and chk.entity is None and chk.end_trim == 0, m.group(0)
            checked += 1
    assert checked > 2000


def test_may_match_newline():
    f = lambda p: _may_match_newline(re.compile(p))  # noqa: E731
    assert f(r"a\sb") and f(r"[^x]") and f(r"\D") and f(r"[\s\S]") and f(r"(?:a|\n)")
    assert not f(r"(?<!\s)a") and not f(r"\w+") and not f(r".") and not f(r"[^\S\n]")
    assert [r.name for r in default_detector().recognizers if r.may_cross] == ["cn_name_context"]


def test_a_match_never_spans_two_cells():
    det = default_detector()
    cells = ["联系人", "王五", "姓名", "张三"]
    together = det.scan_cells(cells, header_entities=())
    alone = [det.scan_cells([c], header_entities=()) for c in cells]
    merged = alone[0]
    for s in alone[1:]:
        merged.merge(s)
    assert _norm(together) == _norm(merged)


@pytest.mark.parametrize("text,kw", [
    ("a,b\n1,2\n3,4\n", {}), ("a,b\n1,2\n3,4", {}), ("a,b\r\n1,2\r\n3,4\r\n", {}), ("a,b\n1,2\n\n3,4\n", {}),
    ('a,b\n1,"x,y"\n3,4\n', {}), ("a,b\n1,2\n1,2,3\n", {}), ("a,b\n1,2\n1,2,3\n", {"ragged": "pad"}),
    ("a,b\n1\n", {}), ("\ufeffa,b\n1,2\n", {}), ("a,b\n1,2\r3,4\n", {}), ("a\n1\n\n2\n", {}),
    ("a,b\n 1 , 2 \n", {}), ('a,"b\nc"\n1,2\n3\n', {}), ("a;b\n1;2\n3;4\n", {}),
    ("a,b\n" + "1,2\n" * 5000 + "1\n", {}), ("a,b\n" + "1,2\n" * 5000 + "1\n", {"ragged": "pad"}),
    ("a\n1\n2\n", {}), ("a,b,c\n1,2\n3,4,5,6\n7,8,9\n", {"ragged": "pad"}), ("a,b,c\n1,2\n3,4,5,6\n", {}),
    ("a,b,c\n1,2,3\n,,\n4,5,6", {}), ("a\tb\tc\n1\t2\t3\n4\t5\t6\n", {}), ("a,b\n1,2\n,\n", {}), ("a,b,c\n1,2,3\n1,2,3,4\n1,2\n", {"ragged": "pad"}),
])
def test_row_batches_equal_rows(tmp_path, text, kw):
    from opendata.tabular import DataError

    p = tmp_path / "t.csv"
    p.write_bytes(text.encode("utf-8"))
    t = open_table(p, **kw)

    def run(f):
        try:
            return "ok", f()
        except DataError as e:
            return "err", e.line, str(e)

    assert run(lambda: list(t.rows())) == run(lambda: [r for b in t.row_batches(3) for r in b])

    def by_columns(size):
        out = []
        for cols in t.column_batches(size):
            assert len(cols) == len(t.columns) and len({len(c) for c in cols}) <= 1
            out.extend([c or "" for c in r] for r in zip(*cols))
        return out

    def padded():
        return [[c or "" for c in r] + [""] * (len(t.columns) - len(r)) for r in t.rows()]

    for size in (1, 3, 100000):
        assert run(padded) == run(lambda: by_columns(size))


def test_row_batches_mixed_encoding_error_like_rows(tmp_path):
    from opendata.tabular import DataError

    p = tmp_path / "m.csv"
    p.write_bytes(b"a,b\n" + b"1,2\n" * 30000 + b"\xff\xfe,3\n" + b"1,2\n")
    t = open_table(p)
    with pytest.raises(DataError) as e1:
        list(t.rows())
    with pytest.raises(DataError) as e2:
        [r for b in t.row_batches(1000) for r in b]
    assert e1.value.line == e2.value.line


def test_lone_mobile_cache_keys_keep_verdicts():
    """Cache keys replace the last eight digits of a lone mobile number with zeros: the reference
    verdict of every such cell equals that of its key, whatever surrounds the number."""
    from opendata.fastscan import _LONE_MOBILE, _LONE_MOBILE_KEY, _LONE_MOBILE_TAIL

    det = default_detector()
    rng = random.Random(12)
    around = ["", " ", "联系人电话", "电话:", "姓名张三电话", "+", "00", "0", "a", "E", "G1", "H", "(", ")", "（", "）", "-",
              "fe80::", "::", "1.2.3.", ".", "%", "fe80::1%", "x@", "@", "京A", "北京市朝阳区建国路", "号", "١", "１", "_",
              "\u3000", "身份证110105194912310021 ", "卡号6222021234567890,", "/", "#", ":"]
    cells = []
    for _ in range(4000):
        num = "1" + rng.choice("0123456789") + rng.choice("0123456789") + "".join(rng.choice("0123456789") for _ in range(8))
        if rng.random() < 0.2:
            num = num[: rng.randint(9, 11)] + rng.choice(["", "1", "12", "x"])
        cells.append(rng.choice(around) + num + rng.choice(around + ["@qq.com", ".cn", "号楼"]))
    keyed = [_LONE_MOBILE.sub(_LONE_MOBILE_KEY, c) for c in cells]
    joined = "\n".join(cells)
    assert "00000000".join(_LONE_MOBILE_TAIL.split(joined)) == _LONE_MOBILE.sub(_LONE_MOBILE_KEY, joined) == "\n".join(keyed)
    assert sum(a != b for a, b in zip(cells, keyed)) > 500
    for hints in HINT_SETS:
        for c, k in zip(cells, keyed):
            if c != k:
                assert _norm(det.scan_cells([c], header_entities=hints)) == _norm(det.scan_cells([k], header_entities=hints)), (c, k)
        assert_same(det, cells, hints)
        assert_same(det, cells, hints, batch=300)


def test_vectorised_luhn_equals_luhn_ok():
    import numpy as np

    from opendata.fastscan import _luhn
    from opendata.validators import luhn_ok

    rng = np.random.default_rng(3)
    for width in (11, 13, 14, 15, 16, 17, 18, 19):
        d = rng.integers(0, 10, (5000, width)).astype(np.int32)
        assert (_luhn(d) == np.array([luhn_ok("".join(map(str, r))) for r in d.tolist()])).all(), width


def test_columns_in_bulk():
    from opendata.tabular import _columns_in_bulk

    assert _columns_in_bulk("1,2,3\n4,5,6", ",", 3) == [["1", "4"], ["2", "5"], ["3", "6"]]
    assert _columns_in_bulk("1,2\n3,4\n5,6", ",", 2) == [["1", "3", "5"], ["2", "4", "6"]]
    assert _columns_in_bulk(",,\n,,", ",", 3) == [["", ""], ["", ""], ["", ""]]
    for bad in ("1,2\n3,4,5,6\n7,8", "1,2,3,4\n5,6", "1,2\n\n3,4", "\n1,2", "1,2\n", "1,2,3\n4,5,6"):
        assert _columns_in_bulk(bad, ",", 3 if bad.count(",") % 2 == 0 and "\n\n" not in bad else 2) in (
            None, [["1", "4"], ["2", "5"], ["3", "6"]]) or bad == "1,2,3\n4,5,6"
    assert _columns_in_bulk("1,2\n3,4,5,6\n7,8,9", ",", 3) is None
    assert _columns_in_bulk("1,2,3,4\n5,6", ",", 3) is None


def test_quick_whole_line_shapes_imply_the_pattern():
    """Lines of the quick shapes are matched by the packaged pattern from start to end."""
    import string

    from opendata.fastscan import _QUICK_WHOLE

    det = default_detector()
    rng = random.Random(6)
    alpha = string.ascii_letters + string.digits
    for name, quick in _QUICK_WHOLE.items():
        rx = det.recognizer(name).regex
        hits = 0
        for _ in range(20000):
            k = rng.randint(1, 4)
            line = "".join(rng.choice(alpha + ".-_@") for _ in range(rng.randint(1, 12)))
            if rng.random() < 0.7:
                line = ("".join(rng.choice(alpha) for _ in range(rng.randint(1, 70))) + "@"
                        + "".join("".join(rng.choice(alpha) for _ in range(rng.choice([1, 2, 5, 63, 64]))) + "."
                                  for _ in range(k))
                        + "".join(rng.choice(string.ascii_letters + (string.digits if rng.random() < 0.1 else ""))
                                  for _ in range(rng.choice([1, 2, 3, 63, 64]))))
            if quick.fullmatch(line):
                hits += 1
                m = rx.search(line)
                assert m is not None and m.span() == (0, len(line)), line
                assert re.compile(f"^(?:{rx.pattern})", re.M).sub("", "x\n" + line + "\ny") == "x\n\ny"
        assert hits > 3000
        cols, _ = fast_columns(3000, seed=4)
        assert_same(det, cols["邮箱"] + [c.upper() for c in cols["邮箱"]], ("EMAIL",), batch=700)


def test_digit_run_gate_covers_every_decimal_digit():
    from opendata.fastscan import _DIGIT_RUN_CLASS

    digits = [chr(c) for c in range(0x110000) if chr(c).isdecimal() or re.match(r"\d", chr(c))]
    assert len(digits) > 600
    for c in digits:
        assert set(c.encode("utf-8").translate(_DIGIT_RUN_CLASS)) == {68}, hex(ord(c))
    det = default_detector()
    g = Generator(seed=21)
    cells = [g.plate() for _ in range(300)] + [g.name() for _ in range(300)] + [
        "护照E12345678", "张三 E١٢٣٤٥٦٧٨", "通行证H１２３４５６７８", "京A·12345", "户主王五 G12345678", "H12345678号",
        "申请人Ｅ12345678", "E۱۲۳۴۵۶۷۸", "备注" + "٣" * 9]
    random.Random(3).shuffle(cells)
    for hints in HINT_SETS:
        assert_same(det, cells, hints)
        assert_same(det, cells, hints, batch=64)


def test_data_files_load_the_same_with_the_c_loader():
    import yaml

    from opendata.recognizers import DATA_DIR, SAFE_LOADER

    for name in ("recognizers.yaml", "header_hints.yaml"):
        text = (DATA_DIR / name).read_text(encoding="utf-8")
        assert yaml.load(text, Loader=SAFE_LOADER) == yaml.safe_load(text)


def test_white_space_gate_covers_every_space_character():
    from opendata.fastscan import _WS_CLASS

    spaces = [chr(c) for c in range(0x110000) if chr(c).isspace() and c != 10]
    assert len(spaces) > 20
    for c in spaces:
        assert b"W" in c.encode("utf-8").translate(_WS_CLASS), hex(ord(c))
    det = default_detector()
    cells = [sp + v + sp2 for sp in ("", "\u3000", "\xa0", "\u2003", "\x1c", "\x85", "\t")
             for sp2 in ("", "\u3000", " ", "\u205f")
             for v in ("张三", "13812345678", "110105194912310021", "a@b.cn", "京A12345", "x")]
    for hints in HINT_SETS[:3]:
        assert_same(det, cells, hints)
        assert_same(det, cells[::-1] + ["plain", "张三"] * 50, hints, batch=40)
