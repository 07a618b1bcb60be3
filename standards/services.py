"""Use cases of the standards registry: create, publish, deprecate, retire; look-ups; validation, diff and
lint of data and documents against registered versions.

Publishing runs two rules and refuses with the full list of problems:

* **validity** — a JSON Schema must satisfy its meta-schema and every ``$ref`` must resolve inside the
  registry or the uploaded bundle (never over the network); an OpenAPI document must pass
  openapi-spec-validator; a shapes graph must parse and load as well-formed SHACL;
* **compatibility** — per standard (``NONE``, ``BACKWARD``, ``FORWARD``, ``FULL`` and ``*_TRANSITIVE``):
  JSON Schema with Confluent's semantics (:mod:`standards.compat`), OpenAPI with the breaking-change engine
  (:mod:`standards.oasdiff`, level ``error`` findings).

State changes are audited in the same transaction (``audit.record``) and committed at the end.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

import audit
from kernel.clock import utcnow
from kernel.errors import Conflict, NotFound, ValidationFailed
from kernel.ids import sha256_hex
from kernel.permissions import authorize
from kernel.principal import Principal
from kernel.faults import pause_point
from standards import compat, oasdiff
from standards.jsonschema_engine import (
    build_registry,
    dialect_of,
    find_refs,
    schema_problems,
)
from standards.loading import InputError, decode_utf8, parse_document, rdf_format_for
from standards.models import KINDS, Standard, StandardResource, StandardVersion
from standards.openapi_engine import RemoteReference, openapi_version, parse_cached, problems_cached, refuse_remote_refs

BASE_URL = os.environ.get("CITYGOV_STANDARDS_BASE_URL", "https://standards.citygov.example").rstrip("/")
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,119}$")
SEMVER_RE = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
LIVE_STATES = ("published", "deprecated")


def parse_semver(version: str) -> tuple[int, int, int]:
    m = SEMVER_RE.match(version or "")
    if not m:
        raise ValidationFailed(f"version {version!r} is not a semantic version (MAJOR.MINOR.PATCH)",
                               errors=[{"field": "version", "message": "expected MAJOR.MINOR.PATCH"}])
    return int(m[1]), int(m[2]), int(m[3])


def parse_ref(ref: str) -> tuple[str, str | None]:
    """``NAME@VERSION`` (or ``NAME`` / ``NAME@latest`` for the newest published version)."""
    name, _, version = ref.partition("@")
    return name, (version or None) if version != "latest" else None


# ------------------------------------------------------------------------------------------- lookups


def _standard(session, name: str) -> Standard:
    std = session.exec(select(Standard).where(Standard.name == name)).first()
    if std is None:
        raise NotFound(f"no standard named {name!r}")
    return std


def _versions(session, std: Standard, states: Iterable[str] | None = None) -> list[StandardVersion]:
    q = select(StandardVersion).where(StandardVersion.standard_id == std.id)
    rows = list(session.exec(q))
    if states is not None:
        states = tuple(states)
        rows = [r for r in rows if r.state in states]
    return sorted(rows, key=lambda v: v.semver)


def _version(session, std: Standard, version: str | None) -> StandardVersion:
    if version is None:
        live = _versions(session, std, ("published",)) or _versions(session, std, LIVE_STATES)
        if not live:
            raise NotFound(f"standard {std.name!r} has no published version")
        return live[-1]
    row = session.exec(select(StandardVersion).where(StandardVersion.standard_id == std.id,
                                                     StandardVersion.version == version)).first()
    if row is None:
        raise NotFound(f"standard {std.name!r} has no version {version!r}")
    return row


def standard_list(session, principal: Principal) -> list[dict[str, Any]]:
    out = []
    for std in session.exec(select(Standard).order_by(Standard.name)):
        versions = [v for v in _versions(session, std) if _visible(principal, v)]
        latest = next((v for v in reversed(versions) if v.state == "published"), None)
        out.append({**std.to_dict(), "latest": latest.version if latest else None,
                    "versions": [{"version": v.version, "state": v.state} for v in versions]})
    return out


def _visible(principal: Principal, v: StandardVersion) -> bool:
    from kernel.permissions import is_allowed

    return is_allowed(principal, "standards:version:view", v)


def standard_get(session, principal: Principal, name: str) -> dict[str, Any]:
    std = _standard(session, name)
    versions = [v.to_dict() for v in _versions(session, std) if _visible(principal, v)]
    return {**std.to_dict(), "versions": versions}


def version_get(session, principal: Principal, ref: str, *, content: bool = False) -> StandardVersion:
    name, version = parse_ref(ref)
    std = _standard(session, name)
    v = _version(session, std, version)
    authorize(principal, "standards:version:view", v)
    return v


# ---------------------------------------------------------------------------------------- registry


_REG_CACHE: dict[str, Any] = {}
_REG_LOCK = threading.Lock()


def schema_registry(session, *, extra: dict[str, Any] | None = None, default_dialect: str = "2020-12"):
    """A ``referencing.Registry`` of every live JSON Schema version (by registry URI and ``$id``) and bundle
    resource, plus ``extra`` (an upload's own bundle). Cached by the set of live versions."""
    rows = session.exec(
        select(StandardVersion.id, StandardVersion.sha256, StandardVersion.uri, StandardVersion.schema_id,
               StandardVersion.content, StandardVersion.dialect)
        .join(Standard, Standard.id == StandardVersion.standard_id)
        .where(Standard.kind == "jsonschema", StandardVersion.state.in_(LIVE_STATES))  # type: ignore[attr-defined]
    ).all()
    key = sha256_hex("|".join(sorted(f"{r[0]}:{r[1]}" for r in rows)) + default_dialect)
    with _REG_LOCK:
        reg = _REG_CACHE.get(key)
    if reg is None:
        pairs = []
        ids = [r[0] for r in rows]
        for _id, _sha, uri, schema_id, content, _dialect in rows:
            doc = parse_document(content, fmt="json")
            pairs.append((uri, doc))
            if schema_id and schema_id != uri:
                pairs.append((schema_id, doc))
        if ids:
            for res in session.exec(select(StandardResource).where(StandardResource.version_id.in_(ids))):  # type: ignore[attr-defined]
                pairs.append((res.uri, parse_document(res.content, fmt="json")))
        reg = build_registry(pairs, default_dialect=default_dialect)
        with _REG_LOCK:
            if len(_REG_CACHE) > 16:
                _REG_CACHE.clear()
            _REG_CACHE[key] = reg
    if extra:
        from standards.jsonschema_engine import add_to_registry

        for uri, doc in extra.items():
            reg = add_to_registry(reg, uri, doc, default_dialect)
    return reg


def _ref_problems(schema: Any, registry, dialect: str) -> list[dict[str, Any]]:
    """Every absolute ``$ref`` must resolve inside the registry (no fetching)."""
    import referencing.exceptions

    from standards.jsonschema_engine import DIALECTS

    spec = DIALECTS[dialect][1]
    root_uri = schema.get("$id", "") if isinstance(schema, dict) else ""
    resolver = registry.with_resource(root_uri, spec.create_resource(schema)).resolver(base_uri=root_uri)
    problems = []
    for ref in find_refs(schema):
        try:
            resolver.lookup(ref)
        except (referencing.exceptions.Unresolvable, referencing.exceptions.NoSuchResource) as exc:
            if ref.startswith("#"):
                # local fragments may be relative to a nested $id; leave them to the validator
                continue
            if ref.split(":", 1)[0].lower() in ("http", "https", "ftp", "file"):
                raise RemoteReference(f"$ref {ref!r} is neither in the registry nor in the bundle: remote "
                                      "references are never fetched (publish it first, or add it with --bundle)",
                                      errors=[{"pointer": "", "message": f"remote $ref {ref!r}"}])
            problems.append({"pointer": "", "rule": "unresolvable-ref",
                             "message": f"$ref {ref!r} does not resolve inside the registry or the bundle "
                                        f"(remote references are never fetched): {type(exc).__name__}"})
        except Exception as exc:  # noqa: BLE001
            problems.append({"pointer": "", "rule": "unresolvable-ref", "message": f"$ref {ref!r}: {exc}"})
    return problems


# ----------------------------------------------------------------------------------------- validity


_MEDIA = {"jsonschema": "application/schema+json", "openapi-json": "application/vnd.oai.openapi+json",
          "openapi-yaml": "application/vnd.oai.openapi", "turtle": "text/turtle", "nt": "application/n-triples",
          "json-ld": "application/ld+json", "xml": "application/rdf+xml"}


def analyse(kind: str, content: bytes | str, *, filename: str | None = None, fmt: str | None = None,
            ontology: bytes | str | None = None, ontology_filename: str | None = None,
            registry=None) -> dict[str, Any]:
    """Parse and check a candidate document; returns ``{problems, dialect, media_type, schema_id, doc}``."""
    if kind not in KINDS:
        raise ValidationFailed(f"unknown kind {kind!r}", errors=[{"field": "kind", "message": f"one of {KINDS}"}])
    out: dict[str, Any] = {"problems": [], "dialect": "", "schema_id": None, "doc": None}
    if kind == "jsonschema":
        doc = parse_document(content, filename=filename, fmt=fmt)
        out["doc"] = doc
        out["media_type"] = _MEDIA["jsonschema"]
        problems = schema_problems(doc)
        if not problems:
            out["dialect"] = dialect_of(doc)
            if isinstance(doc, dict) and isinstance(doc.get("$id"), str):
                out["schema_id"] = doc["$id"]
            reg = registry if registry is not None else build_registry(default_dialect=out["dialect"])
            problems = _ref_problems(doc, reg, out["dialect"])
        out["problems"] = problems
    elif kind == "openapi":
        doc = parse_document(content, filename=filename, fmt=fmt)
        out["doc"] = doc
        text = decode_utf8(content) if isinstance(content, bytes) else content
        is_json = text.lstrip()[:1] == "{"
        out["media_type"] = _MEDIA["openapi-json" if is_json else "openapi-yaml"]
        out["dialect"] = openapi_version(doc) or ""
        refuse_remote_refs(doc, filename or "the document")
        out["problems"] = problems_cached(doc, sha256_hex(content))
    else:
        from standards.shacl_engine import load_graph, shapes_problems

        f = rdf_format_for(filename, fmt or "turtle" if not filename else fmt)
        shapes = load_graph(content, fmt=f, filename=filename)
        out["doc"] = shapes
        out["media_type"] = _MEDIA[f]
        out["dialect"] = f
        problems = shapes_problems(shapes)
        if ontology is not None:
            try:
                load_graph(ontology, fmt=rdf_format_for(ontology_filename, None if ontology_filename else "turtle"),
                           filename=ontology_filename)
            except InputError as exc:  # an ontology that cannot be read safely is bad input, as the shapes are
                raise InputError(f"ontology {ontology_filename or ''}: {exc.detail}".replace("  ", " "),
                                 errors=exc.errors) from None
        out["problems"] = problems
    return out


def compatibility_findings(kind: str, level: str, new_doc: Any, previous_docs: list[Any], *,
                           strict: bool = False) -> list[dict[str, Any]]:
    level = (level or "NONE").upper()
    if level == "NONE" or not previous_docs:
        return []
    if kind == "jsonschema":
        return compat.check(level, new_doc, previous_docs, strict=strict)
    if kind == "openapi":
        against = previous_docs if level.endswith("_TRANSITIVE") else previous_docs[-1:]
        base = level.removesuffix("_TRANSITIVE")
        out = []
        for old in against:
            if base in ("BACKWARD", "FULL"):
                out += [{**f, "direction": "BACKWARD"} for f in oasdiff.breaking(old, new_doc)]
            if base in ("FORWARD", "FULL"):
                out += [{**f, "direction": "FORWARD"} for f in oasdiff.breaking(new_doc, old)]
        return out
    return []  # SHACL: compatibility is not defined; the validity rule applies


# ------------------------------------------------------------------------------------------- writes


def standard_create(session, principal: Principal, *, name: str, kind: str, compatibility: str | None = None,
                    strict: bool = False, title: str = "", description: str = "", format_assert: bool = True,
                    lint_ruleset: str | None = None, commit: bool = True) -> Standard:
    authorize(principal, "standards:standard:create", None)
    if compatibility is None:
        from standards.settings import default_compatibility

        compatibility = default_compatibility(session)
    errors = []
    if not NAME_RE.match(name or ""):
        errors.append({"field": "name", "message": "lower-case letters, digits, '.', '_' or '-' (max 120)"})
    if kind not in KINDS:
        errors.append({"field": "kind", "message": f"one of {', '.join(KINDS)}"})
    if (compatibility or "").upper() not in compat.LEVELS:
        errors.append({"field": "compatibility", "message": f"one of {', '.join(compat.LEVELS)}"})
    if lint_ruleset is not None:
        from standards.lint import load_ruleset

        load_ruleset(lint_ruleset)  # a bad rule set is refused now, not at the first certification
    if errors:
        raise ValidationFailed("invalid standard", errors=errors)
    if session.exec(select(Standard).where(Standard.name == name)).first() is not None:
        raise Conflict(f"a standard named {name!r} exists")
    std = Standard(name=name, kind=kind, compatibility=compatibility.upper(), strict=strict, title=title or name,
                   description=description or "", format_assert=bool(format_assert), lint_ruleset=lint_ruleset,
                   created_by=principal.actor)
    session.add(std)
    session.flush()
    audit.record(session, principal, "standards:standard:create", object_type="standard", object_id=std.id,
                 state=_state(std), details={"name": name, "kind": kind, "compatibility": std.compatibility,
                                             "format_assert": std.format_assert})
    if commit:
        session.commit()
    return std


def _state(obj: Any) -> dict[str, Any]:
    d = obj.to_dict()
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in d.items()}


