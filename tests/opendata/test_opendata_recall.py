"""Recall / precision per identifier type on generated labelled data (checksum-bearing types >= 0.99)."""

from __future__ import annotations

from collections import Counter

from opendata.generate import COLUMNS, Generator
from opendata.recognizers import default_detector

CHECKSUM_TYPES = {"CN_RESIDENT_ID", "CN_USCC", "BANK_CARD"}


def test_recall_precision_per_type():
    det = default_detector()
    tp, fp, fn = Counter(), Counter(), Counter()
    cols = list(COLUMNS)
    for cells, truth in Generator(seed=11).rows(3000):
        for col, cell, exp in zip(cols, cells, truth):
            f = det.classify_cell(cell, threshold=0.4)
            got = f.entity if f else None
            if exp and got == exp:
                tp[exp] += 1
            else:
                if exp:
                    fn[exp] += 1
                if got and got not in ("CN_NAME",) or (got == "CN_NAME" and exp != "CN_NAME"):
                    fp[got] += 1
    for ent in CHECKSUM_TYPES | {"CN_MOBILE", "EMAIL", "CN_LICENCE_PLATE"}:
        recall = tp[ent] / (tp[ent] + fn[ent])
        precision = tp[ent] / (tp[ent] + fp[ent]) if tp[ent] + fp[ent] else 1.0
        assert recall >= 0.99, (ent, recall)
        if ent in CHECKSUM_TYPES:
            assert precision >= 0.99, (ent, precision, fp)
