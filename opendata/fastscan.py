"""Fast column scan: the statistics of :meth:`Detector.scan_cells` (every cell judged on its own),
computed per column batch with far less Python work per cell.

* Fixed-shape cells -- 18 characters of [0-9A-Z] (or 17 digits and x), 11 digits starting with 1,
  13/14/16/17/19 digits -- can only be matched by the checksum-bearing recognisers. They are
  validated with numpy over the batch: the same pattern conditions, dates, province / area codes,
  MOD 11-2, GB 32100 and Luhn arithmetic as :mod:`opendata.validators`, then scores, thresholds,
  header boosts and tie-breaking as the per-cell scan applies them (once per distinct outcome).
* Literal gates on a byte-class image of the batch (``bytes.translate`` + substring tests: four
  digits in a row, '@', digit-dot-digit-dot-digit, ':', non-ASCII, ...) rule out recognisers for a
  whole batch; then each remaining recogniser's necessary condition (the token regex, its
  prefilter, or its pattern) marks the lines it can match. Lines nothing can match are empty; lines
  only one plain recogniser can match (e-mail, licence plate, ...) get one anchored substitution
  over the joined lines (whole-line matches without Python per match) and a full search only where
  that is not conclusive; the column's usual plain recogniser skips its own condition pass.
* The rest goes through :meth:`Detector.scan_lines` (one pass per pattern over the joined batch,
  Python validation of candidates only), once per distinct value: verdicts are cached per column
  (dropped for columns whose values do not repeat). Cache keys reduce a lone mobile number (a run
  of 11 digits no other token character touches) to its first three digits: no packaged
  recogniser's verdict depends on the rest (free-text columns such as '联系人电话1xxxxxxxxxx').
* Per batch, byte-class images of the joined UTF-8 text decide what needs doing at all: no white
  space -> no per-cell strip; no 11 digits/capitals in a row -> no numpy groups; no seven
  digit-capable bytes in a row -> no passport / permit pass (the tests check each class table
  against every Unicode character it must cover).

The numpy path and the gates are only used with the recogniser list they were written for
(:data:`MIRRORED_SPECS_DIGEST`; any other list, an edited YAML included, gets the generic dispatch alone); ``strict_area`` falls back to :meth:`AreaCodes.valid_in` per candidate.
Tests check that fast and reference scans give identical statistics.
"""

from __future__ import annotations

import bisect
import datetime as _dt
import functools
import hashlib
import itertools
import operator
import re
from collections import Counter
from typing import Iterable, Sequence

import numpy as np

from opendata.recognizers import _MEMO_VALIDATORS, _TOKEN, CellStats, Detector, Recognizer, clean_cell
from opendata.validators import (
    _MOBILE_PREFIX, _RIC_WEIGHTS, _USCC_WEIGHTS, CARD_ISSUER, PERMIT_PREFIXES, PROVINCE_CODES, USCC_ORG_TYPES, VALIDATORS,
)

__all__ = ["ColumnScanner", "scan_column"]

#: (score, priority, entity) of the best whole-cell match, and the entities found inside the cell
Verdict = tuple["tuple[float, int, str] | None", "tuple[str, ...]"]
_EMPTY: Verdict = (None, ())
_DIM = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int32)
_PROV_LUT = np.zeros(100, dtype=bool)
_PROV_LUT[[int(p) for p in PROVINCE_CODES]] = True
_IS_DIGIT = np.zeros(256, dtype=bool)
_IS_DIGIT[48:58] = True
_UPPER_ALNUM = _IS_DIGIT.copy()
_UPPER_ALNUM[65:91] = True
_PERMIT_CODES = {int(k): v for k, v in PERMIT_PREFIXES.items()}
_LUHN_DOUBLE = np.array([0, 2, 4, 6, 8, 1, 3, 5, 7, 9], dtype=np.int32)
_RIC_W = np.array(_RIC_WEIGHTS, dtype=np.int32)
_USCC_W = np.array(_USCC_WEIGHTS, dtype=np.int32)
_USCC_LUT = np.full(256, -1, dtype=np.int32)
for _i, _c in enumerate("0123456789ABCDEFGHJKLMNPQRTUWXY"):
    _USCC_LUT[ord(_c)] = _i
#: card issuer ranges per length (the table bank_card uses), indexed [length, first four digits]
_CARD_LUT = np.array([np.frombuffer(bytes(t), dtype=np.uint8) for t in CARD_ISSUER], dtype=bool)
#: credit-code registration authority x organisation type (values in the GB 32100 alphabet)
_USCC_TYPE_LUT = np.zeros((31, 31), dtype=bool)
for _a, _types in USCC_ORG_TYPES.items():
    for _t in _types:
        _USCC_TYPE_LUT["0123456789ABCDEFGHJKLMNPQRTUWXY".index(_a), "0123456789ABCDEFGHJKLMNPQRTUWXY".index(_t)] = True
