"""Safe input loading: size limits, strict UTF-8, depth limits, YAML without alias bombs, RDF without
external entities or remote JSON-LD contexts.

Every failure raises :class:`InputError` (a ``kernel.errors.BadRequest``) with a clear message and,
where known, a location (line / byte offset). Nothing here performs network access.
"""

from __future__ import annotations

import json
import os
import re
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import yaml

from kernel.errors import BadRequest, PayloadTooLarge

DEFAULT_MAX_BYTES = int(os.environ.get("CITYGOV_STANDARDS_MAX_BYTES", str(32 * 1024 * 1024)))
DEFAULT_MAX_DEPTH = int(os.environ.get("CITYGOV_STANDARDS_MAX_DEPTH", "256"))
# Expanded node budget for YAML documents (aliases count once per use): stops billion-laughs bombs.
DEFAULT_MAX_YAML_NODES = int(os.environ.get("CITYGOV_STANDARDS_MAX_YAML_NODES", "5000000"))


class InputError(BadRequest):
    """The input cannot be read safely (bad encoding, too deep, too large, bomb, remote reference …)."""

    code = "invalid_input"
    title = "Invalid input"


class InputTooLarge(PayloadTooLarge):
    code = "input_too_large"
    title = "Input too large"


def check_size(data: bytes | str, max_bytes: int | None = None, *, what: str = "input") -> None:
    limit = DEFAULT_MAX_BYTES if max_bytes is None else max_bytes
    if len(data) > limit:
        raise InputTooLarge(f"{what} is {len(data)} bytes, above the limit of {limit} bytes")


def read_path(path: str | Path, max_bytes: int | None = None) -> bytes:
    """Read a file, refusing it (before reading) when it is larger than the limit."""
    p = Path(path)
    limit = DEFAULT_MAX_BYTES if max_bytes is None else max_bytes
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise InputError(f"cannot read {p}: {exc.strerror or exc}") from exc
    if size > limit:
        raise InputTooLarge(f"{p.name} is {size} bytes, above the limit of {limit} bytes")
    with p.open("rb") as fh:
        data = fh.read(limit + 1)
    check_size(data, limit, what=p.name)
    return data


def decode_utf8(data: bytes | str, *, what: str = "input") -> str:
    if isinstance(data, str):
        return data
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            f"{what} is not valid UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start} (line {line})",
            errors=[{"line": line, "offset": exc.start, "message": "invalid UTF-8"}],
        ) from None


def check_depth(value: Any, max_depth: int | None = None, *, what: str = "input") -> None:
    """Iteratively verify that containers nest at most ``max_depth`` levels."""
    limit = DEFAULT_MAX_DEPTH if max_depth is None else max_depth
    stack: list[tuple[Any, int]] = [(value, 1)]
    seen: set[int] = set()
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            raise InputError(f"{what} nests deeper than {limit} levels")
        if id(node) in seen:  # shared YAML alias: already checked
            continue
        seen.add(id(node))
        for child in children:
            if isinstance(child, (dict, list)):
                stack.append((child, depth + 1))


# ---------------------------------------------------------------------------------------------- JSON


def _json_error(exc: Exception, text: str | None, what: str) -> InputError:
    pos = getattr(exc, "pos", None)
    lineno = getattr(exc, "lineno", None)
    msg = getattr(exc, "msg", None) or str(exc)
    if lineno is None and pos is not None and text is not None:
        lineno = text.count("\n", 0, pos) + 1
    where = f" (line {lineno})" if lineno else ""
    return InputError(
        f"{what} is not valid JSON: {msg}{where}",
        errors=[{"line": lineno, "message": msg}] if lineno else [{"message": msg}],
    )