def version_create(session, principal: Principal, name: str, version: str, content: bytes | str, *,
                   filename: str | None = None, fmt: str | None = None, ontology: bytes | str | None = None,
                   ontology_filename: str | None = None, bundle: dict[str, bytes | str] | None = None,
                   commit: bool = True) -> StandardVersion:
    """Register a draft (immutable once stored). Parses the content; the full rules run at publish."""
    std = _standard(session, name)
    authorize(principal, "standards:version:create", std)
    major, minor, patch = parse_semver(version)
    existing = _versions(session, std)
    if any(v.version == version for v in existing):
        raise Conflict(f"{name}@{version} exists: versions are immutable")
    if existing and (major, minor, patch) <= existing[-1].semver:
        raise Conflict(f"{name}@{version} must be greater than the latest version {existing[-1].version}")
    raw = content.encode("utf-8") if isinstance(content, str) else content
    text = decode_utf8(raw, what=filename or "content")
    bundle_docs = {uri: parse_document(body, filename=uri) for uri, body in (bundle or {}).items()}
    registry = None
    if std.kind == "jsonschema":  # refs resolve against the registry and the upload's bundle (never fetched)
        registry = schema_registry(session, extra=bundle_docs or None)
    parsed = analyse(std.kind, raw, filename=filename, fmt=fmt, ontology=ontology, ontology_filename=ontology_filename,
                     registry=registry)  # parse now (syntax errors are 4xx); the rules run at publish
    if std.kind == "jsonschema":
        text = _canonical_json(parsed["doc"])  # stored as JSON whatever the upload format
    v = StandardVersion(standard_id=std.id, version=version, major=major, minor=minor, patch=patch,
                        sha256=sha256_hex(raw), media_type=parsed["media_type"], dialect=parsed["dialect"],
                        content=text, raw=raw, uri=f"{BASE_URL}/{name}/{version}", schema_id=parsed["schema_id"],
                        created_by=principal.actor, state="draft")
    if ontology is not None:
        v.ontology = decode_utf8(ontology, what=ontology_filename or "ontology")
        v.ontology_media_type = _MEDIA[rdf_format_for(ontology_filename, None if ontology_filename else "turtle")]
    session.add(v)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(f"{name}@{version} was registered concurrently: versions are immutable") from None
    for uri, body in (bundle or {}).items():
        doc = bundle_docs[uri]
        session.add(StandardResource(version_id=v.id, uri=uri, sha256=sha256_hex(body), content=_canonical_json(doc)))
    audit.record(session, principal, "standards:version:create", object_type="standard_version", object_id=v.id,
                 state=_state(v), details={"standard": name, "version": version, "sha256": v.sha256})
    if commit:
        session.commit()
    return v


