"""Recognisers: regular expression + validator + context, loaded from ``data/recognizers.yaml``.

:class:`Detector` finds personal data inside a text (:meth:`Detector.analyze`), decides whether a whole
cell is one identifier (:meth:`Detector.classify_cell`) and scans a batch of cells of one column at
C speed (:meth:`Detector.scan_cells`): the cells are joined with newlines and each pattern runs once
over the batch; only candidates go through Python validation.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import yaml

from opendata.validators import VALIDATORS, AreaCodes, Check

__all__ = ["Recognizer", "Finding", "Detector", "load_recognizers", "default_detector", "DATA_DIR"]

DATA_DIR = Path(__file__).with_name("data")
#: candidate tokens for the 'token' family: starts with a digit, capital, '+' or bracket, then 6+ of the
#: characters identifiers of that family are written with
_TOKEN = re.compile(r"(?<![0-9A-Za-z])[0-9A-Z+(（][0-9A-Za-z+()（）\- ]{6,40}")
#: validators whose inputs repeat in real columns (names, addresses): column scans memoise them
_MEMO_VALIDATORS = frozenset({"cn_name", "cn_address"})
#: libyaml's safe loader where PyYAML was built with it (the pure-Python one takes ~0.1 s per file)
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_FLAGS = {"IGNORECASE": re.IGNORECASE, "MULTILINE": re.MULTILINE, "ASCII": re.ASCII}


@dataclass(frozen=True)
class Finding:
    entity: str
    start: int
    end: int
    text: str
    score: float
    recognizer: str
    normalized: str = ""
    info: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "entity": self.entity,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "score": round(self.score, 3),
            "recognizer": self.recognizer,
        }


@dataclass
class Recognizer:
    name: str
    entity: str
    pattern: str
    category: str = "direct"
    validator: str | None = None
    score: float = 0.5
    context: tuple[str, ...] = ()
    cell_only: bool = False
    operator: dict[str, Any] = field(default_factory=dict)
    priority: int = 0
    flags: int = 0
    prefilter: str | None = None
    family: str | None = None
    #: release gate rule: 'every' -- every validated occurrence in any cell counts (checksum or
    #: structurally validated identifiers); 'share' -- only a column-level detection counts
    gate: str = "share"
    #: a steward may keep this entity in a release with a recorded reason (organisation codes)
    keepable: bool = False

    def __post_init__(self) -> None:
        if self.validator and self.validator not in VALIDATORS:
            raise ValueError(f"recogniser {self.name}: unknown validator {self.validator!r}")
        if self.gate not in ("every", "share"):
            raise ValueError(f"recogniser {self.name}: gate must be 'every' or 'share', not {self.gate!r}")
        flags = self.flags | (re.MULTILINE if self.cell_only else 0)
        self.regex = re.compile(self.pattern, flags)
        self.prefilter_rx = re.compile(self.prefilter) if self.prefilter else None
        #: the pattern might match a newline (white space, negated classes, '.'): column scans then
        #: make sure a match does not run from one cell into the next
        self.may_cross = _may_match_newline(self.regex)
        self.context = tuple(w.lower() for w in self.context)


def _may_match_newline(rx: re.Pattern) -> bool:
    """Can a match of ``rx`` contain a newline? (Walks the parsed pattern; lookarounds consume nothing;
    anything unusual counts as yes.)"""
    try:
        from re import _constants as C, _parser as P  # Python >= 3.11
    except ImportError:  # pragma: no cover
        return True
    nl_cats = {C.CATEGORY_SPACE, C.CATEGORY_NOT_DIGIT, C.CATEGORY_NOT_WORD, C.CATEGORY_UNI_SPACE,
               C.CATEGORY_UNI_NOT_DIGIT, C.CATEGORY_UNI_NOT_WORD, C.CATEGORY_LINEBREAK, C.CATEGORY_UNI_LINEBREAK}
    flags = rx.flags

    def in_class(items) -> bool:
        negate, hit = False, False
        for op, av in items:
            if op is C.NEGATE:
                negate = True
            elif op is C.LITERAL:
                hit |= av == 10
            elif op is C.RANGE:
                hit |= av[0] <= 10 <= av[1]
            elif op is C.CATEGORY:
                hit |= av in nl_cats
            else:
                return True
        return hit != negate

    def walk(sub) -> bool:
        for op, av in sub:
            if op in (C.ASSERT, C.ASSERT_NOT, C.AT):
                continue
            if op is C.LITERAL:
                if av == 10:
                    return True
            elif op is C.NOT_LITERAL:
                if av != 10:
                    return True
            elif op is C.ANY:
                if flags & re.DOTALL:
                    return True
            elif op is C.IN:
                if in_class(av):
                    return True
            elif op is C.CATEGORY:
                if av in nl_cats:
                    return True
            elif op is C.SUBPATTERN:
                if walk(av[-1]):
                    return True
            elif op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
                if walk(av[2]):
                    return True
            elif op is C.BRANCH:
                if any(walk(b) for b in av[1]):
                    return True
            elif op is C.ATOMIC_GROUP:
                if walk(av):
                    return True
            else:
                return True
        return False

    return walk(P.parse(rx.pattern, flags))


def load_recognizers(path: str | Path | None = None) -> tuple[list[Recognizer], dict[str, Any]]:
    """Read a recogniser list (YAML). Returns the recognisers and the file's global settings."""
    doc = yaml.load(Path(path or DATA_DIR / "recognizers.yaml").read_text(encoding="utf-8"), Loader=SAFE_LOADER)
    out = []
    for spec in doc["recognizers"]:
        spec = dict(spec)
        flags = 0
        for f in spec.pop("flags", []) or []:
            flags |= _FLAGS[f]
        spec["context"] = tuple(spec.get("context") or ())
        out.append(Recognizer(flags=flags, **spec))
    settings = {k: v for k, v in doc.items() if k != "recognizers"}
    return out, settings