def parse_json(data: bytes | str, *, max_bytes: int | None = None, max_depth: int | None = None,
               what: str = "input") -> Any:
    check_size(data, max_bytes, what=what)
    if isinstance(data, bytes):
        text = decode_utf8(data, what=what)
    else:
        text = data
    try:
        # orjson turns integers beyond 64 bits into floats: keep them exact with the standard library
        value = _stdlib_json(text) if _BIG_INT.search(text) else orjson.loads(text)
    except RecursionError:
        raise InputError(f"{what} nests too deeply to be read") from None
    except json.JSONDecodeError as exc:  # orjson's error is a subclass
        msg = str(exc).lower()
        if isinstance(exc, orjson.JSONDecodeError) and ("recursion" in msg or "depth" in msg):
            raise InputError(f"{what} nests too deeply to be read") from None
        if isinstance(exc, orjson.JSONDecodeError):
            try:  # re-parse with the standard library for its clearer message and position
                value = _stdlib_json(text)
            except RecursionError:
                raise InputError(f"{what} nests too deeply to be read") from None
            except json.JSONDecodeError as exc2:
                raise _json_error(exc2, text, what) from None
        else:
            raise _json_error(exc, text, what) from None
    check_depth(value, max_depth, what=what)
    return value


_BIG_INT = re.compile(r"\d{19,}")


def _stdlib_json(text: str) -> Any:
    def reject_constant(name: str) -> Any:
        raise json.JSONDecodeError(f"{name} is not valid JSON", text, 0)

    return json.loads(text, parse_constant=reject_constant)


# ---------------------------------------------------------------------------------------------- YAML


class _SafeLimitedLoader(yaml.SafeLoader):
    """SafeLoader that bounds nesting depth while composing and refuses alias bombs."""

    max_depth = DEFAULT_MAX_DEPTH

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:  # type: ignore[override]
        self._depth += 1
        if self._depth > self.max_depth:
            mark = self.peek_event().start_mark
            raise InputError(f"YAML nests deeper than {self.max_depth} levels (line {mark.line + 1})")
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


