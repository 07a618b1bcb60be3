"""CKAN Action API semantics over the catalog (framework-free: the portal maps requests and errors).

Actions: ``status_show``, ``package_list``, ``package_search`` (q, fq with ``organization:``,
``tags:``, ``res_format:``, ``groups:``; rows, start, sort, facet.field), ``package_show``,
``organization_list``, ``organization_show``, ``group_list``, ``tag_list``, ``resource_show``,
``datastore_search`` (published tabular distributions). Result shapes follow CKAN 2.10 (package dicts
carry the keys of a real CKAN package, see the shared demo responses). Only published datasets are
public; a steward's key adds the department's drafts where CKAN's ``include_private`` /
``include_drafts`` ask for them.
"""

from __future__ import annotations

import json
import re
import shlex
from typing import Any, Callable

from sqlmodel import select

from kernel.clock import isoformat
from kernel.db import Session
from kernel.errors import NotFound, ValidationFailed
from kernel.permissions import is_allowed
from kernel.principal import Principal
from opendata.catalog import blob_path, distributions_of, vocab
from opendata.models import Dataset, Distribution

__all__ = ["ACTIONS", "SearchQueryError", "call"]

ROWS_MAX = 1000
THEME_TITLES = {"AGRI": "Agriculture", "ECON": "Economy and finance", "EDUC": "Education, culture and sport",
                "ENER": "Energy", "ENVI": "Environment", "GOVE": "Government and public sector", "HEAL": "Health",
                "INTR": "International issues", "JUST": "Justice, legal system and public safety",
                "REGI": "Regions and cities", "SOCI": "Population and society", "TECH": "Science and technology",
                "TRAN": "Transport", "OP_DATPRO": "Provisional data"}


class SearchQueryError(ValidationFailed):
    """CKAN's 'Search Query Error' (HTTP 400)."""

    status = 400


def _org_name(ds: Dataset) -> str:
    from opendata.search import org_name

    return org_name(ds.org_id)


def _org_dict(name: str, title: str, count: int | None = None) -> dict[str, Any]:
    d = {"id": name, "name": name, "title": title, "display_name": title, "type": "organization", "state": "active",
         "is_organization": True, "approval_status": "approved", "description": "", "image_url": "", "created": None}
    if count is not None:
        d["package_count"] = count
    return d


def _resource_dict(ds: Dataset, d: Distribution, base_url: str, pos: int) -> dict[str, Any]:
    return {"id": d.id, "package_id": ds.id, "name": d.title, "description": "", "format": d.format,
            "mimetype": d.media_type, "mimetype_inner": None, "size": d.byte_size, "hash": f"sha256:{d.sha256}",
            "url": f"{base_url}/opendata/download/{d.id}/{d.filename}", "url_type": "upload", "position": pos,
            "created": isoformat(d.created_at), "last_modified": isoformat(d.created_at), "state": "active",
            "resource_type": None, "datastore_active": d.format in ("CSV", "XLSX"), "cache_url": None,
            "cache_last_updated": None, "revision_id": None}


def package_dict(session: Session, ds: Dataset, base_url: str) -> dict[str, Any]:
    dists = distributions_of(session, ds)
    lic = vocab()["licences"].get(ds.licence)
    tags = [{"id": t, "name": t, "display_name": t, "state": "active", "vocabulary_id": None} for t in ds.keywords]
    group = {"id": ds.theme.lower(), "name": ds.theme.lower(), "title": THEME_TITLES.get(ds.theme, ds.theme),
             "display_name": THEME_TITLES.get(ds.theme, ds.theme), "description": "", "image_display_url": ""}
    return {
        "id": ds.id, "name": ds.name, "title": ds.title_zh, "notes": ds.description_zh, "type": "dataset",
        "state": "active" if ds.state == "published" else ("deleted" if ds.state == "withdrawn" else "draft"),
        "private": ds.state != "published", "isopen": ds.grade == "unconditional",
        "license_id": ds.licence, "license_title": ds.licence, "license_url": lic,
        "author": ds.organisation, "author_email": ds.contact_email, "maintainer": ds.organisation,
        "maintainer_email": ds.contact_email, "creator_user_id": ds.prepared_by, "url": f"{base_url}/opendata/dataset/{ds.name}",
        "version": str(ds.version), "metadata_created": isoformat(ds.created_at), "metadata_modified": isoformat(ds.updated_at),
        "owner_org": _org_name(ds), "organization": _org_dict(_org_name(ds), ds.organisation),
        "tags": tags, "num_tags": len(tags), "groups": [group],
        "resources": [_resource_dict(ds, d, base_url, i) for i, d in enumerate(dists)], "num_resources": len(dists),
        "extras": [{"key": "title_en", "value": ds.title_en}, {"key": "notes_en", "value": ds.description_en},
                   {"key": "grade", "value": ds.grade}, {"key": "frequency", "value": ds.frequency}],
        "relationships_as_object": [], "relationships_as_subject": [], "revision_id": None,
    }


