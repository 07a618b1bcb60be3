"""The project library under ``/api/v1/projects…`` (documented in ``openapi/registry.yaml``)."""

from __future__ import annotations

from flask import Blueprint, Response, request
from sqlmodel import select

from kernel.errors import BadRequest, ValidationFailed
from portal.api import json_body, ok, public, query_int
from portal.auth import current_principal
from portal.db import get_session
from portal.lazy import lazy

reg_export = lazy("registry.export")
importing = lazy("registry.importing")
proposal = lazy("registry.proposal")
reg = lazy("registry.services")

bp = Blueprint("api_registry", __name__)


def openapi_schemas() -> dict:
    """The proposal body schemas of the OpenAPI document, derived from the packaged ``registry.proposal``
    JSON Schema (the one published in the standards registry), so the document cannot drift from it:

    - ``Proposal``: a complete proposal, as required at submission;
    - ``ProposalFields``: any subset of its fields (similarity search, compliance pre-check);
    - ``ProjectDocument``: a draft: any subset with a non-blank ``title`` (what create and replace accept);

    and ``RuleRequest`` from the schema pre-check rules are checked against (``registry.precheck.RULE_SCHEMA``).
    """
    import copy
    import json

    source = proposal.packaged_schema()
    defs = {"interface": "ProposalInterface", "contact": "ProposalContact"}
    text = json.dumps({k: v for k, v in source.items() if k not in ("$schema", "$defs")})
    for def_name, component in defs.items():
        text = text.replace(f'"#/$defs/{def_name}"', f'"#/components/schemas/{component}"')
    full = json.loads(text)
    for name, prop in full["properties"].items():  # enumerated codes: an enum, each code's label in the description
        branches = prop.get("oneOf") or []
        if branches and all(isinstance(b, dict) and "const" in b for b in branches):
            labels = "; ".join(f"`{b['const']}`: {b.get('title', b['const'])}" for b in branches)
            full["properties"][name] = {"type": "string", "enum": [b["const"] for b in branches],
                                        "description": f"{prop.get('description', '')} Codes: {labels}.".strip()}
    full["description"] = (f"A proposal ({proposal.SCHEMA_REF}, GET /projects/schema). " + full.get("description", ""))
    fields = copy.deepcopy(full)
    fields.pop("required", None)
    fields.pop("title", None)
    fields["description"] = "Any subset of a proposal's fields (" + proposal.SCHEMA_REF + "); unknown fields are refused."
    draft = copy.deepcopy(fields)
    draft["required"] = ["title"]
    draft["properties"]["title"] = {**draft["properties"]["title"], "pattern": r"[^\s\x1c-\x1f\x85\ufeff]"}
    draft["description"] = ("A draft proposal (" + proposal.SCHEMA_REF + "): any subset of its fields with a non-blank "
                            "title; every field present must be valid, missing required ones are reported at submission.")
    out = {"Proposal": full, "ProposalFields": fields, "ProjectDocument": draft}
    for def_name, component in defs.items():
        out[component] = copy.deepcopy(source["$defs"][def_name])
    # a compliance pre-check rule: the schema registry.precheck checks rules against before storing them
    from registry.precheck import RULE_SCHEMA

    rule = json.loads(json.dumps({k: v for k, v in RULE_SCHEMA.items() if k not in ("$schema", "$defs")})
                      .replace('"#/$defs/cond"', '"#/components/schemas/PrecheckCondition"'))
    rule["description"] = ("A pre-check rule: conditions {field, op, value?, other?} or all / any / not "
                           "(see registry/data/precheck_rules.yaml).")
    out["RuleRequest"] = rule
    out["PrecheckCondition"] = json.loads(json.dumps(RULE_SCHEMA["$defs"]["cond"])
                                          .replace('"#/$defs/cond"', '"#/components/schemas/PrecheckCondition"'))
    return out


# ------------------------------------------------------------------------------------- helpers


def org_resolver(session):
    """``ref -> org id``: an organisation's id, code or name (None if unknown)."""
    from portal.accounts.models import Organisation

    cache: dict[str, str | None] = {}

    def resolve(ref: str) -> str | None:
        ref = (ref or "").strip()
        if ref not in cache:
            org = session.get(Organisation, ref) or session.exec(select(Organisation).where(Organisation.code == ref)).first() \
                or session.exec(select(Organisation).where(Organisation.name == ref)).first()
            cache[ref] = org.id if org is not None else None
        return cache[ref]

    return resolve


def expert_refs(session, usernames: list[str]) -> list[reg.ExpertRef]:
    from kernel.errors import NotFound
    from portal.accounts import services as accounts

    refs, errors = [], []
    for name in usernames:
        try:
            user = accounts.user_get(session, name)
        except NotFound:
            errors.append({"field": "experts", "message": f"no user {name!r}"})
            continue
        p = accounts.principal_for_user(session, user)
        refs.append(reg.ExpertRef(id=user.id, name=user.username, org_id=user.org_id, roles=p.roles))
    if errors:
        raise ValidationFailed("unknown experts", errors=errors)
    return refs