def _area_codes_from_env() -> AreaCodes | None:
    path = os.environ.get("CITYGOV_OPENDATA_AREA_CODES")
    return AreaCodes.load(path) if path else None


class Detector:
    """A configured set of recognisers.

    ``area_codes`` (optional) makes resident-ID validation reject unknown area codes; ``strict_area``
    additionally requires the code to be valid in the birth year. ``threshold`` drops weaker findings.
    """

    def __init__(
        self,
        recognizers: Sequence[Recognizer] | None = None,
        *,
        area_codes: AreaCodes | None = None,
        strict_area: bool = False,
        threshold: float = 0.5,
        context_window: int = 24,
        context_boost: float = 0.25,
    ):
        if recognizers is None:
            recognizers, settings = load_recognizers()
            context_window = settings.get("context_window", context_window)
            context_boost = settings.get("context_boost", context_boost)
        self.recognizers = list(recognizers)
        self.area_codes = area_codes
        self.strict_area = strict_area
        self.threshold = threshold
        self.context_window = context_window
        self.context_boost = context_boost
        self._by_entity: dict[str, list[Recognizer]] = {}
        self._memos: dict[str, dict[str, Check]] = {}
        for r in self.recognizers:
            self._by_entity.setdefault(r.entity, []).append(r)

    # -- single values -------------------------------------------------------------------------
    def entities(self) -> list[str]:
        return sorted(self._by_entity)

    def recognizer(self, name: str) -> Recognizer:
        for r in self.recognizers:
            if r.name == name:
                return r
        raise KeyError(name)

    def check(self, rec: Recognizer, value: str) -> Check:
        if not rec.validator:
            return Check(True, value)
        fn: Callable[..., Check] = VALIDATORS[rec.validator]
        return fn(value, area_codes=self.area_codes, strict=self.strict_area)

    def validate(self, entity: str, value: str) -> Check:
        """Is ``value`` (the whole string) a valid ``entity``? Uses that entity's recognisers."""
        last = Check(False, value, "NoMatch")
        for rec in self._by_entity.get(entity, []):
            m = rec.regex.fullmatch(value.strip()) if not rec.cell_only else rec.regex.match(value.strip())
            if not m:
                continue
            last = self.check(rec, m.group("value") if "value" in rec.regex.groupindex else m.group(0))
            if last.ok:
                return last
        if entity == "CN_RESIDENT_ID" and len(value.strip()) == 18:
            return self.check(self.recognizer("cn_resident_id"), value)
        return last

    def _memo_validator(self, name: str) -> Callable[..., Check]:
        """``VALIDATORS[name]`` remembering its results (a bounded dict per detector; validators are
        pure functions of the value and the detector's settings)."""
        memo = self._memos.setdefault(name, {})
        fn = VALIDATORS[name]

        def check(value: str, **kw: Any) -> Check:
            got = memo.get(value)
            if got is None:
                if len(memo) >= 1 << 16:
                    memo.clear()
                got = memo[value] = fn(value, **kw)
            return got

        return check

    def _context_score(self, rec: Recognizer, text: str, start: int, base: float) -> float:
        if rec.context and start > 0:
            window = text[max(0, start - self.context_window) : start].lower()
            if any(w in window for w in rec.context):
                return min(1.0, base + self.context_boost)
        return base

    def analyze(
        self,
        text: str,
        *,
        entities: Iterable[str] | None = None,
        threshold: float | None = None,
        cell: bool = False,
        hinted: Iterable[str] = (),
    ) -> list[Finding]:
        """Findings inside ``text`` (overlaps resolved: higher score, then priority, then length win).
        ``cell=True`` also runs cell-only recognisers (the text is one table cell); ``hinted``: entities
        the cell's column header suggests (they get the context boost, as in column scans)."""
        hinted = frozenset(hinted)
        wanted = set(entities) if entities is not None else None
        thr = self.threshold if threshold is None else threshold
        cands: list[tuple[float, int, Finding]] = []
        for rec in self.recognizers:
            if wanted is not None and rec.entity not in wanted:
                continue
            if rec.cell_only and not cell:
                continue
            has_value = "value" in rec.regex.groupindex
            for m in rec.regex.finditer(text):
                s, e = m.span("value") if has_value else m.span()
                chk = self.check(rec, text[s:e])
                if not chk.ok:
                    continue
                e -= chk.end_trim
                if rec.entity in hinted:
                    score = min(1.0, rec.score * chk.weight + self.context_boost)
                else:
                    score = self._context_score(rec, text, m.start(), rec.score * chk.weight)
                if score < (min(thr, 0.4) if rec.cell_only else thr):  # as scan_lines judges a cell
                    continue
                f = Finding(chk.entity or rec.entity, s, e, text[s:e], score, rec.name, chk.normalized, chk.info)
                cands.append((score, rec.priority, f))
        return _resolve(cands)

    def classify_cell(self, value: str, *, threshold: float | None = None) -> Finding | None:
        """The entity the whole cell is, if any."""
        v = value.strip()
        if not v:
            return None
        for f in self.analyze(v, threshold=threshold, cell=True):
            if f.start == 0 and f.end == len(v):
                return f
        return None

    # -- columns ---------------------------------------------------------------------------------
    def scan_cells(self, cells: Sequence[str], *, header_entities: Iterable[str] = ()) -> "CellStats":
        """Scan one column's cells. Returns per-entity counts of whole-cell matches and of cells
        containing a match. Header-hinted entities get the context boost.

        Every cell is judged on its own (a match never spans two cells); :mod:`opendata.fastscan`
        computes the same statistics faster."""
        stats = CellStats()
        clean = [clean_cell(c) for c in cells]
        stats.cells += len(clean)
        nonempty = sum(1 for c in clean if c)
        stats.nonempty += nonempty
        if not nonempty:
            return stats
        best_full, contains = self.scan_lines(clean, frozenset(header_entities))
        for score, _prio, entity in best_full.values():
            st = stats.entity(entity)
            st[0] += 1
            st[1] += score
        for entity, lines in contains.items():
            stats.entity(entity)[2] += len(lines)
        return stats

    def scan_lines(
        self, clean: Sequence[str], hinted: frozenset[str] | set[str], *, token_text: bool = False,
        only: set[str] | None = None,
    ) -> tuple[dict[int, tuple[float, int, str]], dict[str, set[int]]]:
        """Per-cell verdicts for cleaned cells (no newlines, stripped): ``(best whole-cell match per
        line as (score, priority, entity), entity -> lines containing a match)``. The cells are joined
        with newlines and each pattern runs once over the batch; only candidates go through Python
        validation. A match that would cross a cell boundary is not used (the cell is re-searched alone).
        ``token_text`` (for the packaged recognisers, whose token patterns only look one character
        behind) runs each token-family pattern once over the blanked-out text instead of per token.
        ``only``: names of the recognisers that can match at all (the caller knows the others'
        necessary conditions fail on every cell)."""
        joined = "\n".join(clean)
        starts = [0]
        pos = 0
        for c in clean[:-1]:
            pos += len(c) + 1
            starts.append(pos)
        best_full: dict[int, tuple[float, int, str]] = {}
        claimed: dict[tuple[int, int], float] = {}  # span -> best score so far (skip weaker re-validation)
        contains: dict[str, set[int]] = {}
        thr = self.threshold
        if not joined:
            return best_full, contains

        def consume(rec: Recognizer, matches: Iterable[re.Match]) -> None:
            has_value = "value" in rec.regex.groupindex
            boost = self.context_boost if rec.entity in hinted else 0.0
            rthr = min(thr, 0.4) if rec.cell_only else thr
            top_possible = min(1.0, rec.score + boost)
            validator = VALIDATORS[rec.validator] if rec.validator else None
            kw = {"area_codes": self.area_codes, "strict": self.strict_area}
            if rec.validator in _MEMO_VALIDATORS:  # names and addresses repeat: remember their checks
                validator = self._memo_validator(rec.validator)
            r_score, r_entity, r_prio = rec.score, rec.entity, rec.priority
            claimed_get, best_get, contains_get = claimed.get, best_full.get, contains.get
            bisect_right = bisect.bisect_right
            for m in matches:
                s, e = m.span("value") if has_value else m.span()
                prev = claimed_get((s, e))
                if prev is not None and prev >= top_possible:
                    continue
                if validator is not None:
                    chk = validator(joined[s:e], **kw)
                    if not chk.ok:
                        continue
                    e -= chk.end_trim
                    weight, entity = chk.weight, chk.entity or r_entity
                else:
                    weight, entity = 1.0, r_entity
                # in a column the header hint is the context (the text before a cell is another cell)
                score = min(1.0, r_score * weight + boost)
                if score < rthr:
                    continue
                if prev is None or score > prev:
                    claimed[(s, e)] = score
                line = bisect_right(starts, s) - 1
                lines = contains_get(entity)
                if lines is None:
                    contains[entity] = {line}
                else:
                    lines.add(line)
                ls = starts[line]
                if s == ls and e == ls + len(clean[line]):
                    old = best_get(line)
                    if old is None or (score, r_prio) > old[:2]:
                        best_full[line] = (score, r_prio, entity)

        def within_cells(rx: re.Pattern) -> Iterator[re.Match]:
            # finditer over the batch, except that a match crossing a newline is replaced by the
            # matches found in its first cell alone (what a scan of that cell by itself finds)
            pos, n = 0, len(joined)
            while pos <= n:
                m = rx.search(joined, pos)
                if m is None:
                    return
                ms, me = m.span()
                nl = joined.find("\n", ms, me)
                if nl < 0:
                    yield m
                    pos = me if me > ms else me + 1
                    continue
                le = joined.find("\n", ms)
                yield from rx.finditer(joined, ms, le)
                pos = le + 1

        ordered = sorted(self.recognizers, key=lambda r: -r.score)
        if only is not None:
            ordered = [r for r in ordered if r.name in only]
        token_recs = [r for r in ordered if r.family == "token"]
        if token_recs:
            spans = [t.span() for t in _TOKEN.finditer(joined)]
            if token_text and spans:
                # the tokens in place, everything else blanked out: one pass of each pattern over this
                # text finds what a pass over each token (pos/endpos) finds, provided no two tokens
                # touch and no token follows a '+' (the mobile pattern's look-behind): such tokens are
                # searched one by one
                pieces: list[str] = []
                alone: list[tuple[int, int]] = []
                prev = -1
                for a, b in spans:
                    if a == prev or (a and joined[a - 1] == "+"):
                        alone.append((a, b))
                        continue
                    pieces.append("\n" * (a - max(prev, 0)))
                    pieces.append(joined[a:b])
                    prev = b
                text = "".join(pieces)
                for rec in token_recs:
                    rx = rec.regex
                    consume(rec, itertools.chain(rx.finditer(text), (m for a, b in alone for m in rx.finditer(joined, a, b))))
            else:
                for rec in token_recs:
                    rx = rec.regex
                    consume(rec, (m for a, b in spans for m in rx.finditer(joined, a, b)))
        for rec in ordered:
            if rec.family == "token":
                continue
            if rec.prefilter_rx is not None and rec.prefilter_rx.search(joined) is None:
                continue
            consume(rec, within_cells(rec.regex) if rec.may_cross else rec.regex.finditer(joined))
        return best_full, contains


