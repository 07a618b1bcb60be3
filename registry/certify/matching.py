"""Operation index of an OpenAPI document and openapi-core validators that reuse it.

A document is parsed and indexed **once** (cached by content digest): servers become (scheme, host, base
path) patterns, path templates become regular expressions bucketed by segment count, literal paths win
over templated ones and fewer variables win over more (as openapi-core orders them). A request URL is
matched by server URL + path template; the result is handed to openapi-core's own request / response
validators (sub-classed so that they do not search the paths again, and — :mod:`registry.certify.fastcore`
— so that every document node they need is read once per operation / parameter / response / media type),
which then check parameters, bodies, headers, status codes and content types against the document.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from kernel.ids import sha256_hex
from standards.oaswalk import METHODS


_VAR = re.compile(r"\{([^{}/]+)\}")


class NoMatch(Exception):
    """The request does not belong to the document: ``part`` is ``host``, ``path`` or ``method``."""

    def __init__(self, part: str, reason: str):
        super().__init__(reason)
        self.part = part
        self.reason = reason


@dataclass(frozen=True)
class Server:
    url: str
    scheme: str | None  # None: relative server (any host)
    host: re.Pattern | None
    base: str  # base path without trailing slash ("" for root)


@dataclass
class Match:
    method: str
    template: str
    variables: dict[str, str]
    relative_path: str
    server: str

    @property
    def operation(self) -> str:
        return f"{self.method.upper()} {self.template}"


def _server_regex(text: str, variables: dict[str, Any]) -> str:
    out, pos = [], 0
    for m in _VAR.finditer(text):
        out.append(re.escape(text[pos:m.start()]))
        var = variables.get(m[1]) if isinstance(variables, dict) else None
        enum = var.get("enum") if isinstance(var, dict) else None
        if isinstance(enum, list) and enum:
            out.append("(?:" + "|".join(re.escape(str(e)) for e in enum) + ")")
        else:
            out.append("[^/]*")
        pos = m.end()
    out.append(re.escape(text[pos:]))
    return "".join(out)


def _compile_server(raw: Any) -> Server | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("url"), str):
        return None
    url = raw["url"].strip()
    variables = raw.get("variables") or {}
    if "://" in url:
        scheme, _, rest = url.partition("://")
        host, slash, path = rest.partition("/")
        base = ("/" + path if slash else "").rstrip("/")
        return Server(url, scheme.lower(), re.compile("^" + _server_regex(host.lower(), variables) + "$", re.I),
                      _server_regex_base(base, variables))
    return Server(url, None, None, _server_regex_base(url.rstrip("/"), variables))


def _server_regex_base(base: str, variables: dict) -> str:
    # base paths with variables are rare; substitute defaults (a regex would make the split ambiguous)
    def sub(m):
        var = variables.get(m[1]) if isinstance(variables, dict) else None
        return str(var.get("default", "")) if isinstance(var, dict) else ""

    return _VAR.sub(sub, base)


class OperationIndex:
    """Servers and path templates of one document, compiled once."""

    def __init__(self, spec: dict[str, Any]):
        self.spec = spec
        servers = [s for s in (_compile_server(x) for x in (spec.get("servers") or [])) if s]
        self.servers = servers or [Server("/", None, None, "")]
        self.buckets: dict[int, list[tuple[int, int, str, re.Pattern, list[str]]]] = {}
        self.literal: dict[str, str] = {}
        self.methods: dict[str, tuple[str, ...]] = {}
        for template, item in (spec.get("paths") or {}).items():
            if not isinstance(template, str) or not isinstance(item, dict):
                continue
            self.methods[template] = tuple(m for m in METHODS if isinstance(item.get(m), dict))
            names = _VAR.findall(template)
            if not names:
                self.literal[template.rstrip("/") or "/"] = template
                continue
            regex, pos = [], 0
            for m in _VAR.finditer(template):
                regex.append(re.escape(template[pos:m.start()]))
                regex.append(f"(?P<v{len(regex)}>[^/]+)")
                pos = m.end()
            regex.append(re.escape(template[pos:]))
            pat = re.compile("^" + "".join(regex) + "/?$")
            segs = template.count("/")
            self.buckets.setdefault(segs, []).append((len(names), -len(template), template, pat, names))
        for bucket in self.buckets.values():
            bucket.sort(key=lambda t: (t[0], t[1]))
        self._cache: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def operations(self) -> list[tuple[str, str]]:
        return [(m, t) for t, ms in self.methods.items() for m in ms]

    def match_relative(self, method: str, path: str) -> Match:
        method = method.lower()
        p = path.rstrip("/") or "/"
        template = self.literal.get(p)
        variables: dict[str, str] = {}
        if template is None:
            for _n, _l, tmpl, pat, names in self.buckets.get(p.count("/"), ()):
                m = pat.match(p)
                if m:
                    template = tmpl
                    variables = {n: unquote(v) for n, v in zip(names, m.groups())}
                    if method in self.methods.get(tmpl, ()):
                        break
        if template is None:
            raise NoMatch("path", f"path {path!r} matches no path template of the document")
        if method not in self.methods.get(template, ()):
            raise NoMatch("method", f"{method.upper()} is not an operation of {template} "
                                    f"(documented: {', '.join(x.upper() for x in self.methods.get(template, ())) or 'none'})")
        return Match(method, template, variables, path, "")

    def match(self, method: str, url: str) -> Match:
        """Match an absolute URL by server (scheme, host, base path) and path template."""
        key = (method, url)
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None:
            if isinstance(hit, NoMatch):
                raise hit
            return hit
        try:
            result = self._match(method, url)
        except NoMatch as exc:
            result = exc
        with self._lock:
            self._cache[key] = result
            if len(self._cache) > 4096:
                self._cache.popitem(last=False)
        if isinstance(result, NoMatch):
            raise result
        return result

    def _match(self, method: str, url: str) -> Match:
        parts = urlsplit(url)
        scheme, host = parts.scheme.lower(), (parts.netloc.rsplit("@", 1)[-1]).lower()
        path = parts.path or "/"
        host_ok = [s for s in self.servers if s.host is None or (s.scheme == scheme and s.host.match(host))]
        if not host_ok:
            raise NoMatch("host", f"{scheme}://{host} is not a server of the document "
                                  f"({', '.join(s.url for s in self.servers[:5])})")
        last: NoMatch | None = None
        for s in sorted(host_ok, key=lambda s: -len(s.base)):
            if s.base and not (path == s.base or path.startswith(s.base + "/")):
                continue
            rel = path[len(s.base):] or "/"
            try:
                m = self.match_relative(method, rel)
            except NoMatch as exc:
                if last is None or (last.part == "path" and exc.part == "method"):
                    last = exc
                continue
            m.server = s.url
            return m
        raise last or NoMatch("path", f"path {path!r} is outside every server base path "
                                      f"({', '.join(s.base or '/' for s in host_ok[:5])})")


# ------------------------------------------------------------------------------------ openapi-core


def _validator_classes(version: str, fast: bool = True):
    """openapi-core's validators for the document's version, told the operation we matched; ``fast``: with
    everything derived from the document memoised (:mod:`registry.certify.fastcore`)."""
    from openapi_core import V30RequestValidator, V30ResponseValidator, V31RequestValidator, V31ResponseValidator

    from registry.certify.fastcore import FastRequestMixin, FastResponseMixin

    req_base, resp_base = ((V31RequestValidator, V31ResponseValidator) if version.startswith("3.1")
                           else (V30RequestValidator, V30ResponseValidator))
    req_bases = (FastRequestMixin, req_base) if fast else (req_base,)
    resp_bases = (FastResponseMixin, resp_base) if fast else (resp_base,)

    class Req(*req_bases):  # type: ignore[misc, valid-type]
        def _find_path(self, request):
            return request.citygov_match

    class Resp(*resp_bases):  # type: ignore[misc, valid-type]
        def _find_path(self, request):
            return request.citygov_match

    return Req, Resp


@dataclass
class CompiledDocument:
    digest: str
    spec: dict[str, Any]
    index: OperationIndex
    api: Any  # openapi_core.OpenAPI
    _ops: dict = field(default_factory=dict)

    def path_operation_server(self, m: Match):
        from openapi_core.templating.datatypes import TemplateResult
        from openapi_core.templating.paths.datatypes import PathOperationServer

        key = (m.template, m.method)
        hit = self._ops.get(key)
        if hit is None:
            path = self.api.spec / "paths" / m.template
            hit = (path, path / m.method)
            self._ops[key] = hit
        return PathOperationServer(hit[0], hit[1], None, TemplateResult(m.template, m.variables),
                                   TemplateResult(m.server, {}))


_DOCS: OrderedDict[str, CompiledDocument] = OrderedDict()
_DOCS_LOCK = threading.Lock()
stats = {"compiled": 0}


def compiled(spec: dict[str, Any], digest: str | None = None, *, fast: bool = True) -> CompiledDocument:
    """One :class:`CompiledDocument` per content digest (parsed, indexed, openapi-core objects built once).
    ``fast=False``: openapi-core's validators as they come (the reference of the differential tests)."""
    digest = digest or sha256_hex(_stable(spec))
    key = digest if fast else digest + ":reference"
    with _DOCS_LOCK:
        hit = _DOCS.get(key)
        if hit is not None:
            _DOCS.move_to_end(key)
            return hit
    from openapi_core import Config, OpenAPI

    req_cls, resp_cls = _validator_classes(str(spec.get("openapi", "3.0")), fast)
    import json as _json

    # "+json" media types (application/problem+json …) are JSON: openapi-core only knows application/json
    extra = {mt: _json.loads for mt in _media_types(spec) if mt.endswith("+json")}
    cfg = Config(spec_validator_cls=None, request_validator_cls=req_cls, response_validator_cls=resp_cls,
                 extra_media_type_deserializers=extra)
    api = OpenAPI.from_dict(spec, config=cfg, base_uri="urn:citygov:certify/")
    if fast:
        for v in (api.request_validator, api.response_validator):
            v.schema_validators_factory = _CachingFactory(v.schema_validators_factory)
    doc = CompiledDocument(digest, spec, OperationIndex(spec), api)
    with _DOCS_LOCK:
        _DOCS[key] = doc
        stats["compiled"] += 1
        while len(_DOCS) > 16:
            _DOCS.popitem(last=False)
    return doc