def org_for(session, principal, data: dict) -> str | None:
    ref = str(data.get("organisation") or "").strip() if isinstance(data, dict) else ""
    if not ref:
        return principal.org_id
    org_id = org_resolver(session)(ref)
    if org_id is None:
        raise ValidationFailed(f"unknown organisation {ref!r}", errors=[{"field": "organisation", "pointer": "/organisation",
                                                                        "message": "no such organisation (code or name)"}])
    return org_id


def _filters() -> dict:
    f = {k: request.args.get(k) for k in ("state", "area", "org_id", "organisation", "district", "construction_mode",
                                          "deployment", "q") if request.args.get(k)}
    year = query_int("year", None, minimum=1900, maximum=2200)
    if year is not None:
        f["year"] = year
    for key in ("budget_min", "budget_max"):
        raw = request.args.get(key)
        if raw is not None:
            try:
                f[key] = float(raw)
            except ValueError:
                raise BadRequest(f"query parameter {key!r} must be a number") from None
    return f


def _flag(name: str) -> bool:
    """A boolean query parameter: true/1/yes or false/0/no (absent: false); anything else is a 400."""
    raw = request.args.get(name, "").lower()
    if raw not in ("", "1", "true", "yes", "0", "false", "no"):
        raise BadRequest(f"query parameter {name!r} must be true or false")
    return raw in ("1", "true", "yes")


def _pj(project, full: bool = True) -> dict:
    return reg.project_json(get_session(), current_principal(), project, full=full)


# -------------------------------------------------------------------------------------- reads


@bp.get("/projects/schema")
@public
def proposal_schema():
    return ok({"ref": proposal.SCHEMA_REF, "schema": proposal.packaged_schema(),
               "codes": {f: proposal.labels(f) for f in ("area", "construction_mode", "deployment")}})


@bp.get("/projects")
def list_projects():
    page = query_int("page", 1, minimum=1)
    per_page = query_int("per_page", 50, minimum=1, maximum=500)
    order = request.args.get("order", "-updated_at")
    session, principal = get_session(), current_principal()
    items, total = reg.project_list(session, principal, filters=_filters(), page=page, per_page=per_page,
                                    order=order, summary=True)
    return ok({"items": [reg.project_json(session, principal, p, full=False) for p in items], "total": total,
               "page": page, "per_page": per_page})


@bp.get("/projects/<oid:project_id>")
def get_project(project_id: str):
    return ok(_pj(reg.project_get(get_session(), current_principal(), project_id)))


@bp.get("/projects/<oid:project_id>/history")
def project_history(project_id: str):
    return ok({"items": reg.project_history(get_session(), current_principal(), project_id)})


@bp.get("/projects/<oid:project_id>/similar")
def similar_to_project(project_id: str):
    top = query_int("top", 5, minimum=1, maximum=100)
    return ok({"items": reg.project_similar(get_session(), current_principal(), project_id=project_id, top=top,
                                            include_distinct=_flag("include_distinct"))})


@bp.post("/projects/similar")
def similar_to_document():
    body = json_body("ProposalFields")
    top = query_int("top", 5, minimum=1, maximum=100)
    return ok({"items": reg.project_similar(get_session(), current_principal(), data=body, top=top)})


@bp.post("/projects/precheck")
def precheck_document():
    body = json_body("ProposalCandidate")
    return ok(reg.precheck_data(get_session(), current_principal(), body))


@bp.get("/projects/portfolio")
def portfolio():
    return ok(reg.portfolio(get_session(), current_principal(), filters=_filters()))


@bp.get("/projects/clusters")
def clusters():
    return ok({"items": reg.clusters(get_session(), current_principal())})


