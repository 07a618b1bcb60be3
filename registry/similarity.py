"""Duplicate-construction detection: character n-gram TF-IDF cosine plus structured overlap.

Text: title + summary + capability tags, NFKC-normalised and lower-cased, cut into character 2- and 3-grams
(works for Chinese without word segmentation, and for mixed Chinese/English), hashed into 2**22 features,
weighted ``(1 + log tf) · idf`` and L2-normalised, so cosine is a dot product.

Index: a sparse document × feature matrix kept both row-major (exact re-scoring) and column-major (postings
for candidate generation), plus a small "pending" block that new documents go into immediately — a new
submission is searchable at once, and pending rows are merged into the main block in batches (amortised, no
full rebuild). A query first scores every document on its rarest n-grams that occur in the library, as many as fit a
postings budget (the postings of rare n-grams are short), then re-scores a candidate pool exactly with the full query vector, adds
the structured overlap (same capability tags, data resources, interfaces, organisation, district) and ranks.
:func:`explain` says why a pair matched: shared phrases, tags, data resources and interfaces.
"""

from __future__ import annotations

import functools
import math
import re
import sys
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # scipy is imported by the code that builds or merges matrices, not by queries
    from scipy import sparse

N_FEATURES = 1 << 22
TEXT_WEIGHT = 0.75
#: a query written largely in English (after the glossary) shares fewer n-grams with its Chinese original and
#: more with unrelated English boilerplate: the structured overlap (organisation, district, data resources,
#: interfaces, tags) then carries more of the evidence
TEXT_WEIGHT_MIXED = 0.5
MIXED_LATIN_SHARE = 0.2
STRUCT_WEIGHTS = {"t": 0.35, "d": 0.35, "i": 0.15, "o": 0.10, "g": 0.05}
_PUNCT = re.compile(r"[\W_]+", re.UNICODE)
_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xBF58476D1CE4E5B9)
_SALT3 = np.uint64(0x94D049BB133111EB)


@functools.lru_cache(maxsize=512)
def normalise(text: str) -> str:
    """NFKC, lower case, punctuation as spaces (cached: an explanation normalises the query once per match)."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    return _PUNCT.sub(" ", text).strip()


# ---------------------------------------------------------------------------- zh ↔ en glossary

_GLOSSARY_SCHEMA = {
    "type": "object", "required": ["version", "terms"], "additionalProperties": False,
    "properties": {"version": {"const": 1}, "terms": {"type": "array", "items": {
        "type": "object", "required": ["zh", "en"], "additionalProperties": False,
        "properties": {"zh": {"type": "string", "minLength": 1},
                       "en": {"oneOf": [{"type": "string", "minLength": 1},
                                        {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}}]}}}}},
}
_ASCII_WORD = re.compile(r"[a-z]")
_CJK = "\u3400-\u9fff"


def _glossary_text() -> str:
    from importlib import resources

    return resources.files("registry").joinpath("data/glossary.yaml").read_text(encoding="utf-8")


@cache
def glossary_digest() -> str:
    """The digest of what the glossary is made from (``glossary.yaml`` and the proposal schema, whose code lists
    carry bilingual titles): the text model's data. A persisted index records it and is rebuilt when it changes
    (an official edits the glossary: every stored vector was made with the old one)."""
    import hashlib

    from registry.proposal import packaged_schema_text

    h = hashlib.sha256(_glossary_text().encode("utf-8"))
    h.update(b"\x00")
    h.update(packaged_schema_text().encode("utf-8"))
    return h.hexdigest()[:32]


#: glossary pairs already derived from the data of a given digest (a persisted index carries them, so a cold
#: process need not parse and validate the YAML again); only ever used for that same digest
_DERIVED: dict[str, dict[str, str]] = {}


def adopt_glossary_pairs(digest: str, pairs: dict[str, str]) -> None:
    """Use ``pairs`` (derived earlier from the data of ``digest``) instead of deriving them again, if the data
    has not changed since."""
    if digest == glossary_digest() and isinstance(pairs, dict):
        _DERIVED.setdefault(digest, {str(k): str(v) for k, v in pairs.items()})


@cache
def glossary_pairs() -> dict[str, str]:
    """English term → Chinese term, from ``registry/data/glossary.yaml`` (validated) and the bilingual titles of
    the proposal schema's code lists ("宽带网络 broadband network")."""
    derived = _DERIVED.get(glossary_digest())
    if derived is not None:
        return derived
    import jsonschema
    import yaml

    doc = yaml.safe_load(_glossary_text())
    jsonschema.validate(doc, _GLOSSARY_SCHEMA)
    pairs: dict[str, str] = {}
    try:
        from registry.proposal import packaged_schema

        props = packaged_schema()["properties"]
        for code_list in ("area", "construction_mode", "deployment"):
            for item in props[code_list].get("oneOf", []):
                title = str(item.get("title", ""))
                m = re.match(r"^([^a-zA-Z]+?)\s*([a-zA-Z].*)$", title)
                if m:
                    zh = re.sub(r"[（(].*?[)）]", "", m.group(1)).strip()
                    en = normalise(re.split(r",", m.group(2))[0])
                    if zh and en:
                        pairs.setdefault(en, normalise(zh))
    except (KeyError, ValueError, OSError):  # pragma: no cover - the packaged schema is always there
        pass
    for entry in doc["terms"]:
        ens = entry["en"] if isinstance(entry["en"], list) else [entry["en"]]
        for en in ens:
            pairs[normalise(en)] = normalise(entry["zh"])
    return {k: v for k, v in pairs.items() if k and v}