def _canonical_json(doc: Any) -> str:
    import json

    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


def _doc_of(kind: str, v: StandardVersion) -> Any:
    if kind == "shacl":
        return None
    return parse_cached(v.content, digest=v.sha256 + ":doc")


def version_publish(session, principal: Principal, name: str, version: str, *, dry_run: bool = False,
                    commit: bool = True) -> StandardVersion:
    """draft → published, after the validity and compatibility rules."""
    std = _standard(session, name)
    v = _version(session, std, version)
    authorize(principal, "standards:version:publish", v)
    if v.state != "draft":
        raise Conflict(f"{name}@{version} is {v.state}, not a draft")
    bundle = {r.uri: parse_document(r.content, fmt="json")
              for r in session.exec(select(StandardResource).where(StandardResource.version_id == v.id))}
    registry = None
    if std.kind == "jsonschema":
        registry = schema_registry(session, extra=bundle, default_dialect=v.dialect or "2020-12")
    parsed = analyse(std.kind, v.content, fmt="json" if std.kind == "jsonschema" else None,
                     filename=_filename_for(v), ontology=v.ontology,
                     ontology_filename=_ont_filename(v), registry=registry)
    if parsed["problems"]:
        raise ValidationFailed(f"{name}@{version} is not a valid {std.kind} document",
                               errors=[{**p, "rule": p.get("rule", "validity")} for p in parsed["problems"]],
                               rule="validity")
    previous = [p for p in _versions(session, std, LIVE_STATES) if p.semver < v.semver]
    findings = compatibility_findings(std.kind, std.compatibility, parsed["doc"],
                                      [_doc_of(std.kind, p) for p in previous], strict=std.strict)
    if findings:
        raise Conflict(f"{name}@{version} breaks the {std.compatibility} compatibility rule",
                       errors=findings[:500], rule="compatibility", breaking_changes=len(findings))
    v.validity = {"valid": True, "checked_at": utcnow().isoformat(), "dialect": parsed["dialect"]}
    if dry_run:
        session.rollback()
        return v
    v.state = "published"
    v.published_at = utcnow()
    v.published_by = principal.actor
    session.add(v)
    session.flush()
    audit.record(session, principal, "standards:version:publish", object_type="standard_version", object_id=v.id,
                 state=_state(v), details={"standard": name, "version": version, "sha256": v.sha256,
                                           "compatibility": std.compatibility})
    if commit:
        session.commit()
    return v


