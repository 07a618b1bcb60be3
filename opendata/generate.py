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

import numpy as np

from opendata.validators import luhn_ok, resident_id_check_char, uscc_check_char

__all__ = ["Generator", "COLUMNS", "write_csv", "write_csv_fast", "fast_columns"]

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


# ---------------------------------------------------------------------------------------------
# Vectorised generation (benchmarks: gigabyte files in minutes). Same columns and value shapes as
# :class:`Generator`, with the same decoys; values are built column-wise with numpy.

_WEIGHTS_RIC = np.array([pow(2, 17 - i, 11) for i in range(17)], dtype=np.int64)
_WEIGHTS_USCC = np.array([pow(3, i, 31) for i in range(17)], dtype=np.int64)


def _fixed(codes: np.ndarray) -> list[str]:
    """Rows of ASCII codes (n, w) -> n strings of width w."""
    n, w = codes.shape
    s = codes.astype(np.uint8).tobytes().decode("ascii")
    return [s[i : i + w] for i in range(0, n * w, w)]


def _var(codes: np.ndarray, lengths: np.ndarray) -> list[str]:
    """Rows of code points (n, w), each cut to its length."""
    n, w = codes.shape
    s = codes.astype("<u4").tobytes().decode("utf-32-le")
    return [s[i * w : i * w + k] for i, k in zip(range(n), lengths.tolist())]


def _pick(rng: np.random.Generator, alphabet: str, shape) -> np.ndarray:
    return np.frombuffer(alphabet.encode("utf-32-le"), dtype="<u4")[rng.integers(0, len(alphabet), shape)]