@cache
def glossary() -> tuple[re.Pattern[str] | None, dict[str, str]]:
    """The glossary's pairs (see :func:`glossary_pairs`) and their compiled matcher (longest first)."""
    pairs = glossary_pairs()
    if not pairs:
        return None, {}
    alternation = "|".join(re.escape(k) for k in sorted(pairs, key=len, reverse=True))
    return re.compile(r"(?<![a-z0-9])(" + alternation + r")(?:s|es)?(?![a-z0-9])"), pairs


_JOIN = re.compile("\x00\\s*\x00")
_LEFT = re.compile("(?<=[" + _CJK + "])\\s+\x00")
_RIGHT = re.compile("\x00\\s+(?=[" + _CJK + "])")


def canonical(text: str) -> str:
    """Normalised text with the glossary's English terms replaced by their Chinese equivalents, glued to the
    Chinese around them, so that a sentence restated in English shares character n-grams with the original."""
    s = normalise(text)
    if not _ASCII_WORD.search(s):
        return s
    pattern, pairs = glossary()
    if pattern is None:
        return s
    s = pattern.sub(lambda m: "\x00" + pairs[m.group(1)] + "\x00", s)
    if "\x00" not in s:
        return s
    s = _JOIN.sub("", s)
    s = _LEFT.sub("\x00", s)
    s = _RIGHT.sub("\x00", s)
    return s.replace("\x00", "").strip()


def latin_share(text: str) -> float:
    """The share of Latin letters among the letters of ``text`` once the glossary's terms are in Chinese."""
    s = canonical(text)
    latin = sum(1 for c in s if "a" <= c <= "z")
    letters = latin + sum(1 for c in s if "\u3400" <= c <= "\u9fff")
    return latin / letters if letters else 0.0


def cross_language(a: str, b: str, *, limit: int = 8) -> list[str]:
    """Glossary terms written in English in one text and in Chinese in the other ("video surveillance ↔ 视频监控")."""
    pattern, pairs = glossary()
    if pattern is None:
        return []
    out: list[str] = []
    na, nb = normalise(a), normalise(b)
    for src, dst in ((na, nb), (nb, na)):
        for en, zh in _glossary_terms_in(src, pattern):
            item = f"{en} ↔ {zh}"
            if zh in dst and en not in dst and item not in out:
                out.append(item)
    return out[:limit]


