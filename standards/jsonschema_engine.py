"""JSON Schema validation (draft 2020-12 and draft 7) with registry-only ``$ref`` resolution.

References resolve through a :class:`referencing.Registry` built from the schemas the caller supplies
(the standards registry, an uploaded bundle, the test suite's ``remotes/``) plus the bundled
meta-schemas. The retrieve hook never touches the network: an unknown URI is a clear error.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema
import referencing
import referencing.exceptions
from jsonschema import Draft7Validator, Draft202012Validator
from jsonschema.exceptions import SchemaError, ValidationError, _RefResolutionError
from referencing.jsonschema import DRAFT7, DRAFT202012

from kernel.errors import ValidationFailed
from standards.loading import InputError

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
DRAFT_7 = "http://json-schema.org/draft-07/schema#"

DIALECTS: dict[str, tuple[type, Any]] = {
    "2020-12": (Draft202012Validator, DRAFT202012),
    "draft7": (Draft7Validator, DRAFT7),
}
_DIALECT_BY_URI = {
    "https://json-schema.org/draft/2020-12/schema": "2020-12",
    "http://json-schema.org/draft-07/schema": "draft7",
}


class UnresolvableReference(InputError):
    code = "unresolvable_reference"
    title = "Unresolvable reference"


class InvalidSchema(ValidationFailed):
    code = "invalid_schema"
    title = "Invalid schema"


def dialect_of(schema: Any, default: str = "2020-12", registry: referencing.Registry | None = None) -> str:
    """``2020-12`` or ``draft7`` from ``$schema`` (default when absent). A custom meta-schema found in
    ``registry`` counts as the dialect it is itself written in; other dialects are refused."""
    if isinstance(schema, Mapping) and "$schema" in schema:
        uri = str(schema["$schema"]).rstrip("#")
        if uri in _DIALECT_BY_URI:
            return _DIALECT_BY_URI[uri]
        if registry is not None:
            try:
                meta = registry.contents(str(schema["$schema"]))
            except (referencing.exceptions.NoSuchResource, referencing.exceptions.Unretrievable, LookupError):
                meta = None
            if isinstance(meta, Mapping) and str(meta.get("$schema", "")).rstrip("#") in _DIALECT_BY_URI:
                return _DIALECT_BY_URI[str(meta["$schema"]).rstrip("#")]
        raise InvalidSchema(f"unsupported JSON Schema dialect {schema['$schema']!r}: use draft 2020-12 or draft 7",
                            errors=[{"pointer": "/$schema", "message": "unsupported dialect"}])
    if default not in DIALECTS:
        raise InvalidSchema(f"unsupported JSON Schema dialect {default!r}")
    return default


def _no_network(uri: str) -> referencing.Resource:
    raise referencing.exceptions.NoSuchResource(ref=uri)


def build_registry(resources: Mapping[str, Any] | Iterable[tuple[str, Any]] = (), *,
                   default_dialect: str = "2020-12") -> referencing.Registry:
    """A registry holding ``{uri: schema}``; anything else is unresolvable (no fetching, ever)."""
    spec = DIALECTS[default_dialect][1]
    items = resources.items() if isinstance(resources, Mapping) else resources
    pairs = []
    for uri, contents in items:
        resource = referencing.Resource.from_contents(contents, default_specification=spec)
        pairs.append((uri, resource))
    registry = referencing.Registry(retrieve=_no_network).with_resources(pairs)
    return registry


def add_to_registry(registry: referencing.Registry, uri: str, contents: Any,
                    default_dialect: str = "2020-12") -> referencing.Registry:
    spec = DIALECTS[default_dialect][1]
    return registry.with_resource(uri, referencing.Resource.from_contents(contents, default_specification=spec))


def schema_problems(schema: Any, dialect: str | None = None) -> list[dict[str, Any]]:
    """Every reason ``schema`` does not satisfy its meta-schema (empty when valid)."""
    if not isinstance(schema, (Mapping, bool)):
        return [{"pointer": "", "message": "a schema must be an object or a boolean", "rule": "metaschema"}]
    try:
        d = dialect or dialect_of(schema)
    except InvalidSchema as exc:
        return [dict(e, rule="metaschema") for e in exc.errors] or [{"pointer": "", "message": exc.detail}]
    cls = DIALECTS[d][0]
    meta = cls(cls.META_SCHEMA)
    problems = []
    for err in sorted(meta.iter_errors(schema), key=lambda e: list(e.absolute_path)):
        problems.append({
            "pointer": to_pointer(err.absolute_path),
            "message": err.message,
            "rule": f"metaschema:{err.validator}",
        })
    problems.extend(_pattern_problems(schema))
    return problems


def _pattern_problems(schema: Any) -> list[dict[str, Any]]:
    """Patterns that Python's ``re`` cannot compile would only fail at validation time: report them now."""
    import re

    out = []
    stack: list[tuple[Any, list]] = [(schema, [])]
    while stack:
        node, path = stack.pop()
        if isinstance(node, Mapping):
            for k, v in node.items():
                if k == "pattern" and isinstance(v, str):
                    try:
                        re.compile(v)
                    except re.error as exc:
                        out.append({"pointer": to_pointer(path + [k]), "rule": "metaschema:pattern",
                                    "message": f"pattern {v!r} is not supported by the regex engine: {exc}"})
                if k == "patternProperties" and isinstance(v, Mapping):
                    for pat in v:
                        try:
                            re.compile(pat)
                        except re.error as exc:
                            out.append({"pointer": to_pointer(path + [k, pat]), "rule": "metaschema:pattern",
                                        "message": f"pattern {pat!r} is not supported by the regex engine: {exc}"})
                if k in ("enum", "const", "examples", "default"):
                    continue
                stack.append((v, path + [k]))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                stack.append((v, path + [i]))
    return out


