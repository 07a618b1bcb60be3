"""OpenAPI traversal shared by standards/ and registry/certify/: the HTTP methods of a path item, JSON-pointer
escaping, local ``$ref`` resolution, operations, and the templated shape of a path.

One copy of each, so that the breaking-change engine, the lint engine, the compatibility checker, the probe
request generator and the certification engine agree on what an operation and a pointer are.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
SAFE_METHODS = ("get", "head", "options", "trace")
_VAR = re.compile(r"\{([^{}/]+)\}")


def esc(seg: Any) -> str:
    """Escape one JSON-pointer reference token (RFC 6901)."""
    return str(seg).replace("~", "~0").replace("/", "~1")


def unesc(seg: str) -> str:
    return seg.replace("~1", "/").replace("~0", "~")


def ptr(*segs: Any) -> str:
    """A JSON pointer from raw segments: ``ptr("paths", "/a/{id}", "get")`` → ``/paths/~1a~1{id}/get``."""
    return "".join("/" + esc(s) for s in segs)


def split(pointer: str) -> list[str]:
    """Unescaped segments of a JSON pointer (a leading ``#`` is allowed)."""
    p = pointer[1:] if pointer.startswith("#") else pointer
    return [unesc(s) for s in p.split("/")[1:]] if p else []


def get(root: Any, pointer: str) -> Any:
    """The node at ``pointer``; raises KeyError / IndexError / ValueError when it does not exist."""
    node = root
    for seg in split(pointer):
        if isinstance(node, list):
            node = node[int(seg)]
        elif isinstance(node, dict):
            node = node[seg]
        else:
            raise KeyError(pointer)
    return node


def deref(root: Any, node: Any, pointer: str = "", *, max_hops: int = 50) -> tuple[Any, str]:
    """Follow local ``$ref`` chains; returns ``(node, pointer of that node)``. A dangling local reference gives
    ``({}, pointer)``; a non-local reference is left as it is (callers refuse those at input)."""
    hops = 0
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#"):
        hops += 1
        if hops > max_hops:
            break
        target = node["$ref"][1:]
        try:
            node = get(root, target)
        except (KeyError, IndexError, ValueError, TypeError):
            return {}, pointer
        pointer = target
    return node, pointer


def resolve(root: Any, node: Any) -> Any:
    """``deref`` without the pointer; a non-mapping result becomes ``{}``."""
    out, _ = deref(root, node)
    return out


def operations(spec: dict[str, Any], *, key: str = "paths") -> Iterator[tuple[str, str, dict[str, Any], str]]:
    """``(path, method, operation, pointer)`` for every operation under ``paths`` (or ``webhooks``); path items
    given by local ``$ref`` are followed."""
    for path, raw in (spec.get(key) or {}).items():
        item, _ = deref(spec, raw, ptr(key, path))
        if not isinstance(item, dict):
            continue
        for m in METHODS:
            op = item.get(m)
            if isinstance(op, dict):
                yield path, m, op, ptr(key, path, m)


def path_variables(template: str) -> list[str]:
    return _VAR.findall(template)


def shape(template: str) -> str:
    """A path template without its parameter names: ``/a/{id}/`` and ``/a/{key}`` are both ``/a/{}``."""
    return _VAR.sub("{}", template.rstrip("/") or "/")