def clean_cell(c: str | None) -> str:
    """A cell as column scans see it: newlines become spaces, surrounding white space goes."""
    return c.replace("\n", " ").replace("\r", " ").strip() if c else ""


@dataclass
class CellStats:
    cells: int = 0
    nonempty: int = 0
    #: entity -> [whole-cell matches, sum of their scores, cells containing a match]
    by_entity: dict[str, list[float]] = field(default_factory=dict)

    def entity(self, name: str) -> list[float]:
        return self.by_entity.setdefault(name, [0, 0.0, 0])

    def merge(self, other: "CellStats") -> None:
        self.cells += other.cells
        self.nonempty += other.nonempty
        for k, v in other.by_entity.items():
            st = self.entity(k)
            for i in range(3):
                st[i] += v[i]


def _resolve(cands: list[tuple[float, int, Finding]]) -> list[Finding]:
    cands.sort(key=lambda c: (-c[0], -c[1], -(c[2].end - c[2].start), c[2].start))
    kept: list[Finding] = []
    for _s, _p, f in cands:
        if all(f.end <= k.start or f.start >= k.end for k in kept):
            kept.append(f)
    kept.sort(key=lambda f: f.start)
    return kept


@functools.lru_cache(maxsize=1)
def default_detector() -> Detector:
    """Detector over the packaged recogniser list (area codes from CITYGOV_OPENDATA_AREA_CODES if set)."""
    return Detector(area_codes=_area_codes_from_env())
