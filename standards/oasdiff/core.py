"""The rule table, the schema-change map, the document wrapper and small parsers shared by the differ's parts."""

from __future__ import annotations

import datetime as _dt
import json
import re
from functools import lru_cache
from importlib import resources
from typing import Any

from standards import oaswalk
from standards.oaswalk import esc, ptr  # noqa: F401 - re-exported for the differ's parts

STABILITY = {"draft": 0, "alpha": 1, "beta": 2, "stable": 3}
LEVELS = {"ERR": "error", "WARN": "warning", "INFO": "info"}


class UnmappedChange(AssertionError):
    """A detected change whose rule id is not in oasdiff's rule table (raised in strict mode)."""


@lru_cache(maxsize=1)
def rule_table() -> dict[str, dict[str, Any]]:
    text = resources.files("standards").joinpath("rules/oasdiff-rules.json").read_text("utf-8")
    return {r["id"]: r for r in json.loads(text)}


def level_of(rule_id: str) -> str | None:
    r = rule_table().get(rule_id)
    return LEVELS[r["level"]] if r else None


_ENTRY = {"type": "object", "required": ["keyword", "change"],
          "properties": {"keyword": {"type": "string"}, "change": {"type": "string", "pattern": "^[a-z-]+$"},
                         "upper": {"type": "boolean"}, "implicit": {"type": "number"}},
          "additionalProperties": False}
MAP_SCHEMA = {
    "type": "object", "required": ["limits", "presence", "compositions", "changed_values", "location_aliases",
                                   "not_reported", "review"],
    "additionalProperties": False,
    "properties": {k: {"type": "array", "items": _ENTRY} for k in ("limits", "presence", "compositions",
                                                                    "changed_values")} | {
        "location_aliases": {"type": "array", "items": {"type": "array", "minItems": 4, "maxItems": 4,
                                                          "items": {"type": "string"}}},
        **{k: {"type": "array", "items": {
            "type": "object", "required": ["pattern", "reason"], "additionalProperties": False,
            "properties": {"pattern": {"type": "string"}, "reason": {"type": "string", "minLength": 10}}}}
           for k in ("not_reported", "review")}},
}


@lru_cache(maxsize=1)
def schema_map() -> dict[str, Any]:
    import jsonschema

    from standards.loading import parse_yaml

    text = resources.files("standards").joinpath("rules/oasdiff-schema.yaml").read_text("utf-8")
    data = parse_yaml(text)
    jsonschema.validate(data, MAP_SCHEMA)
    return data


def location_alias(direction: str, loc: str, change: str) -> str | None:
    for d, lo, ch, to in schema_map()["location_aliases"]:
        if d == direction and lo == loc and (change == ch or (ch.endswith("-") and change.startswith(ch))):
            return to
    return None


def _matches(rule_ids: list[str], table: str) -> bool:
    import fnmatch

    pats = [e["pattern"] for e in schema_map()[table]]
    return any(fnmatch.fnmatchcase(r, p) for r in rule_ids for p in pats)


def not_reported(rule_ids: list[str]) -> bool:
    """True when a candidate is a harmless change oasdiff deliberately has no rule for (``not_reported``)."""
    return _matches(rule_ids, "not_reported")


def declared_for_review(rule_ids: list[str]) -> bool:
    """True when an unmapped change is declared in the data as "report as a warning for review"."""
    return _matches(rule_ids, "review")


class Doc:
    """An OpenAPI document with local ``$ref`` resolution that remembers where each node lives."""

    def __init__(self, spec: dict[str, Any]):
        self.spec = spec

    def get(self, pointer: str) -> Any:
        return oaswalk.get(self.spec, pointer)

    def deref(self, node: Any, pointer: str) -> tuple[Any, str]:
        """Follow ``$ref`` chains (local only); returns (node, pointer of the node)."""
        return oaswalk.deref(self.spec, node, pointer)


def pname(p: dict) -> str:
    name = str(p.get("name", ""))
    return name.lower() if p.get("in") == "header" else name


def sec_set(sec: Any) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for req in sec or []:
        if not isinstance(req, dict):
            continue
        for name, scopes in req.items():
            out.setdefault(name, set()).update(scopes or [])
    return out


def semver(v: str) -> tuple[int, ...] | None:
    m = re.match(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?", v or "")
    if not m:
        return None
    return tuple(int(x or 0) for x in m.groups())


def parse_date(raw: Any) -> _dt.date | None:
    if isinstance(raw, _dt.datetime):
        return raw.date()
    if isinstance(raw, _dt.date):
        return raw
    if not isinstance(raw, str):
        return None
    s = raw.strip()
    try:
        if len(s) == 10:
            return _dt.date.fromisoformat(s)
        return _dt.datetime.fromisoformat(s.replace("Z", "+00:00")).date()
    except ValueError:
        return None