def served(v: StandardVersion) -> tuple[bytes, str, str]:
    """``(bytes, sha256, media type)`` of a version's download: the exact bytes that were published, whose hash is
    the version's ``sha256`` (a JSON Schema uploaded as YAML is served as that YAML)."""
    body, digest = v.published_bytes()
    media = v.media_type
    head = body.lstrip()[:1]
    if media == "application/schema+json" and head not in (b"{", b"[", b"t", b"f"):
        media = "application/yaml"
    return body, digest, media


def _filename_for(v: StandardVersion) -> str:
    return {"application/schema+json": "schema.json", "application/vnd.oai.openapi+json": "openapi.json",
            "application/vnd.oai.openapi": "openapi.yaml", "text/turtle": "shapes.ttl",
            "application/n-triples": "shapes.nt", "application/ld+json": "shapes.jsonld",
            "application/rdf+xml": "shapes.rdf"}.get(v.media_type, "document")


def _ont_filename(v: StandardVersion) -> str | None:
    if v.ontology is None:
        return None
    return {"text/turtle": "ontology.ttl", "application/n-triples": "ontology.nt",
            "application/ld+json": "ontology.jsonld", "application/rdf+xml": "ontology.rdf"}.get(
        v.ontology_media_type or "text/turtle", "ontology.ttl")