def to_pointer(path: Iterable[Any]) -> str:
    from standards.oaswalk import ptr

    return ptr(*path)


@dataclass
class SchemaError_:  # noqa: N801 - small record type
    pointer: str
    message: str
    rule: str
    schema_pointer: str


class CompiledSchema:
    """A schema bound to its dialect and registry, compiled once and reused for every instance."""

    def __init__(self, schema: Any, *, registry: referencing.Registry | None = None, dialect: str | None = None,
                 check: bool = True, format_assert: bool = False) -> None:
        self.dialect = dialect or dialect_of(schema, registry=registry)
        if check:
            problems = schema_problems(schema, self.dialect)
            if problems:
                raise InvalidSchema("the schema does not satisfy its meta-schema", errors=problems)
        cls = DIALECTS[self.dialect][0]
        registry = registry if registry is not None else build_registry(default_dialect=self.dialect)
        kwargs: dict[str, Any] = {"registry": registry}
        if format_assert:
            kwargs["format_checker"] = cls.FORMAT_CHECKER
        self.schema = schema
        self.validator = cls(schema, **kwargs)

    def is_valid(self, instance: Any) -> bool:
        try:
            return self.validator.is_valid(instance)
        except (_RefResolutionError, referencing.exceptions.Unresolvable) as exc:
            raise UnresolvableReference(_unresolvable_message(exc)) from None

    def iter_errors(self, instance: Any) -> Iterator[ValidationError]:
        try:
            yield from self.validator.iter_errors(instance)
        except (_RefResolutionError, referencing.exceptions.Unresolvable) as exc:
            raise UnresolvableReference(_unresolvable_message(exc)) from None

    def errors(self, instance: Any, limit: int | None = None) -> list[dict[str, Any]]:
        out = []
        for err in self.iter_errors(instance):
            out.append(error_dict(err))
            if limit is not None and len(out) >= limit:
                break
        return out


def error_dict(err: ValidationError) -> dict[str, Any]:
    # report the most specific leaf for combinators, the way a reader needs it
    best = err
    if err.context:
        best = jsonschema.exceptions.best_match([err]) or err
    return {
        "pointer": to_pointer(best.absolute_path),
        "message": best.message,
        "rule": str(best.validator),
        "schema_pointer": to_pointer(best.absolute_schema_path),
    }


def _unresolvable_message(exc: Exception) -> str:
    ref = getattr(exc, "ref", None)
    if ref is None and getattr(exc, "__cause__", None) is not None:
        ref = getattr(exc.__cause__, "ref", None)
    if ref:
        return (f"$ref {ref!r} cannot be resolved: only schemas in the standards registry or the uploaded "
                f"bundle are reachable (no network access)")
    return f"a $ref cannot be resolved: {exc}"


def compile_schema(schema: Any, **kwargs: Any) -> CompiledSchema:
    return CompiledSchema(schema, **kwargs)


def find_refs(schema: Any) -> list[str]:
    """Every ``$ref`` / ``$dynamicRef`` value in a schema (for integrity checks)."""
    out = []
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, Mapping):
            for k, v in node.items():
                if k in ("$ref", "$dynamicRef") and isinstance(v, str):
                    out.append(v)
                elif k not in ("enum", "const", "examples", "default"):
                    stack.append(v)
        elif isinstance(node, list):
            stack.extend(node)
    return out


__all__ = [
    "DIALECTS", "CompiledSchema", "InvalidSchema", "SchemaError", "UnresolvableReference", "add_to_registry",
    "build_registry", "compile_schema", "dialect_of", "error_dict", "find_refs", "schema_problems", "to_pointer",
]
