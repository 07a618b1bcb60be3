"""The standards registry's API: public reads and checks, commission writes (publish, deprecate, retire)."""

from __future__ import annotations

import io

from flask import Blueprint, Response, request

from kernel.errors import BadRequest, UnsupportedMediaType
from portal.api import json_body, ok, public, query_int
from portal.auth import current_principal
from portal.db import get_session

bp = Blueprint("api_standards", __name__)

_DATA_TYPES = {
    "application/json": "json", "application/x-ndjson": "ndjson", "application/ndjson": "ndjson",
    "application/jsonl": "ndjson", "text/csv": "csv", "application/yaml": "yaml", "text/turtle": "turtle",
    "application/n-triples": "nt", "application/ld+json": "json-ld", "application/rdf+xml": "xml",
}
_EXT = {"json": "data.json", "ndjson": "data.ndjson", "csv": "data.csv", "yaml": "data.yaml", "turtle": "data.ttl",
        "nt": "data.nt", "json-ld": "data.jsonld", "xml": "data.rdf"}


def _report(rep) -> Response:
    return ok(rep.to_dict())


@bp.get("/standards")
@public
def list_standards():
    from standards import services

    return ok({"items": services.standard_list(get_session(), current_principal())})


@bp.post("/standards")
def create_standard():
    from standards import services

    body = json_body("StandardCreate")
    std = services.standard_create(get_session(), current_principal(), name=body["name"], kind=body["kind"],
                                   compatibility=body.get("compatibility"),
                                   strict=body.get("strict", False), title=body.get("title", ""),
                                   description=body.get("description", ""),
                                   format_assert=body.get("format_assert", True),
                                   lint_ruleset=body.get("lint_ruleset"))
    return ok(std.to_dict(), status=201)


@bp.get("/standards/<name:name>")
@public
def get_standard(name: str):
    from standards import services

    return ok(services.standard_get(get_session(), current_principal(), name))


@bp.patch("/standards/<name:name>")
def update_standard(name: str):
    from standards import settings

    body = json_body("StandardUpdate")
    kw = {k: body[k] for k in ("compatibility", "strict", "format_assert", "lint_ruleset") if k in body}
    return ok(settings.standard_update(get_session(), current_principal(), name, **kw).to_dict())


@bp.post("/standards/<name:name>/compatibility")
def check_compatibility(name: str):
    """Dry run of the next version's validity and compatibility rules; stores nothing."""
    from standards import settings

    body = json_body("CompatibilityCheckRequest")
    return ok(settings.compatibility_check(get_session(), current_principal(), name, body["content"].encode("utf-8"),
                                           filename=body.get("filename"), level=body.get("level")))


@bp.get("/standards-settings")
@public
def get_settings():
    from standards import settings

    return ok(settings.settings(get_session()))


@bp.put("/standards-settings")
def put_settings():
    from standards import settings

    body = json_body("StandardsSettingsUpdate")
    session = get_session()
    settings.set_default_compatibility(session, current_principal(), body["default_compatibility"])
    return ok(settings.settings(session))


@bp.post("/standards/<name:name>/versions/<version>/disable")
def disable_version(name: str, version: str):
    from standards import settings

    return ok(settings.version_disable(get_session(), current_principal(), name, version).to_dict())


@bp.post("/standards/<name:name>/versions/<version>/enable")
def enable_version(name: str, version: str):
    from standards import settings

    return ok(settings.version_enable(get_session(), current_principal(), name, version).to_dict())


@bp.get("/standards/<name:name>/versions/<version>")
@public
def get_version(name: str, version: str):
    from standards import services

    v = services.version_get(get_session(), current_principal(), f"{name}@{version}")
    return ok(v.to_dict())


@bp.get("/standards/<name:name>/versions/<version>/content")
@public
def get_version_content(name: str, version: str):
    from standards import services

    import base64

    v = services.version_get(get_session(), current_principal(), f"{name}@{version}")
    body, digest, media = services.served(v)
    resp = Response(body, mimetype=media)
    resp.headers["ETag"] = f'"{digest}"'
    resp.headers["Repr-Digest"] = f"sha-256=:{base64.b64encode(bytes.fromhex(digest)).decode()}:"  # RFC 9530
    if v.state == "deprecated":
        resp.headers["Warning"] = f'299 - "{name}@{version} is deprecated"'
    return resp