_MOBILE_W = np.array([1.0 if _MOBILE_PREFIX.match(f"1{k:02d}00000000") else 0.6 for k in range(100)])
_BANK_ONLY_LENGTHS = (13, 14, 16, 17, 19)
_VECTOR_LENGTHS = np.array((11, 18) + _BANK_ONLY_LENGTHS)
#: a candidate token of at least 10 characters (every packaged token-family pattern needs 10 or more)
#: byte classes for the literal gates: ASCII digit -> '0', letters -> 'A' / 'a', non-ASCII -> 'U'
_CLASS = bytes(
    48 if 48 <= b <= 57 else 65 if 65 <= b <= 90 else 97 if 97 <= b <= 122 else 85 if b >= 128 else b for b in range(256)
)
#: packaged recognisers whose necessary condition needs a non-ASCII character (Han characters)
#: over the classes above: characters of candidate tokens ([0-9A-Za-z+()\- ]) -> 'T'
_TOKEN_CLASS = bytes(84 if chr(b) in "0Aa+()- " else 46 for b in range(256))
#: over the classes above: digits and capitals -> 'D' (every fixed-shape line of the numpy groups
#: has 11 of them in a row)
_SHAPE_CLASS = bytes(68 if b in (48, 65) else 46 for b in range(256))
#: over UTF-8 bytes: ASCII digits and the bytes of non-ASCII characters outside U+4000-U+9FFF (lead
#: bytes E4-E9; no decimal digit lives there) -> 'D': a run of seven \d characters (any script) gives
#: seven 'D' bytes in a row
_DIGIT_RUN_CLASS = bytes(68 if 48 <= b <= 57 or (b >= 128 and not 0xE4 <= b <= 0xE9) else 46 for b in range(256))
#: over UTF-8 bytes: white space other than the newline, and the lead bytes of every multi-byte
#: white-space character (C2: U+0085/U+00A0, E1: U+1680, E2: U+2000-U+205F, E3: U+3000) -> 'W'
_WS_CLASS = bytes(87 if b in (9, 11, 12, 13, 28, 29, 30, 31, 32, 0xC2, 0xE1, 0xE2, 0xE3) else 46 for b in range(256))
_IMPLIED_BY_PATTERN = ("cn_licence_plate",)
#: whole lines of a simpler shape that the packaged pattern matches from the line start to its end
#: (greedy local part up to '@', every 'label.' taken, the letters after the last dot as the top-level
#: domain); a simpler regex than the pattern, run first (tests check the implication)
_QUICK_WHOLE = {"email": re.compile(r"^[A-Za-z0-9]+@(?:[A-Za-z0-9]{1,63}\.)+[A-Za-z]{2,63}$", re.MULTILINE)}
_NEEDS_NON_ASCII = ("cn_licence_plate", "cn_name_context", "cn_name", "cn_address")
_TOKEN10 = re.compile(_TOKEN.pattern.replace("{6,40}", "{9,40}"))
_FAST_NAMES = ("cn_resident_id", "cn_uscc", "bank_card", "cn_mobile")
#: a mobile number standing alone as a candidate token (no token character -- [0-9A-Za-z+()（）\- ]
#: -- and no digit on either side): the only token the packaged token-family patterns can match in it
#: is the whole run, by cn_mobile alone, whose verdict depends on the first three digits only; the
#: other packaged patterns see only its character classes (digits) or cannot reach into it. So
#: a cell's verdict does not change when the last eight digits become zeros: cache keys use that
_LONE_MOBILE = re.compile(r"1(?<![0-9A-Za-z+()（）\- ]1)(?<!\d1)([3-9][0-9])[0-9]{8}(?![0-9A-Za-z+()（）\- ])(?!\d)")
_LONE_MOBILE_KEY = r"1\g<1>00000000"
#: the last eight digits of the same numbers (``"00000000".join(split)`` is the ``sub`` above, without
#: Python per match)
_LONE_MOBILE_TAIL = re.compile(r"(?<=1[3-9][0-9])(?<![0-9A-Za-z+()（）\- \d]...)[0-9]{8}(?![0-9A-Za-z+()（）\- ])(?!\d)")


def _spec(r: Recognizer) -> tuple:
    return (r.name, r.entity, r.pattern, r.validator, r.score, r.priority, r.family, r.cell_only, r.prefilter, r.flags)


def specs_digest(recognizers: Iterable[Recognizer]) -> str:
    """SHA-256 of the scan-relevant fields of a recogniser list, in order."""
    return hashlib.sha256(repr(tuple(_spec(r) for r in recognizers)).encode("utf-8")).hexdigest()


#: the recogniser list the vectorised groups, literal gates and cache-key rules below were written for
#: (the packaged ``recognizers.yaml`` when this module was last changed with it). Any other list --
#: an official's edit of the YAML included -- runs the generic dispatch, which is derived from the
#: recogniser data alone. Changing the packaged list means re-checking this module against it and
#: updating the digest (a test says so).
MIRRORED_SPECS_DIGEST = "71e254573cada3a7f57036b623706dba37c5ce42e3c2672bde840a7396f1a877"


def numpy_path_applies(det: Detector) -> bool:
    """The vectorised validators mirror one recogniser list; other lists use the generic path."""
    return specs_digest(det.recognizers) == MIRRORED_SPECS_DIGEST


