"""The proposal format: a JSON Schema shipped with the package and published in the standards registry
as ``registry.proposal``; submissions are validated against the published version, errors per field."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from kernel.errors import NotFound, ValidationFailed
from kernel.principal import Principal, system_principal

STANDARD_NAME = "registry.proposal"
SCHEMA_VERSION = "1.0.0"
SCHEMA_REF = f"{STANDARD_NAME}@{SCHEMA_VERSION}"
LIST_FIELDS = ("shared_platforms", "data_resources", "data_aggregation", "capability_tags", "attachments",
               "existing_systems")
INTERFACE_FIELDS = ("interfaces_provided", "interfaces_consumed")


@cache
def packaged_schema_text() -> str:
    return resources.files("registry").joinpath("data/proposal.schema.json").read_text(encoding="utf-8")


@cache
def packaged_schema() -> dict[str, Any]:
    return json.loads(packaged_schema_text())


def codes(field: str) -> list[str]:
    """The allowed codes of an enumerated field (``area``, ``construction_mode``, ``deployment``)."""
    return [b["const"] for b in packaged_schema()["properties"][field]["oneOf"]]


def labels(field: str) -> dict[str, str]:
    return {b["const"]: b.get("title", b["const"]) for b in packaged_schema()["properties"][field]["oneOf"]}


def field_names() -> list[str]:
    return list(packaged_schema()["properties"])


def required_fields() -> list[str]:
    return list(packaged_schema()["required"])


def ensure_published(session, principal: Principal | None = None):
    """The published ``registry.proposal`` version, publishing the packaged schema first if the standards
    registry does not have it yet (as the ``system:registry`` principal, audited like any publication)."""
    from standards import services as standards

    try:
        return standards.version_get(session, principal or system_principal("registry"), SCHEMA_REF)
    except NotFound:
        pass
    from kernel.errors import Conflict

    try:
        standards.publish(session, system_principal("registry"), STANDARD_NAME, SCHEMA_VERSION,
                          packaged_schema_text(), kind="jsonschema", filename="proposal.schema.json",
                          compatibility="BACKWARD", title="Informatization project proposal (项目申报书)",
                          description="The format of a proposal in the commission's project library.")
    except Conflict:  # published concurrently by another process
        session.rollback()
    return standards.version_get(session, principal or system_principal("registry"), SCHEMA_REF)


def _field_of(err: Any) -> str:
    path = list(err.absolute_path)
    if err.validator == "required" and isinstance(err.validator_value, list):
        missing = err.message.split("'")[1] if "'" in err.message else ""
        path = path + [missing]
    if err.validator == "additionalProperties":
        extra = err.message.split("'")[1] if "'" in err.message else ""
        path = path + [extra]
    return ".".join(str(p) for p in path) or "(document)"


def _message(err: Any) -> str:
    if err.validator == "oneOf" and isinstance(err.validator_value, list) and all(
            isinstance(b, dict) and "const" in b for b in err.validator_value):
        return f"{err.instance!r} is not one of the allowed codes: {', '.join(b['const'] for b in err.validator_value)}"
    return err.message


def compiled_schema(session):
    """The compiled published proposal schema (look it up once for a bulk check)."""
    from standards import services as standards

    return standards.compiled_schema(session, ensure_published(session))


def schema_errors(session, data: Any, *, partial: bool = False, compiled=None) -> list[dict[str, Any]]:
    """Errors of ``data`` against the published proposal schema, one per problem, with its ``field`` and
    JSON ``pointer``. ``partial`` (drafts) ignores missing required fields. ``compiled``: the schema from
    :func:`compiled_schema`, for many documents."""
    if compiled is None:
        compiled = compiled_schema(session)
    out = []
    for err in compiled.iter_errors(data):
        if partial and err.validator == "required" and not list(err.absolute_path):
            continue
        field = _field_of(err)
        out.append({"field": field, "pointer": "/" + "/".join(str(p) for p in err.absolute_path),
                    "message": _message(err), "rule": str(err.validator)})
    if isinstance(data, dict):
        s, e = data.get("start_year"), data.get("end_year")
        if isinstance(s, int) and isinstance(e, int) and e < s:
            out.append({"field": "end_year", "pointer": "/end_year", "message": "end_year is before start_year",
                        "rule": "order"})
    return sorted(out, key=lambda x: x["field"])


def validate(session, data: Any, *, partial: bool = False) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValidationFailed("a proposal is a JSON object", errors=[{"field": "(document)", "message": "not an object"}])
    errors = schema_errors(session, data, partial=partial)
    if errors:
        raise ValidationFailed(f"the proposal does not satisfy {SCHEMA_REF} ({len(errors)} problem(s))",
                               errors=errors, schema=SCHEMA_REF)
    return data


def interface_standards(data: dict[str, Any]) -> list[str]:
    refs = []
    for key in INTERFACE_FIELDS:
        for item in data.get(key) or []:
            if isinstance(item, dict) and item.get("standard"):
                refs.append(item["standard"])
    return refs


def search_text(data: dict[str, Any]) -> str:
    """Title + summary + capability text: what the duplicate detector compares."""
    parts = [data.get("title", ""), data.get("title_en", ""), data.get("summary", ""), data.get("summary_en", ""),
             " ".join(data.get("capability_tags") or [])]
    return "\n".join(p for p in parts if p)