def _bool(v: Any) -> bool:
    return v is True or str(v).lower() in ("true", "1", "yes")


def _int(params: dict, key: str, default: int, lo: int = 0, hi: int | None = None) -> int:
    v = params.get(key, default)
    try:
        n = int(v)
    except (TypeError, ValueError):
        raise ValidationFailed(f"{key}: Invalid integer", errors=[{"field": key, "message": "Invalid integer"}]) from None
    if n < lo:
        raise ValidationFailed(f"{key}: Must be a natural number", errors=[{"field": key, "message": f"Must be >= {lo}"}])
    return min(n, hi) if hi is not None else n


def _visible(session: Session, principal: Principal, *, drafts: bool) -> list[Dataset]:
    rows = session.exec(select(Dataset).order_by(Dataset.name))
    out = []
    for ds in rows:
        if ds.state == "published":
            out.append(ds)
        elif drafts and ds.state != "withdrawn" and is_allowed(principal, "opendata:dataset:read", ds):
            out.append(ds)
    return out


def _get(session: Session, principal: Principal, ident: str | None) -> Dataset:
    if not ident:
        raise ValidationFailed("Missing value", errors=[{"field": "id", "message": "Missing value"}])
    if not isinstance(ident, str):  # a JSON body may carry any type; PostgreSQL refuses to compare it (500)
        raise ValidationFailed("id: must be a string", errors=[{"field": "id", "message": "Must be a string"}])
    ds = session.get(Dataset, ident) or session.exec(select(Dataset).where(Dataset.name == ident)).first()
    if ds is not None and ds.state == "withdrawn" and not is_allowed(principal, "opendata:dataset:read", ds):
        raise NotFound(f"Dataset {ds.name} was withdrawn on {isoformat(ds.updated_at)}")
    if ds is None or not is_allowed(principal, "opendata:dataset:read", ds):
        raise NotFound("Dataset not found")
    return ds


# -- actions ------------------------------------------------------------------------------------------
def status_show(session, principal, params, base_url):
    return {"site_title": "citygov open data", "site_url": base_url, "site_description": "", "ckan_version": "2.10.4",
            "error_emails_to": None, "locale_default": "zh_Hans_CN", "extensions": ["dcat", "datastore"]}


def package_list(session, principal, params, base_url):
    limit = params.get("limit")
    offset = _int(params, "offset", 0)
    names = [d.name for d in _visible(session, principal, drafts=_bool(params.get("include_private")) or _bool(params.get("include_drafts")))]
    names = names[offset:]
    if limit is not None:
        names = names[: _int(params, "limit", 0)]
    return names


def package_show(session, principal, params, base_url):
    return package_dict(session, _get(session, principal, params.get("id")), base_url)


_FQ = re.compile(r'^(?P<neg>-)?(?P<field>organization|tags|res_format|groups|name|license_id):(?P<value>"[^"]*"|\S+)$')


