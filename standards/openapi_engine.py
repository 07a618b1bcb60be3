"""OpenAPI documents: validity (openapi-spec-validator), local-only references, and a per-content cache so a
large spec is parsed and validated once per version, never per request or per check."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from kernel.ids import sha256_hex
from standards.jsonschema_engine import to_pointer
from standards.loading import InputError, parse_document

SUPPORTED = ("3.0", "3.1")

# openapi-spec-validator >= 0.8.4 switches to jsonschema-rs when it is installed (it is: Schemathesis, the probe's
# engine, depends on it), and that backend refuses valid specs the jsonschema backend accepts (APIs.guru amadeus
# trip-parser, ijenko: regex semantics). Validity must not depend on what else is installed: pin the backend.
os.environ.setdefault("OPENAPI_SPEC_VALIDATOR_SCHEMA_VALIDATOR_BACKEND", "jsonschema")


class RemoteReference(InputError):
    code = "remote_reference"
    title = "Remote reference refused"


def openapi_version(spec: Any) -> str | None:
    if not isinstance(spec, Mapping):
        return None
    v = spec.get("openapi")
    if isinstance(v, str):
        return v[:3]
    if "swagger" in spec:
        return "2.0"
    return None


def external_refs(spec: Any, limit: int = 20) -> list[tuple[str, str]]:
    """(pointer, $ref) of every reference that leaves the document (would be fetched)."""
    out: list[tuple[str, str]] = []
    stack: list[tuple[Any, tuple]] = [(spec, ())]
    while stack and len(out) < limit:
        node, path = stack.pop()
        if isinstance(node, Mapping):
            for k, v in node.items():
                if k == "$ref" and isinstance(v, str) and not v.startswith("#"):
                    out.append((to_pointer(path + (k,)), v))
                elif isinstance(v, (Mapping, list)):
                    stack.append((v, path + (k,)))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                if isinstance(v, (Mapping, list)):
                    stack.append((v, path + (i,)))
    return out


def refuse_remote_refs(spec: Any, label: str = "the document") -> None:
    """Raise :class:`RemoteReference` (an input error: HTTP 400, CLI exit 2) when ``spec`` has a ``$ref`` that
    leaves the document — nothing is ever fetched, and a check that silently skipped it would lie."""
    remote = external_refs(spec)
    if remote:
        raise RemoteReference(
            f"{label} has $refs that leave the document ({', '.join(r for _p, r in remote[:5])}): bundle it into "
            "one file — references are never fetched",
            errors=[{"pointer": p, "message": f"remote $ref {r!r}"} for p, r in remote])


def spec_problems(spec: Any, *, max_problems: int = 200) -> list[dict[str, Any]]:
    """Every reason ``spec`` is not a valid OpenAPI 3.0/3.1 document (empty list when valid)."""
    version = openapi_version(spec)
    if version is None:
        return [{"pointer": "", "rule": "openapi-version", "message": "not an OpenAPI document: no 'openapi' field"}]
    if version not in SUPPORTED:
        return [{"pointer": "/openapi", "rule": "openapi-version",
                 "message": f"OpenAPI {version} is not supported: publish 3.0 or 3.1"}]
    remote = external_refs(spec)
    if remote:
        return [{"pointer": p, "rule": "remote-ref", "message": f"$ref {r!r} leaves the document: bundle it "
                 "into one file (references are never fetched)"} for p, r in remote]
    from openapi_spec_validator import OpenAPIV30SpecValidator, OpenAPIV31SpecValidator

    cls = OpenAPIV30SpecValidator if version == "3.0" else OpenAPIV31SpecValidator
    problems = []
    try:
        for err in cls(spec).iter_errors():
            path = list(getattr(err, "absolute_path", None) or getattr(err, "path", None) or [])
            problems.append({"pointer": to_pointer(path), "rule": f"oas{version.replace('.', '')}-schema",
                             "message": str(getattr(err, "message", err)).splitlines()[0][:1000]})
            if len(problems) >= max_problems:
                break
    except RecursionError:
        problems.append({"pointer": "", "rule": "oas-structure", "message": "document nests too deeply"})
    except Exception as exc:  # the validator raises on some malformed inputs (bad refs, bad regexes)
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        problems.append({"pointer": "", "rule": "oas-structure", "message": f"{type(exc).__name__}: {msg[:500]}"})
    return problems


class _LRU:
    def __init__(self, size: int):
        self.size = size
        self.data: OrderedDict = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key):
        with self.lock:
            if key in self.data:
                self.data.move_to_end(key)
                return self.data[key]
        return None

    def put(self, key, value):
        with self.lock:
            self.data[key] = value
            self.data.move_to_end(key)
            while len(self.data) > self.size:
                self.data.popitem(last=False)


_PARSED = _LRU(32)
_VERDICTS = _LRU(256)
_CORE = _LRU(32)
stats = {"parsed": 0, "validated": 0, "core_built": 0}


def parse_cached(content: bytes | str, *, filename: str | None = None, digest: str | None = None) -> Any:
    """Parse a document once per content digest (the registry stores sha256 of each version)."""
    digest = digest or sha256_hex(content)
    hit = _PARSED.get(digest)
    if hit is None:
        hit = parse_document(content, filename=filename)
        stats["parsed"] += 1
        _PARSED.put(digest, hit)
    return hit


def problems_cached(spec: Any, digest: str) -> list[dict[str, Any]]:
    hit = _VERDICTS.get(digest)
    if hit is None:
        hit = spec_problems(spec)
        stats["validated"] += 1
        _VERDICTS.put(digest, hit)
    return hit


def openapi_for(spec: Any, digest: str):
    """An openapi-core ``OpenAPI`` object built once per digest, without re-validating the spec."""
    hit = _CORE.get(digest)
    if hit is None:
        from openapi_core import Config, OpenAPI

        hit = OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None), base_uri="urn:citygov:openapi/")
        stats["core_built"] += 1
        _CORE.put(digest, hit)
    return hit