@bp.put("/standards/<name:name>/versions/<version>")
def publish_version(name: str, version: str):
    """Store and publish a version (validity and compatibility rules; 422 / 409 list the problems)."""
    from standards import services

    body = json_body("StandardPublish")
    v = services.publish(
        get_session(), current_principal(), name, version, body["content"].encode("utf-8"),
        kind=body.get("kind"), filename=body.get("filename"), compatibility=body.get("compatibility"),
        ontology=body["ontology"].encode("utf-8") if body.get("ontology") is not None else None,
        ontology_filename=body.get("ontology_filename"),
        bundle={k: s.encode("utf-8") for k, s in (body.get("bundle") or {}).items()} or None,
        title=body.get("title", ""), description=body.get("description", ""),
        dry_run=bool(body.get("dry_run", False)), format_assert=body.get("format_assert"))
    return ok(v.to_dict(), status=200 if body.get("dry_run") else 201)


@bp.post("/standards/<name:name>/versions/<version>/deprecate")
def deprecate_version(name: str, version: str):
    from standards import services

    return ok(services.version_deprecate(get_session(), current_principal(), name, version).to_dict())


@bp.post("/standards/<name:name>/versions/<version>/retire")
def retire_version(name: str, version: str):
    from standards import services

    return ok(services.version_retire(get_session(), current_principal(), name, version).to_dict())


@bp.post("/standards/<name:name>/versions/<version>/validate")
def validate_data(name: str, version: str):
    """Validate the request body (JSON, NDJSON, CSV, YAML or RDF by Content-Type) against the version."""
    from standards import services

    kind = _DATA_TYPES.get(request.mimetype)
    if kind is None:
        raise UnsupportedMediaType(f"unsupported data type {request.mimetype or 'none'}: one of "
                                   + ", ".join(sorted(_DATA_TYPES)))
    max_examples = query_int("max_examples", 20, minimum=1, maximum=1000)
    fa = request.args.get("format_assert")
    if fa not in (None, "true", "false"):
        raise BadRequest("format_assert must be true or false")
    data = request.get_data(cache=False)
    rep = services.validate_data(get_session(), current_principal(), f"{name}@{version}",
                                 [(_EXT[kind], io.BytesIO(data))], max_examples=max_examples,
                                 data_format=None if kind in ("turtle", "nt", "json-ld", "xml") else kind,
                                 format_assert=None if fa is None else fa == "true")
    return _report(rep)


def _openapi_of(value, session, principal, label: str):
    from standards import services

    if isinstance(value, dict):
        return label, value
    if isinstance(value, str):
        return services.openapi_doc(session, principal, value) if "@" in value else (_bad(label))
    return _bad(label)


def _bad(label: str):
    raise BadRequest(f"'{label}' must be an OpenAPI object or a NAME@VERSION reference")


@bp.post("/standards/diff")
def diff_documents():
    """Breaking changes between two OpenAPI documents (objects or NAME@VERSION references)."""
    from standards import oasdiff

    body = json_body("StandardsDiffRequest")
    session, principal = get_session(), current_principal()
    ol, od = _openapi_of(body["old"], session, principal, "old")
    nl, nd = _openapi_of(body["new"], session, principal, "new")
    rep = oasdiff.diff_report(od, nd, subject=f"{ol} → {nl}", min_level=body.get("min_level", "info"))
    return _report(rep)


@bp.post("/standards/lint")
def lint_document():
    """Governance lint of an OpenAPI document (object or NAME@VERSION) with an optional YAML ruleset."""
    from standards import lint

    from standards import services

    body = json_body("StandardsLintRequest")
    session, principal = get_session(), current_principal()
    label, doc = _openapi_of(body["document"], session, principal, "document")
    ruleset = body.get("ruleset")
    if ruleset is None and (body.get("standard") or isinstance(body["document"], str)):
        # the commission's rule set of that standard (NAME, or the NAME@VERSION being linted)
        ruleset = services.lint_ruleset_of(session, principal, body.get("standard") or body["document"])
    return _report(lint.lint(doc, ruleset, subject=label))


@bp.post("/standards/check")
def check_document():
    """The validity rule on a candidate document, without publishing."""
    from standards import services
    from standards.reports import Report

    body = json_body("StandardsCheckRequest")
    result = services.analyse(body["kind"], body["content"].encode("utf-8"), filename=body.get("filename"))
    rep = Report("validate", subject=body.get("filename") or body["kind"])
    rep.checked = 1
    rep.extend([{**p, "level": p.get("level", "error")} for p in result["problems"]])
    return _report(rep)