def _valid_date(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    ok = (m >= 1) & (m <= 12) & (d >= 1) & (y >= 1)
    dim = _DIM[np.clip(m, 0, 12)]
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    dim = dim + ((m == 2) & leap)
    return ok & (d <= dim)


@functools.lru_cache(maxsize=None)
def _luhn_weights(width: int) -> tuple[np.ndarray, np.ndarray]:
    doubled = (np.arange(width)[::-1] % 2 == 1).astype(np.int32)  # every second digit from the right
    return doubled + 1, doubled


def _luhn(d: np.ndarray) -> np.ndarray:
    # a doubled digit contributes 2d - 9 when d >= 5 (the digit sum of 2d), else 2d
    w, doubled = _luhn_weights(d.shape[1])
    return (d @ w - 9 * ((d >= 5).astype(np.int32) @ doubled)) % 10 == 0


def prov_u_ok(d: np.ndarray) -> np.ndarray:
    """Credit-code area code (characters 3-8, digits): a province's code or 100000."""
    return _PROV_LUT[d[:, 2] * 10 + d[:, 3]] | (_num(d, 2, 8) == 100000)


def _num(d: np.ndarray, a: int, b: int) -> np.ndarray:
    out = np.zeros(d.shape[0], dtype=np.int32)
    for i in range(a, b):
        out = out * 10 + d[:, i]
    return out


class ColumnScanner:
    """Scans successive batches of one column (``hinted``: entities its header suggests)."""

    def __init__(self, det: Detector, hinted: Iterable[str] = (), *, cache_size: int = 1 << 16, vectorise: bool = True):
        self.det = det
        self.hinted = frozenset(hinted)
        self.cache: dict[str, Verdict] = {}
        self.cache_size = cache_size
        self.vectorise = vectorise and numpy_path_applies(det)
        if self.vectorise:
            self.recs = {n: det.recognizer(n) for n in _FAST_NAMES}
            codes = det.area_codes
            self.area_ints = (
                np.array(sorted(int(c) for c in codes.table if len(c) == 6 and c.isdigit()), dtype=np.int64)
                if codes is not None else None
            )
        self._combos: dict[tuple, Verdict] = {}
        # necessary conditions per recogniser (a line none of them hits has no finding at all):
        # token-family recognisers only match inside a candidate token (all of the packaged ones are
        # at least 10 characters long); the others have a prefilter, or are their own condition
        necs: list[tuple[str, re.Pattern]] = []
        self.single: dict[str, Recognizer] = {}
        if any(r.family == "token" for r in det.recognizers):
            necs.append(("token", _TOKEN10 if self.vectorise else _TOKEN))
        for r in det.recognizers:
            if r.family == "token":
                continue
            necs.append((r.name, r.prefilter_rx or r.regex))
            if not r.may_cross and "value" not in r.regex.groupindex:
                self.single[r.name] = r
        self.necs = necs
        self._all_keys = {k for k, _ in necs}
        self.dominant: str | None = None
        #: recognisers needing no per-match validation: no validator, or (packaged list) one that
        #: accepts every match of the pattern as it is (tests check this)
        self.plain = {r.name for r in self.single.values() if not r.validator
                      or (self.vectorise and r.validator in _IMPLIED_BY_PATTERN)}
        self.hits = self.lookups = 0
        self._anchored: dict[str, re.Pattern | None] = {}
        self.use_cache = True
        #: cache keys with lone mobile numbers reduced to their prefix (see _LONE_MOBILE)
        self.key_mobiles = True

    # -- the per-cell rule of Detector.scan_lines for candidates that all span the whole cell --------
    def _combine(self, cands: tuple[tuple[str, float, str], ...]) -> Verdict:
        """``cands``: (recogniser name, validator weight, entity) of the recognisers whose pattern
        and validator accepted the whole cell, in the order the scan runs them."""
        got = self._combos.get(cands)
        if got is not None:
            return got
        det = self.det
        claimed: float | None = None
        full: tuple[float, int, str] | None = None
        contains: list[str] = []
        for name, weight, entity in cands:
            rec = self.recs[name]
            boost = det.context_boost if rec.entity in self.hinted else 0.0
            top_possible = min(1.0, rec.score + boost)
            if claimed is not None and claimed >= top_possible:
                continue
            score = min(1.0, rec.score * weight + boost)
            if score < det.threshold:
                continue
            if claimed is None or score > claimed:
                claimed = score
            if entity not in contains:
                contains.append(entity)
            if full is None or (score, rec.priority) > full[:2]:
                full = (score, rec.priority, entity)
        out: Verdict = (full, tuple(sorted(contains)))
        self._combos[cands] = out
        return out

    # -- vectorised groups ---------------------------------------------------------------------------
    def _group18(self, a: np.ndarray, out: Counter) -> None:
        """18 characters of [0-9A-Z], or 17 digits and x: resident ID, credit code, bank card.
        ``a``: (n, 18) ASCII codes."""
        n = a.shape[0]
        sub = a - np.uint8(48)  # wraps around below '0'
        dig = sub < 10
        d = (sub * dig).astype(np.int32)
        last = a[:, 17]
        is_x = (last == 88) | (last == 120)
        dig17 = dig[:, :17].all(1)
        all_dig = dig17 & dig[:, 17]
        d17 = d[:, :17]
        y, m, day = _num(d, 6, 10), _num(d, 10, 12), _num(d, 12, 14)
        date_ok = _valid_date(y, m, day)
        area = _num(d, 0, 6)
        prov_ok = _PROV_LUT[d[:, 0] * 10 + d[:, 1]]
        # resident ID: pattern [1-8]\d{5}(?:18|19|20)\d{2}[01]\d[0-3]\d{4}[0-9Xx], then cn_resident_id
        c67 = d[:, 6] * 10 + d[:, 7]
        id_ok = (dig17 & (dig[:, 17] | is_x) & (d[:, 0] >= 1) & (d[:, 0] <= 8)
                 & ((c67 == 18) | (c67 == 19) | (c67 == 20)) & (d[:, 10] <= 1) & (d[:, 12] <= 3))
        today = _dt.date.today()
        ymd = y * 10000 + m * 100 + day
        id_ok &= date_ok & (ymd <= today.year * 10000 + today.month * 100 + today.day)
        permit = np.zeros(n, dtype=np.int64)
        for i, code in enumerate(sorted(_PERMIT_CODES), 1):
            permit[area == code] = i
        area_ok = prov_ok.copy()
        if self.area_ints is not None:
            area_ok &= np.isin(area, self.area_ints)
            if self.det.strict_area:
                codes = self.det.area_codes
                for i in np.flatnonzero(area_ok & id_ok & (permit == 0)):
                    if not codes.valid_in(f"{area[i]:06d}", int(y[i])):
                        area_ok[i] = False
        id_ok &= (permit > 0) | area_ok
        chk = (12 - (d17 @ _RIC_W) % 11) % 11
        id_ok &= chk == np.where(is_x, 10, d[:, 17])
        # credit code: pattern [class]{2}\d{6}[class]{10}, then cn_uscc (check character, GB 32100)
        uv = _USCC_LUT[a]
        u_ok = (uv >= 0).all(1) & dig[:, 2:8].all(1)
        u_ok &= _USCC_TYPE_LUT[np.clip(uv[:, 0], 0, 30), np.clip(uv[:, 1], 0, 30)]
        u_ok &= prov_u_ok(d)
        u_ok &= (31 - (uv[:, :17] @ _USCC_W) % 31) % 31 == uv[:, 17]
        looks_id = all_dig & prov_ok & (y >= 1900) & (y <= 2100) & date_ok
        # bank card: pattern [1-6] then digits only, then bank_card
        b_ok = all_dig & (d[:, 0] >= 1) & (d[:, 0] <= 6) & (d != d[:, :1]).any(1) & _CARD_LUT[18, _num(d, 0, 4)]
        b_state = np.where(looks_id, 2, np.where(_luhn(d), 1, np.where((d[:, 0] == 6) & (d[:, 1] == 2), 3, 0)))
        b_state = np.where(b_ok, b_state, 0)
        id_state = np.where(id_ok, 1 + permit, 0)
        u_state = np.where(u_ok, np.where(looks_id, 2, 1), 0)
        code = id_state * 12 + u_state * 4 + b_state
        ents = ["CN_RESIDENT_ID"] + [_PERMIT_CODES[c] for c in sorted(_PERMIT_CODES)]
        counts = np.bincount(code, minlength=1)
        for c in np.flatnonzero(counts).tolist():
            cnt = counts[c]
            ids, us, bs = c // 12, (c // 4) % 3, c % 4
            cands = []
            if ids:
                cands.append(("cn_resident_id", 1.0, ents[ids - 1]))
            if us:
                cands.append(("cn_uscc", 0.4 if us == 2 else 1.0, "CN_USCC"))
            if bs:
                cands.append(("bank_card", {1: 1.0, 2: 0.4, 3: 0.45}[bs], "BANK_CARD"))
            out[self._combine(tuple(cands))] += int(cnt)

    def _group_mobile(self, a: np.ndarray, out: Counter) -> None:
        d = a.astype(np.int32) - 48
        ok = d[:, 1] >= 3  # pattern 1[3-9]\d{9}; every line of the group starts with 1
        w = _MOBILE_W[d[:, 1] * 10 + d[:, 2]]
        state = np.where(ok, np.where(w == 1.0, 1, 2), 0)
        for s, cnt in zip(*np.unique(state, return_counts=True)):
            cands = (("cn_mobile", 1.0 if s == 1 else 0.6, "CN_MOBILE"),) if s else ()
            out[self._combine(cands)] += int(cnt)

    def _group_bank(self, a: np.ndarray, out: Counter) -> None:
        length = a.shape[1]
        d = a.astype(np.int32) - 48
        ok = (d[:, 0] >= 1) & (d[:, 0] <= 6) & (d != d[:, :1]).any(1) & _CARD_LUT[length, _num(d, 0, 4)]
        luhn = _luhn(d)
        state = np.where(luhn, 1, np.where((d[:, 0] == 6) & (d[:, 1] == 2) & (length >= 16), 3, 0))
        state = np.where(ok, state, 0)
        for s, cnt in zip(*np.unique(state, return_counts=True)):
            cands = (("bank_card", 1.0 if s == 1 else 0.45, "BANK_CARD"),) if s else ()
            out[self._combine(cands)] += int(cnt)

    # -- generic path --------------------------------------------------------------------------------
    def _lookup(self, values: Sequence[str], out: Counter, pre: "tuple | None" = None) -> None:
        """Cached verdicts per distinct value; the unknown ones through :meth:`_dispatch`. A column
        whose values hardly repeat stops using the cache."""
        if not self.use_cache:
            verdicts = self._dispatch(values, pre)
            ids = Counter(map(id, verdicts))
            if len(ids) == 1:
                out[verdicts[0]] += len(verdicts)
                return
            first = {id(v): v for v in verdicts}
            for k, cnt in ids.items():
                out[first[k]] += cnt
            return
        if self.vectorise and self.key_mobiles:
            joined = pre[0] if pre is not None else "\n".join(values)
            keyed = "00000000".join(_LONE_MOBILE_TAIL.split(joined)) if "1" in joined else joined
            if keyed != joined:
                values = keyed.split("\n")
                pre = None
            else:
                self.key_mobiles = False  # none in this batch: the column does not hold such text
        counts = Counter(values)
        keys = list(counts)
        cache = self.cache
        vds = list(map(cache.get, keys))  # None: not cached
        new: dict[str, Verdict] = {}
        todo: list[str] = []
        if None in vds:
            todo = list(itertools.compress(keys, map(operator.is_, vds, itertools.repeat(None))))
            # all distinct and none cached: todo is values (same order), the joined text is known
            new = dict(zip(todo, self._dispatch(todo, pre if len(todo) == len(values) else None)))
            vds = list(map(new.get, keys, vds))
        self.lookups += len(values)
        self.hits += len(values) - len(todo)
        if len(keys) <= 256:
            for vd, cnt in zip(vds, counts.values()):
                out[vd] += cnt
        else:  # sum the counts per verdict object with numpy
            ids = np.fromiter(map(id, vds), dtype=np.uint64, count=len(keys))
            cnts = np.fromiter(counts.values(), dtype=np.int64, count=len(keys))
            _u, first, inv = np.unique(ids, return_index=True, return_inverse=True)
            for i, cnt in zip(first.tolist(), np.bincount(inv, weights=cnts).tolist()):
                out[vds[i]] += int(cnt)
        if len(cache) + len(new) > self.cache_size:
            cache.clear()
        cache.update(new)
        if self.lookups >= 8192 and self.hits < 0.1 * self.lookups:
            self.use_cache = False
            cache.clear()

    def _gates(self, joined: str, cls: bytes | None = None, raw: bytes | None = None) -> set[str] | None:
        """Recognisers (necessary-condition keys) that cannot match anywhere in ``joined``, from
        literal tests on a byte-class image of the text (packaged recognisers only)."""
        if not self.vectorise:
            return None
        ascii_ = joined.isascii()
        if cls is None:
            raw = joined.encode("utf-8")
            cls = raw.translate(_CLASS)
        skip = set()
        if b"0000" not in cls:  # every packaged token-family pattern has 4 ASCII digits in a row
            skip.add("token")
        elif "（" not in joined and "）" not in joined and b"T" * 10 not in cls.translate(_TOKEN_CLASS):
            skip.add("token")  # ... inside a candidate token of 10+ characters
        if b"@" not in cls:
            skip.add("email")
        if ascii_:  # the prefilter \d\.\d{1,3}\.\d
            if b"0.0.0" not in cls and b"0.00.0" not in cls and b"0.000.0" not in cls:
                skip.add("ipv4")
        elif b"." not in cls:
            skip.add("ipv4")
        if b":" not in cls:
            skip.add("ipv6")
        if ascii_:
            if b"0000000" not in cls:
                skip.update(("cn_passport", "cn_hmt_travel_permit"))
            skip.update(_NEEDS_NON_ASCII)
        elif raw is not None and b"DDDDDDD" not in raw.translate(_DIGIT_RUN_CLASS):
            skip.update(("cn_passport", "cn_hmt_travel_permit"))  # their prefilters need 7 \d in a row
        return skip

    def _dispatch(self, values: Sequence[str], pre: "tuple | None" = None) -> np.ndarray:
        """Verdicts for distinct values: lines no recogniser can match are empty; lines only one
        plain recogniser can match go through :meth:`_single`; the rest through
        :meth:`Detector.scan_lines` (and are cached)."""
        n = len(values)
        if pre is not None:  # (joined text, lengths, gates) of exactly these values
            joined, lens, skip = pre[0], pre[1], set(pre[2] or ())
        else:
            joined = "\n".join(values)
            lens = np.fromiter(map(len, values), dtype=np.int64, count=n)
            skip = set(self._gates(joined) or ())
        starts_np = np.zeros(n, dtype=np.int64)
        np.cumsum(lens[:-1] + 1, out=starts_np[1:])
        mask = np.zeros(n, dtype=np.int64)
        keys = []
        # the column's usual plain recogniser (learnt from the previous batch): its own condition is
        # not evaluated; lines no other condition hits can only be matched by it
        dom = self.dominant if self.dominant is not None and self.dominant not in skip else None
        if dom is not None:
            skip.add(dom)
        for bit, (key, rx) in enumerate(self.necs):
            keys.append(key)
            if key in skip:
                continue
            hit = [m.start() for m in rx.finditer(joined)]
            if hit:
                lines = np.searchsorted(starts_np, np.array(hit, dtype=np.int64), side="right") - 1
                mask[lines] |= 1 << bit
        result = np.empty(n, dtype=object)
        result.fill(_EMPTY)
        if dom is not None:
            sel = np.flatnonzero(mask == 0)
            found = 0
            if len(sel):
                rec = self.single[dom]
                whole = len(sel) == n
                sub = values if whole else [values[i] for i in sel]
                if rec.name in self.plain:
                    for vd, lines in self._plain(rec, sub, (joined, lens) if whole else None):
                        result[sel[lines]] = _scalar(vd)
                        found += len(lines)
                else:
                    for j, vd in self._single(rec, sub).items():
                        result[sel[j]] = vd
                        found += 1
            if found < n // 2:
                self.dominant = None  # no longer the column's usual content
            rest = mask != 0
            idx = np.flatnonzero(rest)
            if len(idx):
                self._generic_into(values, idx, n, result, self._possible(mask[idx], keys, dom))
            return result
        rest = mask != 0
        if not rest.any():
            return result
        best_key, best_count = None, 0
        for bit, key in enumerate(keys):
            rec = self.single.get(key)
            if rec is None:
                continue
            sel = np.flatnonzero(mask == (1 << bit))
            if len(sel):
                sub = [values[i] for i in sel]
                if rec.name in self.plain:
                    for vd, lines in self._plain(rec, sub):
                        result[sel[lines]] = _scalar(vd)
                else:
                    for j, vd in self._single(rec, sub).items():
                        result[sel[j]] = vd
                rest[sel] = False
                if len(sel) > best_count:
                    best_key, best_count = key, len(sel)
        if best_count >= n // 2:
            self.dominant = best_key
        idx = np.flatnonzero(rest)
        if len(idx):
            self._generic_into(values, idx, n, result, self._possible(mask[idx], keys, None))
        return result

    def _possible(self, masks: np.ndarray, keys: list[str], extra: str | None) -> set[str]:
        """Names of the recognisers whose necessary condition holds on some of these lines."""
        bits = int(np.bitwise_or.reduce(masks)) if len(masks) else 0
        hit = {k for b, k in enumerate(keys) if bits >> b & 1}
        if extra is not None:
            hit.add(extra)
        names = {k for k in hit if k != "token"}
        if "token" in hit:
            names.update(r.name for r in self.det.recognizers if r.family == "token")
        return names

    def _generic_into(self, values: Sequence[str], idx: np.ndarray, n: int, result: np.ndarray,
                      only: set[str]) -> None:
        """:meth:`Detector.scan_lines` verdicts of ``values[idx]`` into ``result`` (only the
        recognisers in ``only`` can match them)."""
        sub = [values[i] for i in idx] if len(idx) < n else values
        best_full, contains = self.det.scan_lines(sub, self.hinted, token_text=self.vectorise, only=only)
        ents: dict[int, list[str]] = {}
        for ent, lines in contains.items():
            for i in lines:
                ents.setdefault(i, []).append(ent)
        for j, i in enumerate(idx):
            e = ents.get(j)
            f = best_full.get(j)
            if e or f:
                result[i] = (f, tuple(sorted(e)) if e else ())

    def _plain(self, rec: Recognizer, values: Sequence[str], pre: "tuple | None" = None) -> list[tuple[Verdict, np.ndarray]]:
        """:meth:`_single` for a recogniser without a validator (or whose validator accepts every
        match of its pattern unchanged): only spans matter, counted with numpy. Lines whose first
        match starts at the line start and covers the line (found with the pattern anchored to line
        starts, which the engine rejects quickly elsewhere) need no further search; the other
        lines are searched in full."""
        n = len(values)
        boost = self.det.context_boost if rec.entity in self.hinted else 0.0
        score = min(1.0, rec.score + boost)
        if score < self.det.threshold:
            return []
        part: Verdict = (None, (rec.entity,))
        full: Verdict = ((score, rec.priority, rec.entity), (rec.entity,))
        if pre is not None:
            joined, lens = pre
        else:
            joined = "\n".join(values)
            lens = np.fromiter(map(len, values), dtype=np.int64, count=n)
        starts = np.zeros(n, dtype=np.int64)
        np.cumsum(lens[:-1] + 1, out=starts[1:])
        if rec.name not in self._anchored:
            self._anchored[rec.name] = (None if _has_anchors(rec.regex) else
                                        re.compile(f"^(?:{rec.pattern})", rec.regex.flags | re.MULTILINE))
        anchored = self._anchored[rec.name]
        if anchored is not None:
            # removing each line's first match at its start empties exactly the lines it covers
            quick = _QUICK_WHOLE.get(rec.name) if self.vectorise else None
            # plain lines the packaged pattern is known to cover are emptied first (cheaper regex)
            text = quick.sub("", joined) if quick is not None else joined
            rest_lens = np.fromiter(map(len, anchored.sub("", text).split("\n")), dtype=np.int64, count=n)
            done = rest_lens == 0
        else:
            done = np.zeros(n, dtype=bool)
        res = [(full, np.flatnonzero(done))]
        todo = np.flatnonzero(~done)
        if not len(todo):
            return res
        if len(todo) < n:
            values = [values[i] for i in todo]
            joined = "\n".join(values)
            lens = lens[todo]
            starts = np.zeros(len(todo), dtype=np.int64)
            np.cumsum(lens[:-1] + 1, out=starts[1:])
        spans = [m.span() for m in rec.regex.finditer(joined)]
        if spans:
            sp = np.array(spans, dtype=np.int64)
            lines = np.searchsorted(starts, sp[:, 0], side="right") - 1
            whole = (sp[:, 0] == starts[lines]) & (sp[:, 1] == starts[lines] + lens[lines])
            res.append((part, todo[lines]))
            res.append((full, todo[lines[whole]]))  # after 'part': a whole-line match wins
        return res

    def _single(self, rec: Recognizer, values: Sequence[str]) -> dict[int, Verdict]:
        """Lines only ``rec`` can match (no other recogniser's necessary condition holds): one pass
        of its pattern over the joined lines, the same scoring as :meth:`Detector.scan_lines`.
        Returns the verdicts of the lines with a finding."""
        det = self.det
        joined = "\n".join(values)
        starts = [0]
        pos = 0
        for v in values[:-1]:
            pos += len(v) + 1
            starts.append(pos)
        boost = det.context_boost if rec.entity in self.hinted else 0.0
        thr = min(det.threshold, 0.4) if rec.cell_only else det.threshold  # as Detector.scan_lines
        validator = VALIDATORS[rec.validator] if rec.validator else None
        if rec.validator in _MEMO_VALIDATORS:
            validator = det._memo_validator(rec.validator)
        kw = {"area_codes": det.area_codes, "strict": det.strict_area}
        base = min(1.0, rec.score + boost)
        contains: dict[int, set[str] | str] = {}
        full: dict[int, tuple[float, int, str]] = {}
        bisect_right = bisect.bisect_right
        for m in rec.regex.finditer(joined):
            s, e = m.span()
            if validator is not None:
                chk = validator(joined[s:e], **kw)
                if not chk.ok:
                    continue
                e -= chk.end_trim
                entity = chk.entity or rec.entity
                score = min(1.0, rec.score * chk.weight + boost) if chk.weight != 1.0 else base
            else:
                entity, score = rec.entity, base
            if score < thr:
                continue
            line = bisect_right(starts, s) - 1
            c = contains.get(line)
            if c is None:
                contains[line] = entity
            elif c != entity:
                contains[line] = (c if isinstance(c, set) else {c}) | {entity}
            if s == starts[line] and e == s + len(values[line]):
                old = full.get(line)
                if old is None or (score, rec.priority) > old[:2]:
                    full[line] = (score, rec.priority, entity)
        return {line: (full.get(line), tuple(sorted(c)) if isinstance(c, set) else (c,)) for line, c in contains.items()}

    # -- one batch -------------------------------------------------------------------------------------
    def verdicts(self, cells: Sequence[str | None]) -> tuple[Counter, int, int]:
        """(Counter of verdicts over the non-empty cells, cells, non-empty cells)."""
        n = len(cells)
        out: Counter = Counter()
        if not n:
            return out, 0, 0
        try:
            joined = "\n".join(cells)  # type: ignore[arg-type]
        except TypeError:  # missing cells (None)
            cells = [c or "" for c in cells]
            joined = "\n".join(cells)
        raw = joined.encode("utf-8", "surrogatepass")
        if b"W" not in raw.translate(_WS_CLASS) and joined.count("\n") == n - 1:
            clean: Sequence[str] = cells if isinstance(cells, list) else list(cells)  # nothing to strip
        else:
            clean = list(map(str.strip, cells))
            joined = "\n".join(clean)
            if joined.count("\n") != n - 1 or "\r" in joined:  # line breaks inside cells
                clean = [clean_cell(c) for c in cells]
                joined = "\n".join(clean)
            raw = joined.encode("utf-8", "surrogatepass")
        if len(raw) == len(joined):  # ASCII: line lengths from the newline positions
            nl = np.flatnonzero(np.frombuffer(raw, dtype=np.uint8) == 10)
            lens = np.diff(nl, prepend=-1, append=len(raw)) - 1
        else:
            lens = np.fromiter(map(len, clean), dtype=np.int64, count=n)
        nonempty = int(np.count_nonzero(lens))
        if not nonempty:
            return out, n, 0
        rest = np.ones(n, dtype=bool)
        rest[lens == 0] = False
        cls = None
        if self.vectorise:
            cls = raw.translate(_CLASS)
            if b"DDDDDDDDDDD" in cls.translate(_SHAPE_CLASS):
                self._vector_groups(clean, lens, rest, out, raw)
        if rest.all():
            values = clean
        else:
            idx = np.flatnonzero(rest)
            if not len(idx):
                return out, n, nonempty
            values = [clean[i] for i in idx]
            joined = "\n".join(values)
            lens = lens[idx]
            cls = raw = None
        gates = self._gates(joined, cls, raw) if self.vectorise else None
        if gates is not None and self._all_keys <= gates:
            out[_EMPTY] += len(values)  # no recogniser can match anywhere in these cells
            return out, n, nonempty
        self._lookup(values, out, (joined, lens, gates))
        return out, n, nonempty

    def _vector_groups(self, clean: Sequence[str], lens: np.ndarray, rest: np.ndarray, out: Counter,
                       raw: bytes | None = None) -> None:
        """Validate the fixed-shape digit lines with numpy; clears their ``rest`` flags. ``raw``: the
        UTF-8 bytes of the cells joined with newlines, if known."""
        n = len(clean)
        cand = np.isin(lens, _VECTOR_LENGTHS)
        if not cand.any():
            return
        if raw is None:
            raw = "\n".join(clean).encode("utf-8")
        if len(raw) == int(lens.sum()) + n - 1:  # all ASCII: one byte per character
            fb = np.frombuffer(raw + b"\n", dtype=np.uint8)  # every line followed by a newline
            starts = np.cumsum(lens + 1) - (lens + 1)
            ne = np.flatnonzero(lens)
            isdig = np.zeros(n, dtype=bool)
            isdig[ne] = np.add.reduceat(_IS_DIGIT[fb].astype(np.int32), starts[ne]) == lens[ne]
            isasc = np.ones(n, dtype=bool)

            uniform = bool((lens == lens[0]).all())

            def rows_of(sel: np.ndarray, width: int) -> np.ndarray:
                if uniform and len(sel) == n:
                    return fb.reshape(n, width + 1)[:, :width]
                return fb[starts[sel][:, None] + np.arange(width)]
        else:
            isdig = np.zeros(n, dtype=bool)
            isasc = np.zeros(n, dtype=bool)
            ci = np.flatnonzero(cand)
            sub = [clean[i] for i in ci]
            isdig[ci] = np.fromiter(map(str.isdigit, sub), dtype=bool, count=len(ci))
            isasc[ci] = np.fromiter(map(str.isascii, sub), dtype=bool, count=len(ci))

            def rows_of(sel: np.ndarray, width: int) -> np.ndarray:
                raw = "".join([clean[i] for i in sel]).encode("ascii")
                return np.frombuffer(raw, dtype=np.uint8).reshape(len(sel), width)

        digits = isdig & isasc
        # 18 characters: [0-9A-Z]{18}, or 17 digits and a lower-case x
        g18 = digits & (lens == 18)
        other = np.flatnonzero((lens == 18) & isasc & ~isdig)
        if len(other):
            m = rows_of(other, 18)
            g18[other] = _UPPER_ALNUM[m].all(1) | (_IS_DIGIT[m[:, :17]].all(1) & (m[:, 17] == 120))
        idx = np.flatnonzero(g18)
        if len(idx):
            self._group18(rows_of(idx, 18), out)
            rest[idx] = False
        idx = np.flatnonzero(digits & (lens == 11))
        if len(idx):
            m = rows_of(idx, 11)
            first1 = m[:, 0] == 49
            if first1.any():
                self._group_mobile(m[first1], out)
                rest[idx[first1]] = False
        for length in _BANK_ONLY_LENGTHS:
            idx = np.flatnonzero(digits & (lens == length))
            if len(idx):
                self._group_bank(rows_of(idx, length), out)
                rest[idx] = False

    def scan(self, cells: Sequence[str | None]) -> CellStats:
        """The :class:`CellStats` of :meth:`Detector.scan_cells` for this batch."""
        counts, n, nonempty = self.verdicts(cells)
        return stats_from_verdicts(counts, n, nonempty)


def _has_anchors(rx: re.Pattern) -> bool:
    """Does the pattern use ^, $, \\A or \\Z (whose meaning MULTILINE would change)?"""
    from re import _constants as C, _parser as P

    anchors = {C.AT_BEGINNING, C.AT_BEGINNING_LINE, C.AT_END, C.AT_END_LINE, C.AT_BEGINNING_STRING, C.AT_END_STRING}

    def walk(sub) -> bool:
        for op, av in sub:
            if op is C.AT and av in anchors:
                return True
            if op is C.SUBPATTERN and walk(av[-1]):
                return True
            if op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT) and walk(av[2]):
                return True
            if op is C.BRANCH and any(walk(b) for b in av[1]):
                return True
            if op in (C.ASSERT, C.ASSERT_NOT) and walk(av[1]):
                return True
            if op is C.ATOMIC_GROUP and walk(av):
                return True
        return False

    return walk(P.parse(rx.pattern, rx.flags))


def _scalar(obj: object) -> np.ndarray:
    """``obj`` as a 0-d object array (assigning a tuple to object-array elements as one value)."""
    a = np.empty((), dtype=object)
    a[()] = obj
    return a


def stats_from_verdicts(counts: Counter, n: int, nonempty: int) -> CellStats:
    stats = CellStats(cells=n, nonempty=nonempty)
    for (full, contains), cnt in counts.items():
        if full is not None:
            st = stats.entity(full[2])
            st[0] += cnt
            st[1] += full[0] * cnt
        for ent in contains:
            stats.entity(ent)[2] += cnt
    return stats


def scan_column(det: Detector, cells: Sequence[str | None], *, header_entities: Iterable[str] = ()) -> CellStats:
    """One-shot fast equivalent of :meth:`Detector.scan_cells`."""
    return ColumnScanner(det, header_entities).scan(cells)
