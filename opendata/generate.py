"""Labelled synthetic data for recall/precision measurement and benchmarks.

Each generated row carries its identifiers and the ground truth per cell: valid values (with correct
check characters) and decoys that look alike but must not be reported (checksum-invalid IDs and credit
codes, impossible dates, Luhn-invalid card numbers with non-UnionPay prefixes).
"""

from __future__ import annotations

import csv
import random
import string
from pathlib import Path
from typing import Iterator

from opendata.validators import luhn_ok, resident_id_check_char, uscc_check_char

__all__ = ["Generator", "COLUMNS", "write_csv"]

_AREAS = ["110105", "310101", "440305", "440308", "330106", "510104", "420102", "320102", "370102", "610104"]
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚"

#: column name -> entity expected for valid values (None: not an identifier)
COLUMNS = {
    "身份证号": "CN_RESIDENT_ID",
    "统一社会信用代码": "CN_USCC",
    "手机": "CN_MOBILE",
    "银行卡号": "BANK_CARD",
    "邮箱": "EMAIL",
    "车牌": "CN_LICENCE_PLATE",
    "姓名": "CN_NAME",
    "金额": None,
    "备注": None,
}


class Generator:
    def __init__(self, seed: int = 7, decoy_rate: float = 0.2):
        self.r = random.Random(seed)
        self.decoy_rate = decoy_rate

    def resident_id(self, valid: bool = True) -> str:
        r = self.r
        y = r.randint(1940, 2015)
        body = f"{r.choice(_AREAS)}{y}{r.randint(1, 12):02d}{r.randint(1, 28):02d}{r.randint(0, 999):03d}"
        c = resident_id_check_char(body)
        if valid:
            return body + c
        wrong = [x for x in "0123456789X" if x != c]
        return body + r.choice(wrong)

    def uscc(self, valid: bool = True) -> str:
        r = self.r
        body = r.choice("159") + r.choice("123") + r.choice(_AREAS) + "".join(r.choice(_USCC_CHARS) for _ in range(9))
        c = uscc_check_char(body)
        return body + (c if valid else r.choice([x for x in _USCC_CHARS if x != c]))

    def mobile(self) -> str:
        return self.r.choice(["138", "139", "150", "186", "177", "199", "135"]) + "".join(
            self.r.choice(string.digits) for _ in range(8))

    def bank_card(self, valid: bool = True) -> str:
        r = self.r
        prefix = r.choice(["622202", "622848", "621700", "436742", "524094"]) if valid else r.choice(["4", "5"])
        n = r.choice([16, 19]) if prefix.startswith("62") else 16
        body = prefix + "".join(r.choice(string.digits) for _ in range(n - len(prefix) - 1))
        for d in string.digits:
            if luhn_ok(body + d) == valid:
                return body + d
        raise AssertionError("unreachable")

    def email(self) -> str:
        r = self.r
        user = "".join(r.choice(string.ascii_lowercase) for _ in range(r.randint(3, 10)))
        return f"{user}{r.randint(1, 999)}@{r.choice(['example.com', 'mail.cn', 'gov.cn', 'qq.com'])}"

    def plate(self) -> str:
        r = self.r
        if r.random() < 0.3:
            return r.choice(_PROVINCES) + r.choice(_PLATE_LETTERS) + r.choice("DF") + r.choice(_PLATE_LETTERS + "0123456789") + "".join(
                r.choice(string.digits) for _ in range(4))
        return r.choice(_PROVINCES) + r.choice(_PLATE_LETTERS) + "".join(r.choice("0123456789ABCDEFGHJK") for _ in range(5))

    def name(self) -> str:
        return self.r.choice(_SURNAMES) + "".join(self.r.choice(_GIVEN) for _ in range(self.r.randint(1, 2)))

    def row(self) -> tuple[list[str], list[str | None]]:
        """(cells, expected entity per cell — None for decoys and non-identifiers)."""
        r = self.r
        decoy_id = r.random() < self.decoy_rate
        decoy_uscc = r.random() < self.decoy_rate
        decoy_card = r.random() < self.decoy_rate
        cells = [
            self.resident_id(not decoy_id),
            self.uscc(not decoy_uscc),
            self.mobile(),
            self.bank_card(not decoy_card),
            self.email(),
            self.plate(),
            self.name(),
            f"{r.randint(1, 99999)}.{r.randint(0, 99):02d}",
            r.choice(["无", "已核实", "请回电", f"联系人电话{self.mobile()}", "资料齐全"]),
        ]
        truth = [None if decoy_id else "CN_RESIDENT_ID", None if decoy_uscc else "CN_USCC", "CN_MOBILE",
                 None if decoy_card else "BANK_CARD", "EMAIL", "CN_LICENCE_PLATE", "CN_NAME", None, None]
        return cells, truth

    def rows(self, n: int) -> Iterator[tuple[list[str], list[str | None]]]:
        for _ in range(n):
            yield self.row()


def write_csv(path: str | Path, *, rows: int | None = None, size_mb: float | None = None, seed: int = 7) -> int:
    """Write a generated CSV with header; stop after ``rows`` rows or ``size_mb`` MB. Returns bytes written."""
    g = Generator(seed)
    written = 0
    limit = int(size_mb * 1024 * 1024) if size_mb else None
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(list(COLUMNS))
        i = 0
        while (rows is None or i < rows) and (limit is None or fh.tell() < limit):
            batch = [g.row()[0] for _ in range(1000 if rows is None else min(1000, rows - i))]
            w.writerows(batch)
            i += len(batch)
        written = fh.tell()
    return written