# YAML 1.1 timestamps would become datetime objects, which JSON-based standards cannot hold: keep strings.
_SafeLimitedLoader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _expanded_size(root: yaml.Node, budget: int) -> int:
    """Number of nodes the document has once aliases are expanded (memoised, iterative)."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()  # the nodes on the current path: meeting one again is a recursive alias
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if key in sizes:
            continue
        if not done and key in open_nodes:
            raise InputError("YAML has a recursive alias (a node that contains itself), which JSON cannot hold")
        if isinstance(node, yaml.ScalarNode):
            sizes[key] = 1
            continue
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                children.extend((k, v))
        if not done:
            open_nodes.add(key)
            stack.append((node, True))
            for c in children:
                if id(c) in open_nodes:
                    raise InputError("YAML has a recursive alias (a node that contains itself), "
                                     "which JSON cannot hold")
                if id(c) not in sizes:
                    stack.append((c, False))
            continue
        open_nodes.discard(key)
        total = 1
        for c in children:
            total += sizes.get(id(c), 1)
            if total > budget:
                raise InputError(
                    f"YAML expands to more than {budget} nodes through aliases (a 'billion laughs' bomb?)"
                )
        sizes[key] = total
    return sizes[id(root)]


@contextmanager
def _recursion_headroom(limit: int = 20000):
    old = sys.getrecursionlimit()
    if old < limit:
        sys.setrecursionlimit(limit)
    try:
        yield
    finally:
        if old < limit:
            sys.setrecursionlimit(old)


def parse_yaml(data: bytes | str, *, max_bytes: int | None = None, max_depth: int | None = None,
               max_nodes: int | None = None, what: str = "input") -> Any:
    check_size(data, max_bytes, what=what)
    text = decode_utf8(data, what=what)
    depth = DEFAULT_MAX_DEPTH if max_depth is None else max_depth
    budget = DEFAULT_MAX_YAML_NODES if max_nodes is None else max_nodes
    loader_cls = type("_Loader", (_SafeLimitedLoader,), {"max_depth": depth})
    loader = None
    try:
        # built inside the try: the reader rejects NUL and other non-printable characters at construction
        loader = loader_cls(text)
        with _recursion_headroom():
            node = loader.get_single_node()
            if node is None:
                return None
            _expanded_size(node, budget)
            value = loader.construct_document(node)
    except InputError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or "syntax error"
        raise InputError(
            f"{what} is not valid YAML: {problem}" + (f" (line {line})" if line else ""),
            errors=[{"line": line, "message": problem}],
        ) from None
    except yaml.YAMLError as exc:
        raise InputError(f"{what} is not valid YAML: {exc}") from None
    except RecursionError:
        raise InputError(f"{what} nests too deeply to be read") from None
    except (ValueError, TypeError, OverflowError, AttributeError, KeyError, IndexError) as exc:
        # the constructors call int(), float(), base64 … on scalar text; whatever they raise is bad input
        raise InputError(f"{what} is not valid YAML: {type(exc).__name__}: {exc}"[:500]) from None
    finally:
        if loader is not None:
            loader.dispose()
    check_depth(value, depth, what=what)
    _check_json_compatible(value, what)
    return value


def _check_json_compatible(value: Any, what: str) -> None:
    stack = [value]
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if id(node) in seen:
                continue
            seen.add(id(node))
            for k, v in node.items():
                if not isinstance(k, str):
                    if isinstance(k, (int, float, bool)) or k is None:
                        continue  # tolerated (e.g. status codes written as 200): normalised later
                    raise InputError(f"{what} has a mapping key that is not a string: {k!r}")
                stack.append(v)
        elif isinstance(node, list):
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.extend(node)
        elif isinstance(node, (bytes, set)):
            raise InputError(f"{what} holds a {type(node).__name__} value, not representable in JSON")


def normalise_keys(value: Any) -> Any:
    """YAML allows ``200:`` as an integer key; JSON documents need strings."""
    if isinstance(value, dict):
        return {(k if isinstance(k, str) else _key_str(k)): normalise_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise_keys(v) for v in value]
    return value


def _key_str(k: Any) -> str:
    if k is None:
        return "null"
    if isinstance(k, bool):
        return "true" if k else "false"
    return str(k)


def parse_document(data: bytes | str, *, fmt: str | None = None, filename: str | None = None,
                   max_bytes: int | None = None, max_depth: int | None = None, what: str | None = None) -> Any:
    """Parse JSON or YAML (format by ``fmt``, the file extension, or sniffing)."""
    what = what or filename or "input"
    if fmt is None and filename:
        ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
        fmt = {"json": "json", "yaml": "yaml", "yml": "yaml"}.get(ext)
    if fmt is None:
        head = data[:1024].lstrip() if isinstance(data, (bytes, str)) else b""
        if isinstance(head, bytes):
            head = head.lstrip(b"\xef\xbb\xbf")
            fmt = "json" if head[:1] in (b"{", b"[") else "yaml"
        else:
            fmt = "json" if head[:1] in ("{", "[") else "yaml"
    if fmt == "json":
        return parse_json(data, max_bytes=max_bytes, max_depth=max_depth, what=what)
    if fmt == "yaml":
        return normalise_keys(parse_yaml(data, max_bytes=max_bytes, max_depth=max_depth, what=what))
    raise InputError(f"unsupported document format {fmt!r}")


def load_document(path: str | Path, *, max_bytes: int | None = None, max_depth: int | None = None) -> Any:
    p = Path(path)
    return parse_document(read_path(p, max_bytes), filename=p.name, max_bytes=max_bytes, max_depth=max_depth)


# ----------------------------------------------------------------------------------------------- RDF

RDF_FORMATS = {
    "turtle": "turtle", "ttl": "turtle", "text/turtle": "turtle",
    "nt": "nt", "ntriples": "nt", "n-triples": "nt", "application/n-triples": "nt",
    "json-ld": "json-ld", "jsonld": "json-ld", "application/ld+json": "json-ld",
    "xml": "xml", "rdf": "xml", "rdfxml": "xml", "rdf/xml": "xml", "owl": "xml",
    "application/rdf+xml": "xml",
}

_DOCTYPE_RE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_ENTITY_RE = re.compile(rb"<!ENTITY\s+(%\s*)?([^\s>]+)\s+(SYSTEM|PUBLIC|\"[^\"]*\"|'[^']*')", re.IGNORECASE)
_DOCTYPE_EXTERNAL_RE = re.compile(rb"<!DOCTYPE\s+[^\s\[>]+\s+(SYSTEM|PUBLIC)", re.IGNORECASE)
MAX_XML_ENTITIES = 64
DEFAULT_RDF_BASE = "https://standards.citygov.invalid/input/"


def rdf_format_for(name: str | None, fmt: str | None = None) -> str:
    if fmt:
        f = RDF_FORMATS.get(fmt.lower())
        if not f:
            raise InputError(f"unsupported RDF format {fmt!r}")
        return f
    ext = (name or "").rsplit(".", 1)[-1].lower()
    f = RDF_FORMATS.get(ext)
    if not f:
        raise InputError(f"cannot tell the RDF format of {name!r}: use .ttl, .nt, .jsonld or .rdf")
    return f


def check_rdfxml(data: bytes) -> None:
    """Refuse DTDs that could fetch or explode: external DTD, external / parameter entities, many
    entities, entities referring to entities. Internal text entities (common in OWL) are allowed."""
    if not _DOCTYPE_RE.search(data):
        return
    if _DOCTYPE_EXTERNAL_RE.search(data):
        raise InputError("RDF/XML with an external DTD (SYSTEM/PUBLIC) is refused")
    entities = _ENTITY_RE.findall(data)
    if len(entities) > MAX_XML_ENTITIES:
        raise InputError(f"RDF/XML declares more than {MAX_XML_ENTITIES} entities")
    for param, name, kind in entities:
        if param.strip():
            raise InputError(f"RDF/XML parameter entity %{name.decode(errors='replace')} is refused")
        if kind.upper() in (b"SYSTEM", b"PUBLIC"):
            raise InputError(f"RDF/XML external entity {name.decode(errors='replace')} is refused")
        if b"&" in kind:
            raise InputError(f"RDF/XML entity {name.decode(errors='replace')} refers to other entities")


def check_jsonld(value: Any) -> None:
    """Refuse remote contexts (``@context`` / ``@import`` given as URLs): rdflib would fetch them."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for k, v in node.items():
                if k in ("@context", "@import"):
                    ctxs = v if isinstance(v, list) else [v]
                    for c in ctxs:
                        if isinstance(c, str):
                            raise InputError(f"JSON-LD remote context {c!r} is refused: inline the context")
                        if isinstance(c, dict) and "@import" in c:
                            raise InputError("JSON-LD @import is refused: inline the context")
                stack.append(v)
        elif isinstance(node, list):
            stack.extend(node)


def parse_rdf(data: bytes | str, *, fmt: str | None = None, filename: str | None = None,
              max_bytes: int | None = None, graph: Any = None, what: str | None = None,
              base: str = DEFAULT_RDF_BASE):
    """Parse RDF into an rdflib Graph safely. Returns the graph."""
    import rdflib

    what = what or filename or "input"
    check_size(data, max_bytes, what=what)
    f = rdf_format_for(filename, fmt)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    text = decode_utf8(raw, what=what)
    if f == "xml":
        check_rdfxml(raw)
    if f == "json-ld":
        check_jsonld(parse_json(text, max_bytes=max_bytes, what=what))
    g = graph if graph is not None else rdflib.Graph()
    try:
        with _recursion_headroom():
            if f == "xml":
                g.parse(data=raw, format=f, publicID=base)
            else:
                g.parse(data=text, format=f, publicID=base)
    except InputError:
        raise
    except RecursionError:
        raise InputError(f"{what} nests too deeply to be read") from None
    except Exception as exc:  # rdflib raises many unrelated types for syntax errors
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"{what} is not valid {f}: {msg[:500]}") from None
    return g
