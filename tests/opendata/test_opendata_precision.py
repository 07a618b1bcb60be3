"""Detection on a labelled citizen file with look-alikes (issue 13, fix-first 2 and 3): per-type
precision and recall >= 0.99; the fast scan path agrees with the reference scan, and is switched off
for a recogniser list it was not written for."""

from __future__ import annotations

import csv

import pytest

import opendata.fastscan as fastscan
from opendata.fastscan import MIRRORED_SPECS_DIGEST, numpy_path_applies, specs_digest
from opendata.recognizers import DATA_DIR, Detector, clean_cell, default_detector, load_recognizers
from opendata.scan import header_entities, scan_cells, scan_table
from opendata.tabular import open_table
from opendata.validators import bank_card, cn_uscc, imei
from tests.opendata.labelled_pii import COLUMNS, build, luhn_complete, score

TYPES = ("BANK_CARD", "CN_MOBILE", "CN_NAME", "CN_RESIDENT_ID", "CN_RESIDENT_ID_15", "CN_USCC", "DEVICE_IMEI", "EMAIL")


@pytest.fixture(scope="module")
def labelled(pii_dir, tmp_path_factory):
    data, truth = build(pii_dir)
    path = tmp_path_factory.mktemp("labelled") / "citizens.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        w.writerows(data)
    return data, truth, path


def _check(figures):
    for t in TYPES:
        f = figures[t]
        assert f["precision"] >= 0.99 and f["recall"] >= 0.99, (t, f)
    assert set(figures) == set(TYPES), figures  # nothing else reported anywhere (orders, couriers, ...)


def test_column_mode_precision_recall(labelled):
    data, truth, _path = labelled
    det = default_detector()
    pred = [[set() for _ in COLUMNS] for _ in data]
    for j, c in enumerate(COLUMNS):
        _best, contains = det.scan_lines([clean_cell(r[j]) for r in data], frozenset(header_entities(c)))
        for ent, lines in contains.items():
            for i in lines:
                pred[i][j].add(ent)
    _check(score(pred, truth))


def test_per_cell_mode_precision_recall(labelled):
    data, truth, path = labelled
    pred = [[set() for _ in COLUMNS] for _ in data]
    for row, col, f in scan_cells(open_table(str(path))):
        pred[row - 1][COLUMNS.index(col)].add(f.entity)
    figures = score(pred, truth)
    _check(figures)
    assert sum(f["tp"] for f in figures.values()) > 29000


def test_fast_and_reference_scans_agree_on_the_labelled_file(labelled):
    _data, _truth, path = labelled
    fast = scan_table(open_table(str(path)), sample_rows=None, batch_rows=1000)
    ref = scan_table(open_table(str(path)), sample_rows=None, batch_rows=1000, fast=False)
    assert [c.counts for c in fast.columns] == [c.counts for c in ref.columns]
    assert fast.column("订单号").counts == {} and fast.column("快递单号").counts == {}


def test_look_alikes():
    det = default_detector()
    imei_no = luhn_complete("86472940557616")
    assert imei(imei_no).ok and not bank_card(imei_no).ok  # a Luhn-valid IMEI is no card
    assert not bank_card("610104620927690").ok  # a 15-digit legacy ID is no card
    order = luhn_complete("20250312" + "123456789")
    assert len(order) == 18 and not cn_uscc(order).ok and not bank_card(order).ok
    assert [f.entity for f in det.analyze("请发送至zhang.san@163.com谢谢")] == ["EMAIL"]
    assert [f.text for f in det.analyze("联系邮箱li_si@sz.gov.cn。")] == ["li_si@sz.gov.cn"]
    assert det.classify_cell("欧阳娜娜") is not None and det.classify_cell("王芳").entity == "CN_NAME"
    assert [f.entity for f in det.analyze("身份证号610104620927690", cell=True)] == ["CN_RESIDENT_ID_15"]


def test_fast_path_follows_the_recogniser_data(tmp_path):
    """An official edits recognizers.yaml (mobile numbers: only 13x-18x); the fast path must not go on
    with the shipped conditions: it is switched off and agrees with the reference scan."""
    assert specs_digest(default_detector().recognizers) == MIRRORED_SPECS_DIGEST, \
        "recognizers.yaml changed: re-check opendata/fastscan.py against it and update MIRRORED_SPECS_DIGEST"
    text = (DATA_DIR / "recognizers.yaml").read_text(encoding="utf-8")
    old = "1[3-9]\\d(?:\\d{8}|[ -]\\d{4}[ -]\\d{4})"
    assert old in text
    edited = tmp_path / "recognizers.yaml"
    edited.write_text(text.replace(old, "1[3-8]\\d(?:\\d{8}|[ -]\\d{4}[ -]\\d{4})"), encoding="utf-8")
    det = Detector(load_recognizers(edited)[0])
    assert not numpy_path_applies(det)
    src = tmp_path / "m.csv"
    with open(src, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["手机", "身份证号"])
        for i in range(300):
            w.writerow([f"1{9 if i % 3 == 0 else 3}9{i:08d}", "11010519491231002X"])
    fast = scan_table(open_table(str(src)), detector=det, sample_rows=None)
    ref = scan_table(open_table(str(src)), detector=det, sample_rows=None, fast=False)
    assert [c.counts for c in fast.columns] == [c.counts for c in ref.columns]
    assert fast.column("手机").counts["CN_MOBILE"]["cells"] == 200  # the 19x numbers no longer count


def test_stale_fast_path_would_disagree(tmp_path, monkeypatch):
    # the same edit with the vectorised path forced on (what the old check allowed): the shipped
    # conditions count 19x numbers that the edited pattern no longer matches
    text = (DATA_DIR / "recognizers.yaml").read_text(encoding="utf-8")
    edited = tmp_path / "recognizers.yaml"
    edited.write_text(text.replace("1[3-9]\\d(?:\\d{8}", "1[3-8]\\d(?:\\d{8}"), encoding="utf-8")
    det = Detector(load_recognizers(edited)[0])
    monkeypatch.setattr(fastscan, "numpy_path_applies", lambda d: True)
    cells = [f"199{i:08d}" for i in range(100)]
    stale = fastscan.ColumnScanner(det, ()).scan(cells)
    ref = det.scan_cells(cells)
    assert stale.by_entity != ref.by_entity
