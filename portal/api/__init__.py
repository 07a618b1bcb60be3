"""The JSON API under ``/api/v1``.

Each ``portal/api/<area>.py`` module defines a Blueprint ``bp`` and documents its operations in
``portal/api/openapi/<area>.yaml``; both are discovered here, so adding an area edits no shared list.
Request bodies are validated against the same OpenAPI document that is served, so the documentation
and the checks cannot drift apart.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from pathlib import Path
from typing import Any

import orjson
from flask import Blueprint, Flask, Response, current_app, request
from werkzeug.routing import BaseConverter

from kernel.errors import BadRequest, NotAuthenticated, UnsupportedMediaType, ValidationFailed

API_PREFIX = "/api/v1"
OPENAPI_DIR = Path(__file__).resolve().parent / "openapi"

meta_bp = Blueprint("api_meta", __name__)


@meta_bp.get("/openapi.json")
def openapi_json():  # public: see init_app
    return Response(orjson.dumps(openapi_document()), mimetype="application/json")


def area_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).resolve().parent)]) if not m.name.startswith("_"))


def public(view):
    """Mark an API view as open to anonymous callers (login and public reads). Every other API view
    requires an authenticated principal before it runs: unauthenticated calls get a 401 problem."""
    view.citygov_public = True
    return view


def _require_authentication() -> None:
    if not request.path.startswith(API_PREFIX + "/") or request.endpoint is None:
        return
    view = current_app.view_functions.get(request.endpoint)
    if view is not None and getattr(view, "citygov_public", False):
        return
    from portal.auth import current_principal

    if current_principal().is_anonymous:
        raise NotAuthenticated("this operation needs 'Authorization: Bearer <token>'")


openapi_json.citygov_public = True


class ObjectIdConverter(BaseConverter):
    """``<oid:project_id>``: a 32-hex object id (kernel.ids.new_id, incident digests). Fixed paths beside it
    (``/projects/clusters``) never match it, so they win and their ``Allow`` header lists only their methods."""

    regex = "[0-9a-f]{32}"


class NameConverter(BaseConverter):
    """``<name:name>``: a standard's name (``standards.services.NAME_RE``) that is not one of the fixed
    sub-paths ``check``, ``diff`` and ``lint``."""

    regex = r"(?!(?:check|diff|lint)(?![a-z0-9._-]))[a-z0-9][a-z0-9._-]{0,119}"


def nul_at(value: Any, pointer: str = "") -> str | None:
    """The JSON pointer of the first NUL character in a string, or in any key or string inside a list or dict
    (``""`` for the value itself); None when there is none."""
    if isinstance(value, str):
        return pointer if "\x00" in value else None
    if isinstance(value, dict):
        for k, v in value.items():
            here = pointer + "/" + str(k).replace("~", "~0").replace("/", "~1")
            if "\x00" in str(k):
                return here
            found = nul_at(v, here)
            if found is not None:
                return found
    if isinstance(value, list):
        for i, v in enumerate(value):
            found = nul_at(v, f"{pointer}/{i}")
            if found is not None:
                return found
    return None


def has_nul(value: Any) -> bool:
    """Whether a string, or any key or string inside a list or dict, holds a NUL character."""
    return nul_at(value) is not None


def accepts_nul(view):
    """Mark a view whose JSON body is a document it only reports on and never stores (a lint): a NUL in it is
    a finding of the report, not a reason to refuse the request. The path and query are still checked."""
    view.citygov_accepts_nul = True
    return view


def _refuse_nul() -> None:
    """No text the API takes may hold NUL: PostgreSQL cannot store it (a 500 from the driver, found by
    Schemathesis), and no name, code or sentence needs it. Checked for every /api/v1 request: path, query
    and JSON body (parsed only when the raw body contains an escaped NUL)."""
    if not request.path.startswith(API_PREFIX + "/"):
        return
    if "\x00" in request.path:
        raise BadRequest("NUL characters are not accepted (in the path)")
    for k, v in request.args.items(multi=True):
        if has_nul(k) or has_nul(v):
            raise BadRequest(f"NUL characters are not accepted (in the query parameter '{k.replace(chr(0), '')}')")
    if getattr(current_app.view_functions.get(request.endpoint), "citygov_accepts_nul", False):
        return
    mimetype = request.mimetype
    if mimetype == "application/json" or (mimetype.startswith("application/") and mimetype.endswith("+json")):
        raw = request.get_data(cache=True)
        if b"\\u0000" in raw.lower():
            try:
                parsed = orjson.loads(raw)
            except orjson.JSONDecodeError:
                return  # json_body answers malformed JSON
            where = nul_at(parsed)
            if where is not None:
                raise BadRequest(f"NUL characters are not accepted (in the JSON body at '{where}')")


def init_app(app: Flask) -> None:
    app.url_map.converters.setdefault("oid", ObjectIdConverter)
    app.url_map.converters.setdefault("name", NameConverter)
    app.before_request(_require_authentication)
    app.before_request(_refuse_nul)
    from portal.security import csrf

    csrf.exempt(meta_bp)
    app.register_blueprint(meta_bp, url_prefix=API_PREFIX)
    for name in area_modules():
        module = importlib.import_module(f"portal.api.{name}")
        bp = getattr(module, "bp", None)
        if isinstance(bp, Blueprint):
            csrf.exempt(bp)  # bearer tokens only: no ambient credentials to forge
            app.register_blueprint(bp, url_prefix=API_PREFIX)


@cache
def openapi_document() -> dict[str, Any]:
    """base.yaml merged with every area fragment (paths and components), parsed once, plus the schemas an area
    module derives from code or data (``openapi_schemas()`` returning ``{name: schema}``)."""
    import yaml

    # our own files: libyaml's loader where PyYAML has it (~10× faster; the first request that checks a body
    # waited ~0.7 s for the pure-Python parser)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    def load(text: str) -> Any:
        return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader

    doc = load((OPENAPI_DIR / "base.yaml").read_text(encoding="utf-8"))
    doc.setdefault("paths", {})
    components = doc.setdefault("components", {})
    for fragment_path in sorted(OPENAPI_DIR.glob("*.yaml")):
        if fragment_path.name == "base.yaml":
            continue
        fragment = load(fragment_path.read_text(encoding="utf-8")) or {}
        for path, item in (fragment.get("paths") or {}).items():
            if path in doc["paths"]:
                raise RuntimeError(f"{fragment_path.name}: path {path} already documented")
            doc["paths"][path] = item
        for section, entries in (fragment.get("components") or {}).items():
            target = components.setdefault(section, {})
            for key, value in entries.items():
                if key in target and target[key] != value:
                    raise RuntimeError(f"{fragment_path.name}: components.{section}.{key} clashes")
                target[key] = value
        for tag in fragment.get("tags") or []:
            doc.setdefault("tags", []).append(tag)
    for item in doc["paths"].values():  # every operation may answer 400: NUL characters (see _refuse_nul)
        for method, operation in item.items():
            if method in ("get", "put", "post", "delete", "patch") and "400" not in operation.get("responses", {}):
                operation.setdefault("responses", {})["400"] = {"$ref": "#/components/responses/Problem"}
    for name in area_modules():  # schemas an area derives from a published format (e.g. the proposal schema)
        derive = getattr(importlib.import_module(f"portal.api.{name}"), "openapi_schemas", None)
        for key, value in (derive() if derive else {}).items():
            if key in components.setdefault("schemas", {}):
                raise RuntimeError(f"portal.api.{name}: components.schemas.{key} is also written in a fragment")
            components["schemas"][key] = value
    return doc


@cache
def _validator(schema_name: str) -> Any:
    from jsonschema import Draft202012Validator  # imported by the first request that checks a body

    doc = openapi_document()
    if schema_name not in doc["components"]["schemas"]:
        raise KeyError(f"no schema {schema_name} in the OpenAPI document")
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": doc["components"]}
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def json_body(schema_name: str | None = None) -> Any:
    """The request's JSON body, checked: content type, well-formed JSON, and (if named) the schema.

    Malformed JSON is a 400, a wrong content type a 415, a schema violation (unknown fields included,
    where the schema says ``additionalProperties: false``) a 422 listing every problem with its pointer.
    """
    mimetype = request.mimetype
    if mimetype != "application/json" and not (mimetype.startswith("application/") and mimetype.endswith("+json")):
        raise UnsupportedMediaType(f"send the body as application/json, not {mimetype or 'nothing'}")
    raw = request.get_data(cache=True)
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"malformed JSON: {exc}") from None
    if schema_name:
        errors = sorted(_validator(schema_name).iter_errors(data), key=lambda e: list(e.absolute_path))
        if errors:
            raise ValidationFailed(
                "the request body does not match its schema",
                errors=[_schema_error(e) for e in errors[:50]],
            )
    return data


def _schema_error(err) -> dict[str, str]:
    """One schema violation: the JSON ``pointer`` of the offending value, the dotted ``field`` (naming the
    missing or unknown property itself for ``required`` / ``additionalProperties``) and the message."""
    path = [str(p) for p in err.absolute_path]
    field = list(path)
    if err.validator in ("required", "additionalProperties") and "'" in err.message:
        field.append(err.message.split("'")[1])
    return {"field": ".".join(field) or "(document)", "pointer": "/" + "/".join(path), "message": err.message}


def ok(data: Any, status: int = 200, headers: dict | None = None) -> Response:
    resp = Response(orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS), status=status, mimetype="application/json")
    for key, value in (headers or {}).items():
        resp.headers[key] = value
    return resp


_DB_INT_MAX = 2**63 - 1


def query_int(name: str, default: int | None = None, *, minimum: int = 0, maximum: int | None = None) -> int | None:
    """An integer query parameter, or a 400 problem naming it (an empty value too: it is no integer).
    Without a ``maximum``, values beyond what a database integer holds are read as that limit (an offset
    past every row), never handed to the database to overflow."""
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"query parameter {name!r} must be an integer") from None
    if value < minimum or (maximum is not None and value > maximum):
        raise BadRequest(f"query parameter {name!r} must be between {minimum} and {maximum if maximum is not None else '∞'}")
    return min(value, _DB_INT_MAX)


def app_config(key: str) -> Any:
    return current_app.config[key]
