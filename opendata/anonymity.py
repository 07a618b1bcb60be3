"""k-anonymity, l-diversity and t-closeness: measurement and enforcement.

Measurement (:func:`measure`) groups records by their quasi-identifier values and reports k, distinct
and entropy l, t-closeness (equal distance for categorical, ordered distance for numeric sensitive
attributes), prosecutor / journalist / marketer re-identification risk and the class-size
distribution.

Enforcement (:func:`search`) is full-domain generalisation over user-given hierarchies with a
suppression limit. The lattice (one level per quasi-identifier) is explored best-first by a lower
bound of the utility metric (non-uniform entropy, ARX's "precomputed entropy" metric: Σ over
attributes and records of log2(|generalised value| / |original value|), suppressed records counted as
generalised to the top level). k-anonymity and distinct-l-diversity are monotone under
generalisation (with suppression), so each check tags its successors (anonymous) or predecessors (not anonymous) without
evaluating them — the pruning idea of ARX's Flash. Entropy-l-diversity with suppression is not
monotone; that search prunes by the utility bound only. The search stops as soon as the lower bound of the
next node cannot beat the best score found, which makes the result the global optimum.
"""

from __future__ import annotations

import csv
import itertools
import math
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from kernel.errors import ValidationFailed

__all__ = [
    "Hierarchy",
    "HierarchyError",
    "load_hierarchies",
    "measure",
    "AnonymityReport",
    "Encoded",
    "search",
    "SearchResult",
    "apply_transformation",
]


class HierarchyError(ValidationFailed):
    pass


# ------------------------------------------------------------------------------------------------
# hierarchies
@dataclass
class Hierarchy:
    attribute: str
    table: dict[str, list[str]]  # original value -> [level0 (= value), level1, ...]
    height: int

    @classmethod
    def from_rows(cls, attribute: str, rows: Iterable[Sequence[str]]) -> "Hierarchy":
        table: dict[str, list[str]] = {}
        height = None
        for i, r in enumerate(rows, 1):
            r = [x for x in r]
            while len(r) > 1 and r[-1] == "" and (height is None or len(r) > height):
                r.pop()
            if not r or r == [""]:
                continue
            if height is None:
                height = len(r)
            elif len(r) != height:
                raise HierarchyError(f"hierarchy {attribute!r}: row {i} has {len(r)} levels, expected {height} (ragged hierarchy)",
                                     errors=[{"field": attribute, "message": f"row {i}: ragged hierarchy"}])
            table[r[0]] = list(r)
        if not table:
            raise HierarchyError(f"hierarchy {attribute!r} is empty", errors=[{"field": attribute, "message": "empty"}])
        return cls(attribute, table, height or 1)

    @classmethod
    def load(cls, attribute: str, path: str | Path, delimiter: str | None = None) -> "Hierarchy":
        text = Path(path).read_text(encoding="utf-8-sig")
        if delimiter is None:
            first = text.splitlines()[0] if text else ""
            delimiter = max((";", ",", "\t"), key=first.count)
        return cls.from_rows(attribute, csv.reader(text.splitlines(), delimiter=delimiter))

    def generalize(self, value: str, level: int) -> str:
        try:
            return self.table[value][level]
        except KeyError:
            raise HierarchyError(
                f"hierarchy {self.attribute!r} does not cover value {value!r}",
                errors=[{"field": self.attribute, "message": f"value {value!r} not in hierarchy"}],
            ) from None


def load_hierarchies(directory: str | Path, attributes: Iterable[str]) -> dict[str, Hierarchy]:
    """One hierarchy per attribute from ``directory``: ``<attr>.csv`` or ``*hierarchy_<attr>.csv``."""
    d = Path(directory)
    out = {}
    missing = []
    for a in attributes:
        cands = [d / f"{a}.csv"] + sorted(d.glob(f"*hierarchy_{a}.csv"))
        found = next((c for c in cands if c.is_file()), None)
        if found is None:
            missing.append(a)
            continue
        out[a] = Hierarchy.load(a, found)
    if missing:
        raise HierarchyError(
            f"no hierarchy for {', '.join(missing)} in {d} (expected <attr>.csv or *hierarchy_<attr>.csv)",
            errors=[{"field": a, "message": "no hierarchy file"} for a in missing],
        )
    return out


