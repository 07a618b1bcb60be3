"""Full-text catalog search: one interface (:func:`search`), one implementation per SQL dialect.

Documents (``opendata_search_doc``, one per dataset) hold three token streams computed here in Python,
so both back-ends index exactly the same tokens and Chinese needs no word segmenter:

* ``body`` -- the words of the name, titles, descriptions and keywords (lower-cased); runs of CJK
  characters become overlapping character **bigrams** (公交站 → 公交 交站), so a Chinese substring of
  two or more characters is found as a phrase of its bigrams;
* ``uni``  -- every CJK character once (single-character queries);
* ``meta`` -- one opaque token per facet value (organisation, theme, tag, format, name, licence, state)
  so ``fq`` filters are posting-list intersections inside the index.

SQLite: an FTS5 **external-content** table ``opendata_search_fts`` over ``opendata_search_doc``, kept
in sync by triggers on that table. PostgreSQL: a ``tsvector`` column (lexemes with positions and
weights A/B/C written by this module, no text-search parser involved) with a GIN index; phrases use
``<->``. The documents themselves are maintained by an ORM ``after_flush`` hook: any flush that adds,
changes or deletes a dataset or distribution re-indexes those datasets in the same transaction, so
every service (and the audit entry it writes) commits together with its index update.
:func:`rebuild` re-indexes everything (bulk loads, the migration's backfill).

Semantics (CKAN's ``q``): every whitespace-separated word must match; latin words match as word
prefixes (``bus`` finds "buses"), CJK runs as exact substrings within a run; a word mixing scripts
needs each of its runs.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession

from opendata.models import Dataset, DatasetTag, Distribution, SearchDoc

__all__ = ["FACET_FIELDS", "Query", "Result", "doc_tokens", "index_datasets", "org_name", "rebuild", "search"]

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
_RUN = re.compile(rf"([{_CJK}]+)|((?:(?![{_CJK}])[^\W_])+)")
FACET_FIELDS = ("organization", "groups", "tags", "res_format", "name", "license_id")
_SORT = {"name": "name", "title": "title_zh", "metadata_modified": "updated_at", "metadata_created": "created_at",
         "score": "score"}


def org_name(org_id: str) -> str:
    """CKAN organisation name of a department id."""
    return re.sub(r"[^a-z0-9_-]", "-", org_id.lower())


def _meta(field_: str, value: str) -> str:
    return "m" + hashlib.sha1(f"{field_}\x00{value}".encode()).hexdigest()[:20]


def _bigrams(run: str) -> list[str]:
    return [run[i : i + 2] for i in range(len(run) - 1)]


def doc_tokens(texts: Iterable[str]) -> tuple[list[str], list[str]]:
    """(body tokens in order, distinct CJK characters)."""
    body: list[str] = []
    uni: dict[str, None] = {}
    for text in texts:
        for m in _RUN.finditer((text or "").lower()):
            if m.group(1):
                run = m.group(1)
                body += _bigrams(run)
                uni.update(dict.fromkeys(run))
            else:
                body.append(m.group(2))
    return body, list(uni)


def _meta_tokens(row: dict[str, Any], formats: Iterable[str]) -> list[str]:
    vals = [("all", "*"), ("state", row["state"]), ("organization", org_name(row["org_id"])),
            ("groups", row["theme"].lower()), ("name", row["name"]), ("license_id", row["licence"])]
    vals += [("tags", t) for t in row["keywords"] or []] + [("res_format", f) for f in sorted(set(formats))]
    return [_meta(f, v) for f, v in vals]


# -- queries ------------------------------------------------------------------------------------------------
@dataclass
class _Clause:
    kind: str  # body | uni | meta
    tokens: list[str]
    prefix: bool = False


def _word_clauses(word: str) -> list[_Clause]:
    out = []
    for m in _RUN.finditer(word.lower()):
        if m.group(1):
            run = m.group(1)
            out.append(_Clause("uni", [run]) if len(run) == 1 else _Clause("body", _bigrams(run)))
        else:
            out.append(_Clause("body", [m.group(2)], prefix=True))
    return out


def _fts5(must: list[_Clause], must_not: list[str]) -> str:
    parts = []
    for c in must:
        phrase = '"' + " ".join(c.tokens) + '"' + (" *" if c.prefix else "")
        parts.append(f"{c.kind} : {phrase}")
    return " AND ".join(parts) + "".join(f' NOT meta : "{t}"' for t in must_not)


def _tsquery(must: list[_Clause], must_not: list[str]) -> str:
    w = {"body": "A", "uni": "B", "meta": "C"}
    parts = []
    for c in must:
        lex = [f"'{t}':{w[c.kind]}" for t in c.tokens]
        if c.prefix:
            lex[-1] = f"'{c.tokens[-1]}':*{w[c.kind]}"
        parts.append("(" + " <-> ".join(lex) + ")")
    return " & ".join(parts + [f"!'{t}':C" for t in must_not])


def _tsvector(body: list[str], uni: list[str], meta: list[str]) -> str:
    pos: dict[str, list[str]] = {}
    for weight, toks in (("A", body), ("B", uni), ("C", meta)):
        for i, t in enumerate(toks, 1):
            pl = pos.setdefault(t, [])
            if len(pl) < 256:
                pl.append(f"{min(i, 16383)}{weight}")
    return " ".join("'" + t.replace("'", "''").replace("\\", "\\\\") + "':" + ",".join(p) for t, p in pos.items())


@dataclass
class Query:
    words: list[str] = field(default_factory=list)
    must: list[tuple[str, str]] = field(default_factory=list)  # (facet field, value)
    must_not: list[tuple[str, str]] = field(default_factory=list)
    draft_ids: list[str] | None = None  # None: published only; else published + these drafts
    sort: str = "score"
    descending: bool = True
    start: int = 0
    rows: int = 10
    facet_fields: list[str] = field(default_factory=list)
    facet_limit: int = 50
    facet_mincount: int = 1


@dataclass
class Result:
    count: int
    ids: list[str]
    facets: dict[str, dict[str, int]]


def _norm(field_: str, value: str) -> str:
    return value.lower() if field_ == "groups" else value


def _match(dialect: str, q: Query):
    """Selectable (dataset_id, score) of the index matches, or None when nothing narrows the search."""
    clauses = [c for w in q.words for c in _word_clauses(w)]
    meta = [_Clause("meta", [_meta(f, _norm(f, v))]) for f, v in q.must]
    if not clauses and not meta and not q.must_not:
        return None
    must, must_not = clauses + meta, [_meta(f, _norm(f, v)) for f, v in q.must_not]
    if not must:  # only negations: they need a positive set to subtract from (visibility is checked in SQL)
        must = [_Clause("meta", [_meta("state", "published") if q.draft_ids is None else _meta("all", "*")])]
    if dialect == "postgresql":
        sql = ("SELECT dataset_id, ts_rank(tsv, CAST(:tsq AS tsquery)) AS score FROM opendata_search_doc "
               "WHERE tsv @@ CAST(:tsq AS tsquery)")
        params = {"tsq": _tsquery(must, must_not)}
    else:
        sql = ("SELECT d.dataset_id AS dataset_id, -bm25(opendata_search_fts, 1.0, 0.2, 0.0) AS score "
               "FROM opendata_search_fts JOIN opendata_search_doc d ON d.docid = opendata_search_fts.rowid "
               "WHERE opendata_search_fts MATCH :fts")
        params = {"fts": _fts5(must, must_not)}
    m = sa.text(sql).bindparams(**params).columns(dataset_id=sa.String, score=sa.Float).cte("m")
    # SQLite would otherwise flatten the match into the join and probe the FTS index once per dataset
    return m.prefix_with("MATERIALIZED", dialect="sqlite")


_FACET_COLUMN = {"organization": "org_id", "groups": "theme", "license_id": "licence", "name": "name"}


def search(session, q: Query) -> Result:
    """Run ``q``: matching dataset ids of the requested page (in order), the total and facet counts --
    all in one statement, so the index is read once (the matches are materialised, then counted,
    grouped per facet and paged)."""
    ds = Dataset.__table__
    conn = session.connection()
    m = _match(conn.dialect.name, q)
    cols = [ds.c.id, ds.c.name, ds.c.title_zh, ds.c.org_id, ds.c.theme, ds.c.licence, ds.c.updated_at, ds.c.created_at]
    if m is None:
        sel = sa.select(*cols, sa.literal(0.0).label("score")).select_from(ds)
    else:
        sel = sa.select(*cols, m.c.score).select_from(m.join(ds, m.c.dataset_id == ds.c.id))
    if q.draft_ids is None:
        sel = sel.where(ds.c.state == "published")
    else:
        sel = sel.where(sa.or_(ds.c.state == "published", ds.c.id.in_(q.draft_ids or [""])))
    found = sel.cte("found").prefix_with("MATERIALIZED", dialect="sqlite")
    key = found.c[_SORT[q.sort]]
    order = [key.desc() if q.descending else key.asc()]
    if q.sort == "score":
        order.append(found.c.updated_at.desc() if q.descending else found.c.updated_at.asc())
    order.append(found.c.name.asc())

    def part(n: int, k, cnt, ident=None):
        return [sa.literal(n).label("part"), sa.cast(k, sa.String).label("k") if k is not None else sa.null().label("k"),
                cnt.label("n") if cnt is not None else sa.null().label("n"),
                ident.label("id") if ident is not None else sa.null().label("id")]

    parts = [sa.select(*part(0, None, sa.func.count())).select_from(found)]
    page = sa.select(found.c.id, sa.func.row_number().over(order_by=order).label("pos")).order_by(*order) \
        .offset(q.start).limit(q.rows).subquery("page")
    if q.rows:
        parts.append(sa.select(*part(1, None, page.c.pos, page.c.id)).select_from(page))
    wanted = [f for f in dict.fromkeys(q.facet_fields) if f in FACET_FIELDS]
    for i, f in enumerate(wanted, 2):
        if f in _FACET_COLUMN:
            col = found.c[_FACET_COLUMN[f]]
            parts.append(sa.select(*part(i, col, sa.func.count())).select_from(found).group_by(col))
        elif f == "tags":
            t = DatasetTag.__table__
            # grouped by an expression: an index on tag must not tempt SQLite into scanning every tag row
            tag = t.c.tag.concat("")
            parts.append(sa.select(*part(i, tag, sa.func.count())).select_from(found.join(t, t.c.dataset_id == found.c.id))
                         .group_by(tag))
        else:  # res_format
            d = Distribution.__table__
            parts.append(sa.select(*part(i, d.c.format, sa.func.count(sa.distinct(d.c.dataset_id))))
                         .select_from(found.join(d, d.c.dataset_id == found.c.id)).group_by(d.c.format))
    stmt = sa.union_all(*[sa.select(p.subquery()) for p in parts]) if len(parts) > 1 else parts[0]
    count, ids = 0, []
    raw: dict[str, dict[str, int]] = {f: {} for f in wanted}
    for p, k, n, ident in conn.execute(stmt):
        if p == 0:
            count = n
        elif p == 1:
            ids.append((n, ident))
        else:
            f = wanted[p - 2]
            v = org_name(k) if f == "organization" else k.lower() if f == "groups" else k
            raw[f][v] = raw[f].get(v, 0) + n
    facets = {}
    for f, counts in raw.items():
        items = sorted(((v, c) for v, c in counts.items() if c >= q.facet_mincount), key=lambda x: (-x[1], x[0]))
        facets[f] = dict(items if q.facet_limit < 0 else items[: q.facet_limit])
    return Result(count=count, ids=[i for _pos, i in sorted(ids)], facets=facets)


# -- indexing -----------------------------------------------------------------------------------------------
def index_datasets(conn, ids: Iterable[str]) -> int:
    """(Re-)write the search documents and tag rows of these datasets (deleted ones lose theirs)."""
    ids = list(dict.fromkeys(ids))
    ds, dist = Dataset.__table__, Distribution.__table__
    doc, tag = SearchDoc.__table__, DatasetTag.__table__
    pg = conn.dialect.name == "postgresql"
    ins = (sa.text("INSERT INTO opendata_search_doc (dataset_id, body, uni, meta, tsv) "
                   "VALUES (:dataset_id, :body, :uni, :meta, CAST(:tsv AS tsvector))") if pg else doc.insert())
    n = 0
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        conn.execute(doc.delete().where(doc.c.dataset_id.in_(chunk)))
        conn.execute(tag.delete().where(tag.c.dataset_id.in_(chunk)))
        formats: dict[str, list[str]] = {}
        for did, fmt in conn.execute(sa.select(dist.c.dataset_id, dist.c.format).where(dist.c.dataset_id.in_(chunk))):
            formats.setdefault(did, []).append(fmt)
        docs, tags = [], []
        cols = [ds.c[k] for k in ("id", "name", "title_zh", "title_en", "description_zh", "description_en", "keywords",
                                  "state", "org_id", "theme", "licence")]
        for row in conn.execute(sa.select(*cols).where(ds.c.id.in_(chunk))).mappings():
            body, uni = doc_tokens([row["name"], row["title_zh"], row["title_en"], row["description_zh"],
                                    row["description_en"], *(row["keywords"] or [])])
            meta = _meta_tokens(row, formats.get(row["id"], []))
            d = {"dataset_id": row["id"], "body": " ".join(body), "uni": " ".join(uni), "meta": " ".join(meta)}
            if pg:
                d["tsv"] = _tsvector(body, uni, meta)
            docs.append(d)
            tags += [{"dataset_id": row["id"], "tag": t} for t in dict.fromkeys(row["keywords"] or [])]
        if docs:
            conn.execute(ins, docs)
        if tags:
            conn.execute(tag.insert(), tags)
        n += len(docs)
    return n


def rebuild(session) -> int:
    """Re-index every dataset (after bulk loads that bypass the ORM)."""
    conn = session.connection()
    conn.execute(SearchDoc.__table__.delete())
    conn.execute(DatasetTag.__table__.delete())
    ids = [r[0] for r in conn.execute(sa.select(Dataset.__table__.c.id))]
    return index_datasets(conn, ids)


@event.listens_for(OrmSession, "after_flush")
def _reindex_after_flush(session, _ctx) -> None:
    touched: set[str] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Dataset):
            if obj in session.deleted or session.is_modified(obj, include_collections=False) or obj in session.new:
                touched.add(obj.id)
        elif isinstance(obj, Distribution):
            touched.add(obj.dataset_id)
    if touched:
        index_datasets(session.connection(), sorted(touched))