class _CachingFactory:
    """openapi-core builds a jsonschema validator (deep-copying its format checker) for every value it
    checks; the documents are immutable, so build each one once per schema location."""

    def __init__(self, inner):
        self.inner = inner
        self.cache: dict = {}

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def create(self, spec, schema, *args, **kw):
        try:
            key = (tuple(schema.parts), args, tuple(sorted(kw.items())))
            hash(key)
        except TypeError:
            return self.inner.create(spec, schema, *args, **kw)
        hit = self.cache.get(key)
        if hit is None:
            hit = self.cache[key] = self.inner.create(spec, schema, *args, **kw)
        return hit


def _media_types(node: Any, depth: int = 0) -> set[str]:
    out: set[str] = set()
    stack = [(node, 0)]
    while stack:
        cur, d = stack.pop()
        if d > 64:
            continue
        if isinstance(cur, dict):
            content = cur.get("content")
            if isinstance(content, dict):
                out.update(k.split(";", 1)[0].strip().lower() for k in content if isinstance(k, str))
            stack.extend((v, d + 1) for v in cur.values() if isinstance(v, (dict, list)))
        elif isinstance(cur, list):
            stack.extend((v, d + 1) for v in cur if isinstance(v, (dict, list)))
    return out


def _stable(spec: Any) -> bytes:
    import json

    return json.dumps(spec, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()