def publish(session, principal: Principal, name: str, version: str, content: bytes | str, *,
            kind: str | None = None, filename: str | None = None, fmt: str | None = None,
            compatibility: str | None = None, ontology: bytes | str | None = None,
            ontology_filename: str | None = None, bundle: dict[str, bytes | str] | None = None,
            title: str = "", description: str = "", dry_run: bool = False,
            format_assert: bool | None = None) -> StandardVersion:
    """Create the standard if needed, store the version and publish it: one transaction, one commit."""
    std = session.exec(select(Standard).where(Standard.name == name)).first()
    if std is None:
        if kind is None:
            kind = _guess_kind(content, filename)
        standard_create(session, principal, name=name, kind=kind, compatibility=compatibility,
                        title=title, description=description, commit=False,
                        format_assert=True if format_assert is None else format_assert)
    elif kind is not None and kind != std.kind:
        raise ValidationFailed(f"standard {name!r} is of kind {std.kind!r}, not {kind!r}")
    elif format_assert is not None and format_assert != std.format_assert:
        from standards.settings import standard_update

        standard_update(session, principal, name, format_assert=format_assert, commit=False)
    try:
        version_create(session, principal, name, version, content, filename=filename, fmt=fmt, ontology=ontology,
                       ontology_filename=ontology_filename, bundle=bundle, commit=False)
        v = version_publish(session, principal, name, version, dry_run=dry_run, commit=False)
    except BaseException:
        session.rollback()
        raise
    if not dry_run:
        session.flush()
        pause_point("standards.publish.before_commit")
        session.commit()
    return v


