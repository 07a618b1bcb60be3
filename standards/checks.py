"""Checks against a registered standard, by ``NAME@VERSION``: validating data (JSON / YAML / NDJSON / CSV against
JSON Schema standards, RDF against SHACL standards), OpenAPI documents by reference, the lint rule set of a
standard."""

from __future__ import annotations

import io
from pathlib import Path
from typing import IO, Any

from sqlmodel import select

from kernel.errors import Conflict, ValidationFailed
from kernel.permissions import authorize
from kernel.principal import Principal
from standards.jsonschema_engine import CompiledSchema
from standards.loading import InputError, parse_document
from standards.models import Standard, StandardResource, StandardVersion
from standards.openapi_engine import parse_cached
from standards.reports import DEFAULT_EXAMPLES, Report
from standards.services import (_doc_of, _filename_for, _ont_filename, _standard, parse_ref, schema_registry,
                                version_get)


# ------------------------------------------------------------------------------------ checks by ref


_COMPILED: dict[str, CompiledSchema] = {}


def compiled_schema(session, v: StandardVersion, *, format_assert: bool = False) -> CompiledSchema:
    key = f"{v.id}:{v.sha256}:{format_assert}"
    hit = _COMPILED.get(key)
    if hit is None:
        bundle = {r.uri: parse_document(r.content, fmt="json")
                  for r in session.exec(select(StandardResource).where(StandardResource.version_id == v.id))}
        reg = schema_registry(session, extra=bundle, default_dialect=v.dialect or "2020-12")
        hit = CompiledSchema(parse_document(v.content, fmt="json"), registry=reg, dialect=v.dialect or None,
                             check=False, format_assert=format_assert)
        if len(_COMPILED) > 64:
            _COMPILED.clear()
        _COMPILED[key] = hit
    return hit


def validate_data(session, principal: Principal, ref: str, inputs: list[tuple[str, IO[bytes] | bytes]], *,
                  max_examples: int = DEFAULT_EXAMPLES, data_format: str | None = None,
                  format_assert: bool | None = None) -> Report:
    """Validate files against ``NAME@VERSION``: JSON / YAML / NDJSON / CSV for JSON Schema standards, RDF for
    SHACL standards (ontology mixed in). ``inputs`` are ``(filename, stream-or-bytes)``. ``format`` keywords
    are asserted as the standard declares (``format_assert``, on by default) unless overridden here."""
    from standards import documents

    v = version_get(session, principal, ref)
    authorize(principal, "standards:data:validate", v)
    std = session.get(Standard, v.standard_id)
    if v.state in ("retired", "disabled"):
        raise Conflict(f"{ref} is {v.state}: validate against a current version")
    report = Report("validate", subject=f"{std.name}@{v.version}", max_examples=max_examples)
    if v.state == "deprecated":
        report.meta["warning"] = f"{std.name}@{v.version} is deprecated"
    if std.kind == "jsonschema":
        asserted = std.format_assert if format_assert is None else bool(format_assert)
        report.meta["format_assert"] = asserted
        compiled = compiled_schema(session, v, format_assert=asserted)
        for fname, src in inputs:
            kind = data_format or _data_kind(fname)
            stream = io.BytesIO(src) if isinstance(src, (bytes, bytearray)) else src
            if kind == "ndjson":
                documents.validate_ndjson(compiled, stream, filename=fname, report=report)
            elif kind == "csv":
                text = io.TextIOWrapper(stream, encoding="utf-8", errors="strict", newline="")
                try:
                    sub = documents.validate_csv(compiled, text, filename=fname, max_examples=max_examples)
                except UnicodeDecodeError as exc:
                    raise InputError(f"{fname} is not valid UTF-8: {exc.reason}") from None
                _merge(report, sub)
            else:
                sub = documents.validate_document(compiled, stream.read(), filename=fname, max_examples=max_examples,
                                                  fmt=None if kind == "auto" else kind)
                _merge(report, sub)
        return report
    if std.kind == "shacl":
        from standards.shacl_engine import load_graph, validate_graph

        shapes = load_graph(v.content, filename=_filename_for(v))
        ontology = load_graph(v.ontology, filename=_ont_filename(v)) if v.ontology else None
        for fname, src in inputs:
            data = src if isinstance(src, (bytes, bytearray)) else src.read()
            g = load_graph(data, filename=fname, fmt=data_format)
            sub = validate_graph(g, shapes, ontology=ontology, subject=fname, max_examples=max_examples)
            for f in sub.findings():
                f["file"] = fname
            sub.case(fname, sub.findings(), file=fname)
            _merge(report, sub)
        return report
    raise ValidationFailed(f"{ref} is an OpenAPI standard: use diff / lint, or API conformance checks")


def _merge(into: Report, sub: Report) -> None:
    into.merge(sub)


def _data_kind(fname: str) -> str:
    low = fname.lower()
    if low.endswith((".ndjson", ".jsonl")):
        return "ndjson"
    if low.endswith(".csv"):
        return "csv"
    if low.endswith(".json"):
        return "json"
    if low.endswith((".yaml", ".yml")):
        return "yaml"
    return "auto"


def openapi_doc(session, principal: Principal, ref_or_path: str, *, allow_path: bool = False) -> tuple[str, Any]:
    """(label, parsed OpenAPI document) for a ``NAME@VERSION`` registry reference or, only when the caller
    is the local operator (``allow_path``: the CLI), a file path. A reference from the network never names
    a server file."""
    p = Path(ref_or_path)
    if allow_path and p.exists():
        from standards.loading import read_path

        data = read_path(p)
        return p.name, parse_cached(data, filename=p.name)
    if session is None:
        raise InputError(f"{ref_or_path}: no such file")
    v = version_get(session, principal, ref_or_path)
    std = session.get(Standard, v.standard_id)
    if std.kind != "openapi":
        raise ValidationFailed(f"{ref_or_path} is not an OpenAPI standard")
    return f"{std.name}@{v.version}", _doc_of("openapi", v)


def lint_ruleset_of(session, principal: Principal, ref: str) -> str | None:
    """The commission's lint rule set of the OpenAPI standard ``NAME`` (or ``NAME@VERSION``); None = defaults."""
    name, _version = parse_ref(ref)
    std = _standard(session, name)
    return std.lint_ruleset