def fast_columns(n: int, *, seed: int = 7, decoy_rate: float = 0.2) -> tuple[dict[str, list[str]], dict[str, list[str | None]]]:
    """``n`` rows as columns (name -> values) and the expected entity per cell (None: decoy or not an
    identifier), generated with numpy."""
    rng = np.random.default_rng(seed)
    d = ord("0")
    # resident ID
    areas = np.array([[ord(c) for c in a] for a in _AREAS])[rng.integers(0, len(_AREAS), n)]
    y = rng.integers(1940, 2016, n)
    m = rng.integers(1, 13, n)
    day = rng.integers(1, 29, n)
    seq = rng.integers(0, 1000, n)
    body = np.concatenate(
        [areas - d, np.stack([y // 1000, y // 100 % 10, y // 10 % 10, y % 10, m // 10, m % 10, day // 10, day % 10,
                              seq // 100, seq // 10 % 10, seq % 10], 1)], 1)
    chk = (12 - (body @ _WEIGHTS_RIC) % 11) % 11
    decoy_id = rng.random(n) < decoy_rate
    chk = np.where(decoy_id, (chk + rng.integers(1, 11, n)) % 11, chk)
    last = np.where(chk == 10, ord("X"), chk + d)
    ids = _fixed(np.concatenate([body + d, last[:, None]], 1))
    # credit code
    alpha = np.frombuffer(_USCC_CHARS.encode(), dtype=np.uint8)
    head = np.stack([np.array([1, 5, 9])[rng.integers(0, 3, n)], rng.integers(1, 4, n)], 1)
    uareas = np.array([[int(c) for c in a] for a in _AREAS])[rng.integers(0, len(_AREAS), n)]
    tail = rng.integers(0, len(_USCC_CHARS), (n, 9))
    ub = np.concatenate([head, uareas, tail], 1)
    uchk = (31 - (ub @ _WEIGHTS_USCC) % 31) % 31
    decoy_uscc = rng.random(n) < decoy_rate
    uchk = np.where(decoy_uscc, (uchk + rng.integers(1, 31, n)) % 31, uchk)
    usccs = _fixed(alpha[np.concatenate([ub, uchk[:, None]], 1)])
    # mobile
    prefixes = np.array([[ord(c) for c in p] for p in ["138", "139", "150", "186", "177", "199", "135"]])
    mobiles = _fixed(np.concatenate([prefixes[rng.integers(0, 7, n)], rng.integers(0, 10, (n, 8)) + d], 1))
    # bank card: valid = UnionPay/Visa/Master prefixes with a Luhn digit; decoy = 4/5 + Luhn-invalid
    decoy_card = rng.random(n) < decoy_rate
    cards: list[str] = [""] * n
    bins = np.array([[int(c) for c in b] for b in ["622202", "622848", "621700", "436742", "524094"]])
    which = rng.integers(0, 5, n)
    length = np.where(which < 3, np.where(rng.random(n) < 0.5, 16, 19), 16)
    length = np.where(decoy_card, 16, length)
    for L in (16, 19):
        sel = np.flatnonzero(length == L)
        if not len(sel):
            continue
        digits = rng.integers(0, 10, (len(sel), L))
        digits[:, :6] = bins[which[sel]]
        dec = decoy_card[sel]
        digits[dec, 0] = rng.choice([4, 5], int(dec.sum()))
        digits[:, -1] = 0
        rev = digits[:, ::-1]
        s = rev[:, 0::2].sum(1) + np.array([0, 2, 4, 6, 8, 1, 3, 5, 7, 9])[rev[:, 1::2]].sum(1)
        good = (10 - s % 10) % 10
        digits[:, -1] = np.where(dec, (good + rng.integers(1, 10, len(sel))) % 10, good)
        for i, v in zip(sel.tolist(), _fixed(digits + d)):
            cards[i] = v
    # e-mail
    ulen = rng.integers(3, 11, n)
    users = _var(_pick(rng, string.ascii_lowercase, (n, 10)), ulen)
    domains = np.array(["@example.com", "@mail.cn", "@gov.cn", "@qq.com"])[rng.integers(0, 4, n)].tolist()
    emails = list(map("".join, zip(users, map(str, rng.integers(1, 1000, n).tolist()), domains)))
    # licence plate (30 % new-energy)
    nev = rng.random(n) < 0.3
    pc = np.concatenate([_pick(rng, _PROVINCES, (n, 1)), _pick(rng, _PLATE_LETTERS, (n, 1)),
                         _pick(rng, "0123456789ABCDEFGHJK", (n, 6))], 1)
    pc[nev, 2] = _pick(rng, "DF", int(nev.sum()))
    pc[nev, 3] = _pick(rng, _PLATE_LETTERS + "0123456789", int(nev.sum()))
    pc[nev, 4:] = _pick(rng, "0123456789", (int(nev.sum()), 4))
    plates = _var(pc, np.where(nev, 8, 7))
    # name
    nc = np.concatenate([_pick(rng, _SURNAMES, (n, 1)), _pick(rng, _GIVEN, (n, 2))], 1)
    names = _var(nc, rng.integers(2, 4, n))
    amounts = list(map("{}.{:02d}".format, rng.integers(1, 100000, n).tolist(), rng.integers(0, 100, n).tolist()))
    remark_pool = ["无", "已核实", "请回电", None, "资料齐全"]
    pick = rng.integers(0, 5, n).tolist()
    extra = _fixed(np.concatenate([prefixes[rng.integers(0, 7, n)], rng.integers(0, 10, (n, 8)) + d], 1))
    remarks = [remark_pool[k] or "联系人电话" + extra[i] for i, k in enumerate(pick)]
    cols = dict(zip(COLUMNS, [ids, usccs, mobiles, cards, emails, plates, names, amounts, remarks]))
    truth: dict[str, list[str | None]] = {}
    for name, ent in COLUMNS.items():
        decoy = {"CN_RESIDENT_ID": decoy_id, "CN_USCC": decoy_uscc, "BANK_CARD": decoy_card}.get(ent or "")
        truth[name] = [None if (decoy is not None and x) else ent for x in (decoy.tolist() if decoy is not None else [False] * n)]
    return cols, truth


def write_csv_fast(path: str | Path, *, size_mb: float, seed: int = 7, chunk_rows: int = 200_000) -> int:
    """Write a generated CSV (header + rows) of about ``size_mb`` MiB, vectorised. Returns bytes written."""
    limit = int(size_mb * 1024 * 1024)
    written = 0
    with open(path, "wb") as fh:
        written += fh.write((",".join(COLUMNS) + "\n").encode("utf-8"))
        k = 0
        chunk_rows = max(1, min(chunk_rows, limit // 100 + 16))
        while written < limit:
            cols, _ = fast_columns(chunk_rows, seed=seed * 1_000_003 + k)
            k += 1
            data = ("\n".join(map(",".join, zip(*cols.values()))) + "\n").encode("utf-8")
            if written + len(data) > limit:
                # cut at a line end
                data = data[: data.rfind(b"\n", 0, limit - written) + 1]
                written += fh.write(data)
                break
            written += fh.write(data)
    return written