def _guess_kind(content: bytes | str, filename: str | None) -> str:
    if filename and filename.rsplit(".", 1)[-1].lower() in ("ttl", "nt", "jsonld", "rdf", "owl"):
        return "shacl"
    doc = parse_document(content, filename=filename)
    if isinstance(doc, dict) and ("openapi" in doc or "swagger" in doc):
        return "openapi"
    return "jsonschema"


def _transition(session, principal: Principal, name: str, version: str, *, action: str, allowed_from: tuple,
                to: str, stamp: str) -> StandardVersion:
    std = _standard(session, name)
    v = _version(session, std, version)
    authorize(principal, f"standards:version:{action}", v)
    if v.state not in allowed_from:
        raise Conflict(f"{name}@{version} is {v.state}: cannot {action}")
    v.state = to
    setattr(v, stamp, utcnow())
    session.add(v)
    session.flush()
    audit.record(session, principal, f"standards:version:{action}", object_type="standard_version", object_id=v.id,
                 state=_state(v), details={"standard": name, "version": version})
    session.commit()
    return v


def version_deprecate(session, principal: Principal, name: str, version: str) -> StandardVersion:
    return _transition(session, principal, name, version, action="deprecate", allowed_from=("published",),
                       to="deprecated", stamp="deprecated_at")


def version_retire(session, principal: Principal, name: str, version: str) -> StandardVersion:
    return _transition(session, principal, name, version, action="retire", allowed_from=("published", "deprecated"),
                       to="retired", stamp="retired_at")


# the checks by reference live in standards.checks (validation of data, OpenAPI documents by ref)
from standards.checks import (  # noqa: E402,F401 - the use cases' public names, kept here for callers
    _data_kind, _merge, compiled_schema, lint_ruleset_of, openapi_doc, validate_data)