# ------------------------------------------------------------------------------------------------
# measurement
@dataclass
class AnonymityReport:
    records: int
    quasi_identifiers: list[str]
    sensitive: str | None
    classes: int
    k: int
    class_sizes: dict[str, int]
    records_in_small_classes: dict[str, int]
    risk: dict[str, float]
    l_distinct: int | None = None
    l_entropy: float | None = None
    l_entropy_int: int | None = None
    t_closeness: float | None = None
    t_method: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


_BUCKETS = [(1, 1), (2, 2), (3, 4), (5, 9), (10, 19), (20, 49), (50, 99), (100, None)]


def _is_numeric(values: Sequence[str]) -> bool:
    try:
        for v in values:
            float(v)
    except (TypeError, ValueError):
        return False
    return True


def measure(
    rows: Sequence[Sequence[str]],
    header: Sequence[str],
    qi: Sequence[str],
    sensitive: str | None = None,
    *,
    k_threshold: int = 5,
) -> AnonymityReport:
    """Measure anonymity of ``rows`` (lists aligned with ``header``) for quasi-identifiers ``qi``."""
    unknown = [c for c in list(qi) + ([sensitive] if sensitive else []) if c not in header]
    if unknown:
        raise ValidationFailed(f"unknown column(s): {', '.join(unknown)}",
                               errors=[{"field": c, "message": "unknown column"} for c in unknown])
    if not qi:
        raise ValidationFailed("at least one quasi-identifier is required", errors=[{"field": "qi", "message": "empty"}])
    n = len(rows)
    if n == 0:
        raise ValidationFailed("no records", errors=[{"message": "empty table"}])
    idx = [header.index(c) for c in qi]
    groups: dict[tuple, list[int]] = {}
    for r_i, r in enumerate(rows):
        groups.setdefault(tuple(r[i] for i in idx), []).append(r_i)
    sizes = [len(v) for v in groups.values()]
    k = min(sizes)
    dist = {}
    for lo, hi in _BUCKETS:
        label = f"{lo}" if lo == hi else (f"{lo}+" if hi is None else f"{lo}-{hi}")
        dist[label] = sum(1 for s in sizes if s >= lo and (hi is None or s <= hi))
    small = {f"<{t}": sum(s for s in sizes if s < t) for t in (2, 3, 5, 10, k_threshold) }
    c = len(sizes)
    risk = {
        "prosecutor_max": 1.0 / k,
        "prosecutor_avg": c / n,
        "journalist_max": 1.0 / k,  # without a population table the sample is the population
        "marketer": c / n,
        "records_at_risk": sum(s for s in sizes if 1.0 / s > 1.0 / k_threshold) / n,
        "uniques": sum(1 for s in sizes if s == 1) / n,
    }
    rep = AnonymityReport(n, list(qi), sensitive, c, k, dist, small, risk)
    if sensitive:
        si = header.index(sensitive)
        col = [r[si] for r in rows]
        numeric = _is_numeric(col)
        min_distinct, min_ent = None, None
        tmax = 0.0
        if numeric:
            order = sorted(set(float(v) for v in col))
            pos = {v: i for i, v in enumerate(order)}
            m = len(order)
            overall = np.zeros(m)
            for v in col:
                overall[pos[float(v)]] += 1
            overall /= n
        else:
            overall_c = Counter(col)
        for members in groups.values():
            cnt = Counter(col[i] for i in members)
            d = len(cnt)
            min_distinct = d if min_distinct is None else min(min_distinct, d)
            size = len(members)
            ent = -sum((x / size) * math.log(x / size) for x in cnt.values())
            min_ent = ent if min_ent is None else min(min_ent, ent)
            if numeric:
                p = np.zeros(m)
                for v, x in cnt.items():
                    p[pos[float(v)]] += x / size
                t = float(np.abs(np.cumsum(p - overall)).sum() / (m - 1)) if m > 1 else 0.0
            else:
                t = 0.5 * sum(abs(cnt.get(v, 0) / size - x / n) for v, x in overall_c.items())
            tmax = max(tmax, t)
        rep.l_distinct = min_distinct
        rep.l_entropy = math.exp(min_ent or 0.0)
        rep.l_entropy_int = int(math.e ** (min_ent or 0.0))
        rep.t_closeness = tmax
        rep.t_method = "ordered_distance" if numeric else "equal_distance"
    return rep