def _parse_fq(fq: str) -> list[tuple[bool, str, str]]:
    try:
        parts = shlex.split(fq.replace("+", " ")) if fq.strip() else []
    except ValueError as exc:
        raise SearchQueryError(f"Search Query Error: invalid fq: {exc}") from None
    out = []
    for p in parts:
        if p.upper() in ("AND", "OR"):
            continue
        m = _FQ.match(p if '"' not in p or ":" not in p else p.split(":", 1)[0] + ':"' + p.split(":", 1)[1].strip('"') + '"')
        if not m:
            raise SearchQueryError(f"Search Query Error: unsupported fq term {p!r} (organization:, tags:, res_format:, groups:)")
        out.append((bool(m.group("neg")), m.group("field"), m.group("value").strip('"')))
    return out


def package_search(session, principal, params, base_url):
    """CKAN's package_search over the full-text index (:mod:`opendata.search`): the keyword, every
    ``fq`` term, sorting, paging and facet counts run in SQL; only the page's packages are loaded."""
    from opendata import search

    rows = _int(params, "rows", 10, 0, ROWS_MAX)
    start = _int(params, "start", 0)
    q = str(params.get("q") or "").strip()
    if q in ("*:*", "*"):
        q = ""
    if len(q) > 1000 or len(q.split()) > 32:
        raise SearchQueryError("Search Query Error: q is limited to 32 words and 1000 characters")
    fq = str(params.get("fq") or "")
    fq_list = params.get("fq_list") or []
    if isinstance(fq_list, str):
        fq_list = [fq_list]
    terms = _parse_fq(" ".join([fq, *fq_list]))
    ff = params.get("facet.field") or "[]"
    try:
        facet_fields = json.loads(ff) if isinstance(ff, str) else list(ff)
        assert isinstance(facet_fields, list) and all(isinstance(f, str) for f in facet_fields)
    except (ValueError, AssertionError):
        raise SearchQueryError("Search Query Error: facet.field must be a JSON list") from None
    facet_limit = _int(params, "facet.limit", 50, -1)
    mincount = _int(params, "facet.mincount", 1)
    sort = str(params.get("sort") or "score desc, metadata_modified desc")
    key, _, direction = sort.split(",")[0].strip().partition(" ")
    if key not in ("name", "title", "metadata_modified", "metadata_created", "score"):
        raise SearchQueryError(f"Search Query Error: cannot sort by {key!r}")
    drafts = (_bool(params.get("include_private")) or _bool(params.get("include_drafts"))) and not principal.is_anonymous
    draft_ids = None
    if drafts:
        draft_ids = [d.id for d in session.exec(select(Dataset).where(Dataset.state.not_in(("published", "withdrawn"))))
                     if is_allowed(principal, "opendata:dataset:read", d)]
    res = search.search(session, search.Query(
        words=q.split(), must=[(f, v) for neg, f, v in terms if not neg], must_not=[(f, v) for neg, f, v in terms if neg],
        draft_ids=draft_ids, sort=key, descending=direction.strip().lower() == "desc", start=start, rows=rows,
        facet_fields=[f for f in facet_fields if f in search.FACET_FIELDS], facet_limit=facet_limit, facet_mincount=mincount))
    facets = {f: res.facets.get(f, {}) for f in facet_fields}
    by_id = {d.id: d for d in session.exec(select(Dataset).where(Dataset.id.in_(res.ids or [""])))}
    return {"count": res.count, "sort": sort, "facets": facets,
            "results": [package_dict(session, by_id[i], base_url) for i in res.ids],
            "search_facets": {f: {"title": f, "items": [{"count": c, "display_name": v, "name": v} for v, c in items.items()]}
                              for f, items in facets.items()}}


def organization_list(session, principal, params, base_url):
    orgs: dict[str, tuple[str, int]] = {}
    for ds in _visible(session, principal, drafts=False):
        n = _org_name(ds)
        orgs[n] = (ds.organisation, orgs.get(n, ("", 0))[1] + 1)
    names = sorted(orgs, key=lambda n: orgs[n][0]) if _bool(params.get("all_fields")) else sorted(orgs)
    offset = _int(params, "offset", 0)
    limit = _int(params, "limit", 25 if _bool(params.get("all_fields")) else 1000, 0, 1000)
    names = names[offset : offset + limit]
    if _bool(params.get("all_fields")):
        return [_org_dict(n, orgs[n][0], orgs[n][1]) for n in names]
    return names