@functools.lru_cache(maxsize=512)
def _glossary_terms_in(text: str, pattern: re.Pattern[str]) -> tuple[tuple[str, str], ...]:
    """The glossary's English terms found in a normalised text, with their Chinese (cached per text and
    glossary pattern: a query is compared with each of its matches)."""
    pairs = glossary()[1]
    return tuple((m.group(1), pairs[m.group(1)]) for m in pattern.finditer(text))


def _mix(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint64(31))
    h = h * _M2
    h = h ^ (h >> np.uint64(29))
    return (h % np.uint64(N_FEATURES)).astype(np.int64)


def term_counts(text: str) -> tuple[np.ndarray, np.ndarray]:
    """Hashed character 2- and 3-gram ids of ``text`` (canonicalised: see :func:`canonical`) and their counts."""
    s = canonical(text)
    if len(s) < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    c = np.frombuffer(s.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    with np.errstate(over="ignore"):
        h2 = (c[:-1] * _M1) ^ c[1:]
        parts = [_mix(h2)]
        if len(c) >= 3:
            h3 = ((c[:-2] * _M1) ^ (c[1:-1] * _M2) ^ c[2:]) + _SALT3
            parts.append(_mix(h3))
    ids, counts = np.unique(np.concatenate(parts), return_counts=True)
    return ids, counts.astype(np.float32)


def features_of(data: dict[str, Any], org: str | None = None, district: str | None = None) -> frozenset[str]:
    """Structured features: capability tags ``t:``, data resources ``d:``, interfaces ``i:``, organisation
    ``o:`` and district ``g:``."""
    out = set()
    for tag in data.get("capability_tags") or []:
        out.add("t:" + canonical(str(tag)))
    for res in data.get("data_resources") or []:
        out.add("d:" + canonical(str(res)))
    for key in ("interfaces_provided", "interfaces_consumed"):
        for item in data.get(key) or []:
            name = item.get("name") if isinstance(item, dict) else item
            if name:
                out.add("i:" + canonical(str(name)))
    org = org if org is not None else data.get("organisation")
    district = district if district is not None else data.get("district")
    if org:
        out.add("o:" + str(org))
    district = canonical(str(district)) if district else ""
    if district and district not in ("全市", "citywide"):
        out.add("g:" + district)
    return frozenset(sys.intern(x) for x in out)


def _kind_counts(feats: Iterable[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for x in feats:
        counts[x[0]] = counts.get(x[0], 0) + 1
    return counts


def structured_score(a: frozenset[str], b: frozenset[str], a_counts: dict[str, int] | None = None) -> float:
    """The weighted Jaccard overlap of two feature sets, kind by kind (``a_counts``: ``a``'s features per kind,
    when ``a`` is scored against many)."""
    ca = a_counts if a_counts is not None else _kind_counts(a)
    cb = _kind_counts(b)
    both = _kind_counts(a & b)
    score = 0.0
    for kind, weight in STRUCT_WEIGHTS.items():
        na, nb = ca.get(kind, 0), cb.get(kind, 0)
        if na and nb:
            common = both.get(kind, 0)
            score += weight * common / (na + nb - common)
    return score


@dataclass
class Match:
    id: str
    score: float
    text_score: float
    struct_score: float


@dataclass
class Compressed:
    """A compressed sparse matrix as three numpy arrays (row-major for the CSR, column-major for the CSC
    copy): what a query reads. A snapshot is mapped into these without importing scipy; building and merging
    use scipy matrices, which expose the same ``data`` / ``indices`` / ``indptr`` / ``shape``."""

    data: np.ndarray
    indices: np.ndarray
    indptr: np.ndarray
    shape: tuple[int, int]

    @classmethod
    def empty(cls, rows: int, cols: int, *, column_major: bool = False) -> Compressed:
        return cls(np.zeros(0, np.float32), np.zeros(0, np.int32),
                   np.zeros((cols if column_major else rows) + 1, np.int64), (rows, cols))


def _slices(values: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """``values[s:e]`` for each (s, e), end to end: contiguous copies (faster than gathering an index array)."""
    values = values.view(np.ndarray)  # a mapped snapshot's np.memmap: plain slices, no per-slice subclass hooks
    if len(starts) == 0:
        return values[:0].copy()
    return np.concatenate([values[a:b] for a, b in zip(starts.tolist(), ends.tolist())])


def take_rows(m: Any, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(indptr, indices, data)`` of the given rows of a CSR matrix (``Compressed`` or scipy), in order."""
    starts, ends = m.indptr[rows], m.indptr[rows + 1]
    lens = (ends - starts).astype(np.int64)
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(lens, out=indptr[1:])
    return indptr, _slices(m.indices, starts, ends), _slices(m.data, starts, ends)


def _scipy_csr(m: Any) -> Any:
    from scipy import sparse

    if isinstance(m, Compressed):
        return sparse.csr_matrix((m.data, m.indices, m.indptr), shape=m.shape)
    return m


@dataclass
class _Block:
    rows: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)


class SimilarityIndex:
    """An incremental char n-gram TF-IDF index with structured re-ranking (thread-safe)."""

    def __init__(self, *, merge_every: int = 4096, postings_budget: int = 400_000, pool: int = 300):
        self.merge_every = merge_every
        self.postings_budget = postings_budget
        self.pool = pool
        self.ids: list[str] = []
        self.pos: dict[str, int] = {}
        self.features: list[frozenset[str]] = []
        self.alive = np.zeros(0, dtype=bool)
        self.df = np.zeros(N_FEATURES, dtype=np.int32)
        self.live = 0
        self.csr: Any = Compressed.empty(0, N_FEATURES)
        self.csc: Any = Compressed.empty(0, N_FEATURES, column_major=True)
        self.pending_start = 0  # rows >= pending_start are in self.pending
        self.pending: list[tuple[np.ndarray, np.ndarray]] = []
        self._pending_cache = None
        self._slot: np.ndarray | None = None  # see _row_dots
        self._lock = threading.RLock()

    # ----------------------------------------------------------------------------- building

    def __len__(self) -> int:
        return self.live

    def __contains__(self, doc_id: str) -> bool:
        p = self.pos.get(doc_id)
        return p is not None and bool(self.alive[p])

    def idf(self, ids: np.ndarray) -> np.ndarray:
        return (np.log((1.0 + self.live) / (1.0 + self.df[ids])) + 1.0).astype(np.float32)

    def _weights(self, ids: np.ndarray, counts: np.ndarray) -> np.ndarray:
        w = (1.0 + np.log(counts)) * self.idf(ids)
        n = float(np.sqrt(np.dot(w, w)))
        return (w / n).astype(np.float32) if n > 0 else w.astype(np.float32)

    def build(self, docs: Iterable[tuple[str, str, frozenset[str]]]) -> None:
        """Bulk-load ``(id, text, features)`` (replaces the index): global IDF, one matrix. Two passes over
        compact per-document arrays keep the peak memory near the size of the final index."""
        with self._lock:
            self.__init__(merge_every=self.merge_every, postings_budget=self.postings_budget, pool=self.pool)
            per_doc: list[tuple[np.ndarray, np.ndarray]] = []
            for doc_id, text, feats in docs:
                ids, counts = term_counts(text)
                self.pos[doc_id] = len(self.ids)
                self.ids.append(doc_id)
                self.features.append(feats)
                per_doc.append((ids.astype(np.int32), np.minimum(counts, 65535).astype(np.uint16)))
                self.df[ids] += 1
            n = len(self.ids)
            self.alive = np.ones(n, dtype=bool)
            self.live = n
            if n == 0:
                return
            lens = np.fromiter((len(r[0]) for r in per_doc), dtype=np.int64, count=n)
            indptr = np.zeros(n + 1, dtype=np.int64)
            np.cumsum(lens, out=indptr[1:])
            nnz = int(indptr[-1])
            indices = np.empty(nnz, dtype=np.int32)
            data = np.empty(nnz, dtype=np.float32)
            idf_all = (np.log((1.0 + n) / (1.0 + self.df)) + 1.0).astype(np.float32)
            for i in range(n):
                ids, counts = per_doc[i]
                w = (1.0 + np.log(counts.astype(np.float32))) * idf_all[ids]
                norm = float(np.sqrt(np.dot(w, w))) or 1.0
                a, b = indptr[i], indptr[i + 1]
                indices[a:b] = ids
                data[a:b] = w / norm
                per_doc[i] = None  # type: ignore[call-overload]
            del per_doc
            from scipy import sparse

            self.csr = sparse.csr_matrix((data, indices, indptr), shape=(n, N_FEATURES))
            self.csc = self.csr.tocsc()
            self.pending_start = n

    def add(self, doc_id: str, text: str, feats: frozenset[str] = frozenset()) -> None:
        """Add or replace one document; searchable immediately."""
        with self._lock:
            if doc_id in self.pos:
                self.remove(doc_id)
            ids, counts = term_counts(text)
            self.df[ids] += 1
            self.live += 1
            self.pos[doc_id] = len(self.ids)
            self.ids.append(doc_id)
            self.features.append(feats)
            self.alive = np.append(self.alive, True)
            self.pending.append((ids.astype(np.int32), self._weights(ids, counts)))
            if len(self.pending) >= self.merge_every:
                self._merge()

    def remove(self, doc_id: str) -> None:
        with self._lock:
            p = self.pos.pop(doc_id, None)
            if p is None or not self.alive[p]:
                return
            self.alive[p] = False
            self.live -= 1
            if p < self.pending_start:
                cols = self.csr.indices[self.csr.indptr[p]:self.csr.indptr[p + 1]]
            else:
                cols = self.pending[p - self.pending_start][0]
            self.df[cols] -= 1

    def _pending_matrix(self) -> sparse.csr_matrix:
        from scipy import sparse

        if not self.pending:
            return sparse.csr_matrix((0, N_FEATURES), dtype=np.float32)
        lens = [len(r[0]) for r in self.pending]
        indptr = np.zeros(len(lens) + 1, dtype=np.int64)
        indptr[1:] = np.cumsum(lens)
        return sparse.csr_matrix((np.concatenate([r[1] for r in self.pending]),
                                  np.concatenate([r[0] for r in self.pending]), indptr),
                                 shape=(len(lens), N_FEATURES))

    def _merge(self) -> None:
        from scipy import sparse

        self.csr = sparse.vstack([_scipy_csr(self.csr), self._pending_matrix()], format="csr")
        self.csc = self.csr.tocsc()
        self.pending = []
        self._pending_cache = None
        self.pending_start = self.csr.shape[0]

    # ----------------------------------------------------------------------------- querying

    def vector(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        ids, counts = term_counts(text)
        return ids, self._weights(ids, counts)

    def _pending_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._pending_cache is None or self._pending_cache[0] != len(self.pending):
            lens = [len(r[0]) for r in self.pending]
            indptr = np.zeros(len(lens) + 1, dtype=np.int64)
            indptr[1:] = np.cumsum(lens)
            idx = np.concatenate([r[0] for r in self.pending]) if self.pending else np.zeros(0, np.int32)
            dat = np.concatenate([r[1] for r in self.pending]) if self.pending else np.zeros(0, np.float32)
            self._pending_cache = (len(self.pending), indptr, idx, dat)
        return self._pending_cache[1], self._pending_cache[2], self._pending_cache[3]

    def _row_dots(self, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, q_ids: np.ndarray,
                  q_w: np.ndarray) -> np.ndarray:
        """Dot products of CSR rows with the sparse query (``q_ids`` distinct). Each query n-gram's weight is
        found through a slot table over the feature space (one gather; a binary search per stored n-gram costs
        several times more); the table is the index's, used under its lock and cleared after each use."""
        n = len(indptr) - 1
        if n == 0 or len(q_ids) == 0 or len(indices) == 0:
            return np.zeros(n, dtype=np.float32)
        if self._slot is None:
            self._slot = np.zeros(N_FEATURES, dtype=np.int32)  # zero pages: only the touched ones take memory
        slot = self._slot
        slot[q_ids] = np.arange(1, len(q_ids) + 1, dtype=np.int32)
        try:
            contrib = data * np.concatenate(([0.0], q_w)).astype(np.float32)[slot[indices]]
        finally:
            slot[q_ids] = 0
        row_of = np.repeat(np.arange(n), np.diff(indptr))
        return np.bincount(row_of, weights=contrib, minlength=n)

    def _select(self, q_ids: np.ndarray) -> np.ndarray:
        """The query n-grams used for candidate generation: the rarest ones that occur in the library, as
        many as fit a postings budget (rare n-grams carry the evidence and have short postings; n-grams made
        by typos occur nowhere and are skipped)."""
        df = self.df[q_ids].astype(np.int64)
        order = np.argsort(df, kind="stable")
        order = order[df[order] > 0]
        within = np.cumsum(df[order]) <= self.postings_budget
        keep = max(int(within.sum()), min(len(order), 16))
        return order[:keep]

    def _postings_scores(self, cols: np.ndarray, weights: np.ndarray, n_base: int) -> np.ndarray:
        """Scores of every base document on the given feature columns (sum over their postings)."""
        indptr = self.csc.indptr
        starts, ends = indptr[cols], indptr[cols + 1]
        lens = ends - starts
        if int(lens.sum()) == 0:
            return np.zeros(n_base, dtype=np.float64)
        rows = _slices(self.csc.indices, starts, ends)
        w = _slices(self.csc.data, starts, ends) * np.repeat(weights, lens)
        return np.bincount(rows, weights=w, minlength=n_base)

    def query(self, text: str, feats: frozenset[str] = frozenset(), *, top: int = 5,
              exclude: Iterable[str] = (), exact: bool = False) -> list[Match]:
        """The ``top`` most similar live documents. ``exact`` scores every document on the full query
        vector (the brute-force baseline of the benchmark)."""
        with self._lock:
            if self.live == 0:
                return []
            q_ids, q_w = self.vector(text)
            if len(q_ids) == 0 and not feats:
                return []
            n_base = self.pending_start
            excluded = {self.pos[e] for e in exclude if e in self.pos}
            text_scores: dict[int, float] = {}
            if n_base and len(q_ids):
                if exact:
                    full = self._postings_scores(q_ids, q_w, n_base)
                    cand = np.flatnonzero(full > 0)
                    text_scores.update(zip(cand.tolist(), full[cand].tolist()))
                else:
                    sel = self._select(q_ids)
                    partial = self._postings_scores(q_ids[sel], q_w[sel], n_base)
                    partial[~self.alive[:n_base]] = 0.0
                    k = min(n_base, self.pool)
                    cand = np.argpartition(-partial, k - 1)[:k] if k < n_base else np.arange(n_base)
                    cand = cand[partial[cand] > 0]
                    if len(cand):
                        exact_scores = self._row_dots(*take_rows(self.csr, np.sort(cand)), q_ids, q_w)
                        text_scores.update(zip(np.sort(cand).tolist(), exact_scores.tolist()))
            if self.pending and len(q_ids):
                indptr, idx, dat = self._pending_arrays()
                s = self._row_dots(indptr, idx, dat, q_ids, q_w)
                text_scores.update(zip(range(n_base, n_base + len(s)), s.tolist()))
            if feats and n_base <= 5000:
                for p in self._struct_candidates(feats, n_base):
                    text_scores.setdefault(int(p), 0.0)
            live = [(p, ts) for p, ts in text_scores.items() if self.alive[p] and p not in excluded]
            # structured overlap re-ranks the best text candidates
            live.sort(key=lambda t: -t[1])
            shortlist = live[:max(50, top * 5)] if not (feats and n_base <= 5000) else live
            out = []
            tw = TEXT_WEIGHT_MIXED if latin_share(text) >= MIXED_LATIN_SHARE else TEXT_WEIGHT
            counts = _kind_counts(feats)
            for p, ts in shortlist:
                st = structured_score(feats, self.features[p], counts) if feats else 0.0
                total = tw * ts + (1 - tw) * st if feats else ts
                out.append(Match(self.ids[p], round(total, 4), round(ts, 4), round(st, 4)))
            out.sort(key=lambda m: (-m.score, m.id))
            return out[:top]

    def _struct_candidates(self, feats: frozenset[str], n_base: int) -> list[int]:
        """Documents sharing two or more tags / data resources / interfaces with the query (small libraries:
        in large ones the text postings carry the candidate generation)."""
        keys = {f for f in feats if f[0] in "tdi"}
        if len(keys) < 2:
            return []
        return [p for p in range(n_base) if len(keys & self.features[p]) >= 2]

    def memory_bytes(self) -> int:
        m = self.csr.data.nbytes + self.csr.indices.nbytes + self.csr.indptr.nbytes
        m += self.csc.data.nbytes + self.csc.indices.nbytes + self.csc.indptr.nbytes
        return m + self.df.nbytes + self.alive.nbytes


# ------------------------------------------------------------------------------- explanations


def shared_phrases(a: str, b: str, *, min_len: int = 4, limit: int = 6) -> list[str]:
    """Maximal runs of ``a`` covered by character trigrams that also occur in ``b``."""
    na, nb = normalise(a), normalise(b)
    grams = {nb[i:i + 3] for i in range(len(nb) - 2)}
    covered = [False] * len(na)
    for i in range(len(na) - 2):
        if na[i:i + 3] in grams:
            covered[i] = covered[i + 1] = covered[i + 2] = True
    phrases, start = [], None
    for i, c in enumerate(covered + [False]):
        if c and start is None:
            start = i
        elif not c and start is not None:
            phrase = na[start:i].strip()
            if len(phrase) >= min_len:
                phrases.append(phrase)
            start = None
    seen, out = set(), []
    for p in sorted(phrases, key=len, reverse=True):
        if p not in seen and not any(p in q for q in seen):
            seen.add(p)
            out.append(p)
    return out[:limit]


def explain(text_a: str, feats_a: frozenset[str], text_b: str, feats_b: frozenset[str]) -> dict[str, Any]:
    both = feats_a & feats_b

    def pick(kind: str) -> list[str]:
        return sorted(x[2:] for x in both if x[0] == kind)

    return {"shared_phrases": shared_phrases(text_a, text_b), "across_languages": cross_language(text_a, text_b),
            "shared_tags": pick("t"),
            "shared_data_resources": pick("d"), "shared_interfaces": pick("i"),
            "same_organisation": bool(pick("o")), "same_district": bool(pick("g"))}


def cosine(a: str, b: str) -> float:
    """Plain TF cosine of two texts' n-grams (no IDF): for quick checks and tests."""
    ia, ca = term_counts(a)
    ib, cb = term_counts(b)
    common, xa, xb = np.intersect1d(ia, ib, return_indices=True)
    if not len(common):
        return 0.0
    wa, wb = 1 + np.log(ca), 1 + np.log(cb)
    return float(np.dot(wa[xa], wb[xb]) / math.sqrt(float(np.dot(wa, wa)) * float(np.dot(wb, wb))))