# ------------------------------------------------------------------------------------------------
# lattice search
@dataclass
class Encoded:
    """Records encoded per quasi-identifier and level as integer codes (numpy), for fast grouping."""

    qi: list[str]
    heights: list[int]
    codes: list[list[np.ndarray]]  # [attr][level] -> int64 codes per record
    cards: list[list[int]]  # [attr][level] -> number of distinct codes
    loss: list[list[np.ndarray]]  # [attr][level] -> per-record non-uniform entropy loss (bits)
    loss_sum: list[list[float]]
    sensitive: np.ndarray | None
    n_sensitive: int
    n: int

    @classmethod
    def build(cls, rows: Sequence[Sequence[str]], header: Sequence[str], qi: Sequence[str],
              hierarchies: dict[str, Hierarchy], sensitive: str | None = None) -> "Encoded":
        missing = [a for a in qi if a not in hierarchies]
        unknown = [a for a in list(qi) + ([sensitive] if sensitive else []) if a not in header]
        if unknown:
            raise ValidationFailed(f"unknown column(s): {', '.join(unknown)}",
                                   errors=[{"field": c, "message": "unknown column"} for c in unknown])
        if missing:
            raise HierarchyError(f"no hierarchy for {', '.join(missing)}",
                                 errors=[{"field": a, "message": "no hierarchy"} for a in missing])
        n = len(rows)
        if n == 0:
            raise ValidationFailed("no records", errors=[{"message": "empty table"}])
        codes, cards, loss, loss_sum, heights = [], [], [], [], []
        for a in qi:
            h = hierarchies[a]
            i = header.index(a)
            col = [r[i] for r in rows]
            uncovered = sorted({v for v in col if v not in h.table})
            if uncovered:
                raise HierarchyError(
                    f"hierarchy {a!r} does not cover {len(uncovered)} value(s): {', '.join(map(repr, uncovered[:5]))}",
                    errors=[{"field": a, "message": f"value {v!r} not in hierarchy"} for v in uncovered[:20]],
                )
            a_codes, a_cards, a_loss, a_sum = [], [], [], []
            orig_counts = Counter(col)
            orig_freq = np.array([orig_counts[v] for v in col], dtype=np.float64)
            for lvl in range(h.height):
                gen = [h.table[v][lvl] for v in col]
                index: dict[str, int] = {}
                arr = np.fromiter((index.setdefault(g, len(index)) for g in gen), dtype=np.int64, count=n)
                a_codes.append(arr)
                a_cards.append(len(index))
                gen_counts = np.bincount(arr).astype(np.float64)
                lv = np.log2(gen_counts[arr] / orig_freq)
                a_loss.append(lv)
                a_sum.append(float(lv.sum()))
            codes.append(a_codes)
            cards.append(a_cards)
            loss.append(a_loss)
            loss_sum.append(a_sum)
            heights.append(h.height)
        sens = None
        ns = 0
        if sensitive:
            si = header.index(sensitive)
            index = {}
            sens = np.fromiter((index.setdefault(r[si], len(index)) for r in rows), dtype=np.int64, count=n)
            ns = len(index)
        return cls(list(qi), heights, codes, cards, loss, loss_sum, sens, ns, n)

    def classes(self, node: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """(class index per record, class sizes) for a transformation.

        The class key is the mixed-radix number of the records' codes at the node's levels. When
        that key space is small (the usual case above the lowest levels) classes are counted with
        ``bincount`` in O(n + space); otherwise with a sort (``np.unique``). Class order differs
        between the two; nothing depends on it."""
        space = 1
        for a, lvl in enumerate(node):
            space *= self.cards[a][lvl]
        key = np.zeros(self.n, dtype=np.int64)
        if space >= 1 << 62:  # would overflow int64: densify attribute by attribute
            for a, lvl in enumerate(node):
                key = key * self.cards[a][lvl] + self.codes[a][lvl]
                _, key = np.unique(key, return_inverse=True)
            counts = np.bincount(key)
            return key, counts
        for a, lvl in enumerate(node):
            key *= self.cards[a][lvl]
            key += self.codes[a][lvl]
        if space <= max(4 * self.n, 1 << 16):
            full = np.bincount(key, minlength=space)
            present = full > 0
            rank = np.cumsum(present) - 1
            return rank[key], full[present]
        _, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
        return inverse, counts

    def lower_bound(self, node: Sequence[int]) -> float:
        return sum(self.loss_sum[a][lvl] for a, lvl in enumerate(node))


@dataclass
class SearchResult:
    transformation: list[int] | None
    levels: dict[str, int]
    score: float | None
    suppressed: int
    classes: int
    checked: int
    lattice_size: int
    seconds: float
    metric: str
    anonymous: bool
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _failing_classes(enc: Encoded, inverse: np.ndarray, counts: np.ndarray, k: int, l: float | None,
                     l_kind: str) -> np.ndarray:
    bad = counts < k
    if l is not None and enc.sensitive is not None:
        m = np.bincount(inverse * enc.n_sensitive + enc.sensitive, minlength=len(counts) * enc.n_sensitive)
        m = m.reshape(len(counts), enc.n_sensitive)
        if l_kind == "distinct":
            bad |= (m > 0).sum(axis=1) < l
        else:
            p = m / counts[:, None]
            with np.errstate(divide="ignore", invalid="ignore"):
                ent = -np.where(p > 0, p * np.log(p), 0.0).sum(axis=1)
            bad |= ent < math.log(l) - 1e-12
    return bad


def search(
    enc: Encoded,
    *,
    k: int = 2,
    suppression: float = 0.0,
    l: float | None = None,
    l_kind: str = "entropy",
    metric: str = "entropy",
    max_checks: int | None = None,
) -> SearchResult:
    """Optimal full-domain generalisation for k-anonymity (+ optional distinct/entropy l-diversity on
    ``enc.sensitive``) with at most ``suppression`` × records suppressed.

    metric ``entropy`` (non-uniform entropy, ARX precomputed entropy, monotonic variant: suppressed
    records cost as if generalised to the top level) or ``discernibility`` (Σ |class|² + |suppressed|·n).
    """
    if k < 1:
        raise ValidationFailed("k must be >= 1", errors=[{"field": "k", "message": "must be >= 1"}])
    if not 0.0 <= suppression <= 1.0:
        raise ValidationFailed("suppression must be a fraction in [0, 1]",
                               errors=[{"field": "suppression", "message": "must be in [0, 1]"}])
    if l is not None and enc.sensitive is None:
        raise ValidationFailed("l-diversity needs a sensitive attribute", errors=[{"field": "sensitive", "message": "required"}])
    if metric not in ("entropy", "discernibility"):
        raise ValidationFailed(f"unknown metric {metric!r}", errors=[{"field": "metric", "message": "entropy | discernibility"}])
    t0 = time.perf_counter()
    limit = int(math.floor(suppression * enc.n + 1e-9))
    nodes = np.array(list(itertools.product(*[range(h) for h in enc.heights])), dtype=np.int16).reshape(-1, len(enc.heights))
    nn = len(nodes)
    heights_sum = nodes.sum(axis=1)
    top = [h - 1 for h in enc.heights]
    top_loss = sum(enc.loss[a][top[a]] for a in range(len(top)))  # per-record loss at the top
    if metric == "entropy":
        bounds = np.zeros(nn)
        for a in range(len(enc.heights)):  # Σ_a loss_sum[a][level_a], the same sums as lower_bound()
            bounds = bounds + np.array(enc.loss_sum[a])[nodes[:, a]]
    else:
        bounds = np.full(nn, float(enc.n))  # Σ|class|² >= n for every node: no useful separable bound
    UNKNOWN, ANON, NOT = 0, 1, 2
    status = np.zeros(nn, dtype=np.int8)
    evaluated = np.zeros(nn, dtype=bool)
    zero_sup = np.zeros(nn, dtype=bool)  # anonymous without suppression (tagged): score == bound
    best: tuple[float, tuple[int, ...], int, int, int] | None = None
    checked = 0
    # entropy-l-diversity with suppression is not monotone: generalising can merge a diverse class
    # with a low-entropy one into a class that fails, so a failing node says nothing about its
    # predecessors. Such searches tag only the node itself and resolve every node whose bound can
    # still beat the best (k-anonymity and distinct-l-diversity, with or without suppression, are
    # monotone: merged classes keep >= k records and >= l distinct values)
    monotone = not (l is not None and l_kind == "entropy" and limit > 0)

    def evaluate(i: int) -> None:
        nonlocal best, checked
        nd = nodes[i]
        inverse, counts = enc.classes(nd)
        checked += 1
        evaluated[i] = True
        bad = _failing_classes(enc, inverse, counts, k, l, l_kind)
        suppressed = int(counts[bad].sum())
        if suppressed > limit:
            if monotone:
                status[np.all(nodes <= nd, axis=1)] = NOT  # predecessors cannot be anonymous either
            else:
                status[i] = NOT
            return
        succ = np.all(nodes >= nd, axis=1) if monotone else (np.arange(nn) == i)
        status[succ] = ANON
        if suppressed == 0:
            zero_sup[succ] = True  # their score is their bound, >= this node's: never better
        if metric == "entropy":
            score = float(bounds[i])
            if suppressed:
                rec_bad = bad[inverse]
                cur = sum(enc.loss[a][int(nd[a])] for a in range(len(nd)))
                score += float((top_loss[rec_bad] - cur[rec_bad]).sum())
        else:
            score = float((counts[~bad].astype(np.float64) ** 2).sum() + suppressed * enc.n)
        key = (score, tuple(int(x) for x in nd), suppressed, int((~bad).sum()), len(counts))
        if best is None or key[0] < best[0] - 1e-9 or (abs(key[0] - best[0]) <= 1e-9 and sum(key[1]) < sum(best[1])):
            best = key

    # phase 1: a quick upper bound -- walk down from the top towards low-bound anonymous nodes
    cur = int(np.argmax(heights_sum))
    evaluate(cur)
    if status[cur] == ANON:
        while True:
            nd = nodes[cur]
            preds = np.where((np.abs(nodes.astype(np.int32) - nd).sum(axis=1) == 1) & np.all(nodes <= nd, axis=1))[0]
            preds = [p for p in preds[np.argsort(bounds[preds])] if status[p] != NOT]
            moved = False
            for p in preds:
                if not evaluated[p]:
                    evaluate(int(p))
                if status[p] == ANON and evaluated[p]:
                    cur, moved = int(p), True
                    break
            if not moved:
                break
    # phase 2: every node that could still beat the best is resolved, highest first so that a
    # non-anonymous node settles all its predecessors at once
    while best is not None or not monotone:
        if max_checks is not None and checked >= max_checks:
            break
        limit_score = best[0] - 1e-9 if best is not None else np.inf
        open_ = (~evaluated) & (status != NOT) & (bounds < limit_score) & ~zero_sup
        if not open_.any():
            break
        cand = np.where(open_)[0]
        i = int(cand[np.lexsort((bounds[cand], -heights_sum[cand]))[0]])
        evaluate(i)
    secs = time.perf_counter() - t0
    if best is None:
        return SearchResult(None, {}, None, 0, 0, checked, nn, secs, metric, False)
    _score, node, sup, ncls, ntotal = best
    return SearchResult(list(node), dict(zip(enc.qi, node)), best[0], sup, ncls, checked, nn, secs, metric, True,
                        {"classes_total": ntotal, "k": k, "l": l, "l_kind": l_kind if l is not None else None, "suppression_limit": suppression,
                         "max_suppressed": limit})


def apply_transformation(
    rows: Sequence[Sequence[str]], header: Sequence[str], qi: Sequence[str], hierarchies: dict[str, Hierarchy],
    node: Sequence[int], *, k: int, l: float | None = None, l_kind: str = "entropy", sensitive: str | None = None,
    suppress_mode: str = "mask", marker: str = "*",
) -> tuple[list[list[str]], int]:
    """Generalise ``rows`` to ``node`` and suppress records in classes violating the model.
    ``suppress_mode``: 'mask' (QI values become ``marker``, ARX style) or 'drop'. Returns (rows, suppressed)."""
    idx = [header.index(a) for a in qi]
    out = []
    for r in rows:
        r2 = list(r)
        for a, i, lvl in zip(qi, idx, node):
            r2[i] = hierarchies[a].generalize(r[i], lvl)
        out.append(r2)
    groups: dict[tuple, list[int]] = {}
    for j, r in enumerate(out):
        groups.setdefault(tuple(r[i] for i in idx), []).append(j)
    si = header.index(sensitive) if sensitive else None
    bad_rows: set[int] = set()
    for members in groups.values():
        bad = len(members) < k
        if not bad and l is not None and si is not None:
            cnt = Counter(out[j][si] for j in members)
            if l_kind == "distinct":
                bad = len(cnt) < l
            else:
                s = len(members)
                bad = -sum((x / s) * math.log(x / s) for x in cnt.values()) < math.log(l) - 1e-12
        if bad:
            bad_rows.update(members)
    if suppress_mode == "drop":
        return [r for j, r in enumerate(out) if j not in bad_rows], len(bad_rows)
    for j in bad_rows:
        for i in idx:
            out[j][i] = marker
    return out, len(bad_rows)