def organization_show(session, principal, params, base_url):
    ident = params.get("id")
    if ident is not None and not isinstance(ident, str):
        raise ValidationFailed("id: must be a string", errors=[{"field": "id", "message": "Must be a string"}])
    pkgs = [ds for ds in _visible(session, principal, drafts=False) if _org_name(ds) == ident]
    if not pkgs:
        raise NotFound("Organization was not found.")
    d = _org_dict(ident, pkgs[0].organisation, len(pkgs))
    if _bool(params.get("include_datasets")):
        d["packages"] = [package_dict(session, ds, base_url) for ds in pkgs]
    return d


def group_list(session, principal, params, base_url):
    themes = sorted({ds.theme.lower() for ds in _visible(session, principal, drafts=False)})
    if _bool(params.get("all_fields")):
        return [{"id": t, "name": t, "title": THEME_TITLES.get(t.upper(), t), "display_name": THEME_TITLES.get(t.upper(), t),
                 "type": "group", "is_organization": False, "state": "active"} for t in themes]
    return themes


def tag_list(session, principal, params, base_url):
    q = str(params.get("query") or "").lower()
    tags = sorted({t for ds in _visible(session, principal, drafts=False) for t in ds.keywords if q in t.lower()})
    if _bool(params.get("all_fields")):
        return [{"id": t, "name": t, "display_name": t, "vocabulary_id": None} for t in tags]
    return tags


def _resource(session, principal, ident) -> tuple[Dataset, Distribution, int]:
    if ident is not None and not isinstance(ident, str):
        raise ValidationFailed("id: must be a string", errors=[{"field": "id", "message": "Must be a string"}])
    d = session.get(Distribution, ident or "")
    if d is None:
        raise NotFound("Resource was not found.")
    ds = session.get(Dataset, d.dataset_id)
    if ds is None or not is_allowed(principal, "opendata:dataset:read", ds):
        raise NotFound("Resource was not found.")
    return ds, d, [x.id for x in distributions_of(session, ds)].index(d.id)


def resource_show(session, principal, params, base_url):
    ds, d, pos = _resource(session, principal, params.get("id"))
    return _resource_dict(ds, d, base_url, pos)


def datastore_search(session, principal, params, base_url, *, storage=None):
    from opendata.tabular import open_table

    ds, d, _pos = _resource(session, principal, params.get("resource_id") or params.get("id"))
    if d.format not in ("CSV", "XLSX") or storage is None:
        raise NotFound("Resource \"%s\" was not found." % d.id)
    limit = _int(params, "limit", 100, 0, 32000)
    offset = _int(params, "offset", 0)
    t = open_table(blob_path(storage, d.sha256), format=d.format.lower())
    records, total = [], 0
    q = str(params.get("q") or "")
    for row in t.rows():
        if q and not any(q in (c or "") for c in row):
            continue
        if offset <= total < offset + limit:
            records.append({"_id": total + 1, **dict(zip(t.columns, row))})
        total += 1
    return {"resource_id": d.id, "fields": [{"id": "_id", "type": "int"}] + [{"id": c, "type": "text"} for c in t.columns],
            "records": records, "total": total, "limit": limit, "offset": offset,
            "_links": {"start": f"/api/3/action/datastore_search?resource_id={d.id}"}}


ACTIONS: dict[str, Callable] = {f.__name__: f for f in (
    status_show, package_list, package_search, package_show, organization_list, organization_show, group_list,
    tag_list, resource_show, datastore_search)}


def call(name: str, session: Session, principal: Principal, params: dict[str, Any], base_url: str, *, storage=None) -> Any:
    fn = ACTIONS.get(name)
    if fn is None:
        raise NotFound(f"Action name not known: {name}")
    if fn is datastore_search:
        return fn(session, principal, params, base_url, storage=storage)
    return fn(session, principal, params, base_url)