@bp.get("/projects/export")
def export_projects():
    fmt = request.args.get("format", "csv")
    if fmt not in ("csv", "xlsx", "json"):
        raise BadRequest("format must be csv, xlsx or json")
    from portal.db import get_db, streamed_with_session

    filters, principal = _filters(), current_principal()
    session = get_db().session()  # the body streams after the request (and its session) ended
    try:
        items = reg.projects_for_export(session, principal, filters=filters)  # authorised here, read lazily
    except BaseException:
        session.close()
        raise
    mime = {"csv": "text/csv; charset=utf-8", "json": "application/json",
            "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}[fmt]
    chunks = reg_export.stream(items, fmt, matches_of=lambda p: reg.visible_matches(principal, p))
    return Response(streamed_with_session(session, chunks), mimetype=mime.split(";")[0], content_type=mime,
                    headers={"Content-Disposition": f"attachment; filename=projects.{fmt}"})


@bp.get("/projects/rules")
def list_rules():
    return ok({"items": reg.rule_list(get_session(), current_principal())})


@bp.get("/projects/<oid:project_id>/reviews")
def list_reviews(project_id: str):
    return ok(reg.reviews_get(get_session(), current_principal(), project_id))


# ------------------------------------------------------------------------------------- writes


@bp.post("/projects")
def create_project():
    body = json_body("ProjectDocument")
    session, principal = get_session(), current_principal()
    project = reg.project_create(session, principal, body, org_id=org_for(session, principal, body))
    if _flag("submit"):
        reg.project_submit(session, principal, project.id)
    return ok(_pj(project), 201)


@bp.put("/projects/<oid:project_id>")
def update_project(project_id: str):
    body = json_body("ProjectDocument")
    revision = query_int("revision", None, minimum=1)
    project = reg.project_update(get_session(), current_principal(), project_id, body, revision=revision)
    return ok(_pj(project))


@bp.post("/projects/<oid:project_id>/submit")
def submit_project(project_id: str):
    body = json_body("ReasonRequest") if request.get_data() else {}
    return ok(_pj(reg.project_submit(get_session(), current_principal(), project_id, reason=body.get("reason", ""))))


@bp.post("/projects/<oid:project_id>/precheck")
def precheck_project(project_id: str):
    return ok(_pj(reg.project_precheck(get_session(), current_principal(), project_id)))


@bp.post("/projects/<oid:project_id>/panel")
def form_panel(project_id: str):
    body = json_body("PanelRequest")
    session = get_session()
    result = reg.panel_form(session, current_principal(), project_id, expert_refs(session, body["experts"]),
                            reason=body.get("reason", ""))
    return ok(result, 201)


@bp.post("/projects/<oid:project_id>/panel/close")
def close_panel(project_id: str):
    return ok(reg.panel_close(get_session(), current_principal(), project_id))


@bp.post("/projects/<oid:project_id>/reviews")
def submit_review(project_id: str):
    body = json_body("ReviewRequest")
    review = reg.review_submit(get_session(), current_principal(), project_id, body["scores"],
                               comment=body.get("comment", ""))
    return ok({"id": review.id, "total": review.total, "scores": review.scores, "comment": review.comment}, 201)


@bp.post("/projects/<oid:project_id>/decision")
def decide(project_id: str):
    body = json_body("DecisionRequest")
    return ok(_pj(reg.project_decide(get_session(), current_principal(), project_id, body["decision"],
                                     reason=body["reason"])))


@bp.post("/projects/<oid:project_id>/transitions")
def transition(project_id: str):
    body = json_body("TransitionRequest")
    return ok(_pj(reg.project_transition(get_session(), current_principal(), project_id, body["event"],
                                         reason=body["reason"])))


@bp.post("/projects/pairs")
def mark_pair():
    body = json_body("PairRequest")
    pair = reg.pair_mark(get_session(), current_principal(), body["project_a"], body["project_b"], body["verdict"],
                         reason=body.get("reason", ""))
    return ok({"project_a": pair.project_a, "project_b": pair.project_b, "verdict": pair.verdict,
               "reason": pair.reason, "marked_by": pair.marked_by}, 200)


@bp.post("/projects/rules")
def create_rule():
    body = json_body("RuleRequest")
    rule = reg.rule_create(get_session(), current_principal(), body)
    return ok({**rule.definition, "code": rule.code, "severity": rule.severity, "enabled": rule.enabled,
               "source": "database"}, 201)


IMPORT_TYPES = {"text/csv": "csv", "application/json": "json", "application/x-ndjson": "ndjson",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx"}


@bp.post("/projects/import")
def import_projects():
    """The file is the request body; its format comes from the content type (or ``?format=``). Every row is
    checked first; any error → 422 listing each row's problems and nothing imported."""
    from kernel.errors import UnsupportedMediaType

    fmt = request.args.get("format") or IMPORT_TYPES.get(request.mimetype)
    if request.args.get("format") and fmt not in importing.FORMATS:
        raise BadRequest(f"query parameter 'format' must be one of {', '.join(importing.FORMATS)}")
    if fmt not in importing.FORMATS:
        raise UnsupportedMediaType(f"send text/csv, application/json, application/x-ndjson or XLSX, not {request.mimetype or 'nothing'}")
    session, principal = get_session(), current_principal()
    from kernel.permissions import authorize

    authorize(principal, "registry:project:import")
    parsed = importing.parse(request.get_data(), fmt=fmt)
    if parsed.errors:
        raise ValidationFailed(f"the file has {len(parsed.errors)} problem(s); nothing was imported",
                               errors=parsed.errors[:1000])
    from kernel.ids import sha256_hex

    body = request.get_data()
    created = reg.project_import(session, principal, parsed.rows, resolve_org=org_resolver(session),
                                 submit=_flag("submit"),
                                 source={"sha256": sha256_hex(body), "format": parsed.format, "bytes": len(body)})
    return ok({"imported": len(created), "encoding": parsed.encoding, "format": parsed.format,
               "by_state": _count_states(created), "ids": [p.id for p in created]}, 201)


def _count_states(projects) -> dict:
    from collections import Counter

    return dict(sorted(Counter(p.state for p in projects).items()))
