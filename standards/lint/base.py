"""What the lint rules share: the rule registry, pointers, operations, local references, schema walking."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from standards import oaswalk

_p = oaswalk.ptr
METHODS = oaswalk.METHODS


def _ops(spec: dict) -> Iterator[tuple[str, str, dict, str]]:
    yield from oaswalk.operations(spec)


Check = Callable[[dict, dict], Iterator[tuple[str, str]]]  # (spec, options) -> (pointer, message)
BUILTIN: dict[str, Check] = {}


def rule(name: str):
    def reg(fn: Check) -> Check:
        BUILTIN[name] = fn
        return fn

    return reg


def _resolve(spec: dict, node: Any) -> dict:
    node = oaswalk.resolve(spec, node)
    return node if isinstance(node, dict) else {}


def _schemas(spec: dict) -> Iterator[tuple[str, dict]]:
    """Every schema-like node (walks the document; bounded)."""
    stack: list[tuple[Any, str, bool]] = [(spec, "", False)]
    n = 0
    while stack and n < 500_000:
        node, ptr, is_schema = stack.pop()
        n += 1
        if isinstance(node, dict):
            if is_schema:
                yield ptr, node
            for k, v in node.items():
                child_schema = k == "schema" or (is_schema and k in (
                    "items", "additionalProperties", "not", "contains", "if", "then", "else"))
                if k in ("schemas",) and ptr == "/components":
                    for name, s in (v or {}).items():
                        stack.append((s, ptr + _p(k, name), True))
                    continue
                if is_schema and k in ("properties", "patternProperties") and isinstance(v, dict):
                    for name, s in v.items():
                        stack.append((s, ptr + _p(k, name), True))
                    continue
                if is_schema and k in ("allOf", "anyOf", "oneOf", "prefixItems") and isinstance(v, list):
                    for i, s in enumerate(v):
                        stack.append((s, ptr + _p(k, i), True))
                    continue
                if k in ("enum", "example", "examples", "default", "const"):
                    continue
                stack.append((v, ptr + _p(k), child_schema))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                stack.append((v, ptr + _p(i), False))
