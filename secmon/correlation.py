"""Correlation configuration (rules, severity matrix, SLA) as data: YAML validated by our JSON Schema, and the
pure computations over it (matching an alert, its group key, severity score and level, SLA due times)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from kernel import ValidationFailed

LEVEL_ORDER = {"low": 0, "medium": 1, "high": 2, "critical": 3}


@lru_cache(maxsize=1)
def schema() -> dict:
    return json.loads(resources.files("secmon").joinpath("data/correlation-rules.schema.json").read_text())


def default_path() -> Path:
    return Path(str(resources.files("secmon").joinpath("data/correlation-rules.yaml")))


#: files already loaded: (path, mtime, size) -> Config. Every EVE push correlates, and parsing and validating
#: the rules took 17 ms of each; an edited file has another mtime or size and is read again.
_LOADED: dict[tuple[str, int, int], "Config"] = {}


def load_config(source: str | Path | bytes | dict | None = None) -> "Config":
    """Load and validate correlation rules (default: the packaged file). An invalid document raises
    ValidationFailed listing every schema error with its JSON path. A file is read again when it changed."""
    if source is None:
        source = default_path()
    if not isinstance(source, (str, Path)):
        return _load_config(source)
    try:
        st = Path(source).stat()
    except OSError:
        return _load_config(source)  # reports the file as unreadable
    key = (str(source), st.st_mtime_ns, st.st_size)
    cfg = _LOADED.get(key)
    if cfg is None:
        cfg = _load_config(source)
        if len(_LOADED) > 16:
            _LOADED.clear()
        _LOADED[key] = cfg
    return cfg


def _load_config(source: str | Path | bytes | dict) -> "Config":
    if isinstance(source, dict):
        doc = source
    else:
        try:
            text = source if isinstance(source, bytes) else Path(source).read_bytes()
            doc = yaml.safe_load(text)
        except (OSError, yaml.YAMLError) as exc:
            raise ValidationFailed(f"correlation rules unreadable: {exc}",
                                   errors=[{"field": "rules", "message": str(exc)[:300]}]) from None
    v = jsonschema.Draft202012Validator(schema())
    errors = [{"field": "/" + "/".join(map(str, e.absolute_path)), "message": e.message[:300]}
              for e in sorted(v.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))]
    if not errors:
        ids = [r["id"] for r in doc["rules"]]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            errors.append({"field": "/rules", "message": f"duplicate rule ids: {', '.join(dup)}"})
        lv = doc["severity"]["levels"]
        if not lv["critical"] >= lv["high"] >= lv["medium"]:
            errors.append({"field": "/severity/levels", "message": "must satisfy critical >= high >= medium"})
    if errors:
        raise ValidationFailed("correlation rules do not validate", errors=errors)
    return Config(doc)


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    group_by: tuple[str, ...]
    window: timedelta
    gap: timedelta
    min_alerts: int
    max_severity: int | None
    require_asset: bool
    categories: frozenset[str] | None
    exclude_categories: frozenset[str]
    sids: frozenset[int] | None
    exclude_sids: frozenset[int]
    prefixes: tuple[str, ...]
    exclude_prefixes: tuple[str, ...]

    def matches(self, severity: int | None, category: str | None, sid: int | None, signature: str | None,
                has_asset: bool) -> bool:
        if self.require_asset and not has_asset:
            return False
        if self.max_severity is not None and (severity is None or severity > self.max_severity):
            return False
        if self.categories is not None and category not in self.categories:
            return False
        if category in self.exclude_categories:
            return False
        if self.sids is not None and sid not in self.sids:
            return False
        if sid in self.exclude_sids:
            return False
        sig = signature or ""
        if self.prefixes and not sig.startswith(self.prefixes):
            return False
        if self.exclude_prefixes and sig.startswith(self.exclude_prefixes):
            return False
        return True


class Config:
    def __init__(self, doc: dict):
        self.doc = doc
        #: identifies the configuration (a change of rules makes correlation read every unlinked alert again)
        self.digest = hashlib.sha256(json.dumps(doc, sort_keys=True, ensure_ascii=False, default=str)
                                     .encode("utf-8")).hexdigest()
        self.rules: list[Rule] = []
        for r in doc["rules"]:
            m = r.get("match", {})
            self.rules.append(Rule(
                id=r["id"], title=r.get("title", "{signature}"), group_by=tuple(r["group_by"]),
                window=timedelta(seconds=r["window_seconds"]), gap=timedelta(seconds=r["max_gap_seconds"]),
                min_alerts=r.get("min_alerts", 1), max_severity=m.get("max_suricata_severity"),
                require_asset=bool(m.get("require_asset", False)),
                categories=frozenset(m["categories"]) if "categories" in m else None,
                exclude_categories=frozenset(m.get("exclude_categories", ())),
                sids=frozenset(m["sids"]) if "sids" in m else None,
                exclude_sids=frozenset(m.get("exclude_sids", ())),
                prefixes=tuple(m.get("signature_prefixes", ())),
                exclude_prefixes=tuple(m.get("exclude_signature_prefixes", ()))))
        sev = doc["severity"]
        self._sur = {int(k): float(v) for k, v in sev["suricata"].items()}
        self._sur_default = float(sev.get("suricata_default", 1))
        self._crit = {k: float(v) for k, v in sev["criticality"].items()}
        self._mlps = {int(k): float(v) for k, v in sev["mlps"].items()}
        unk = sev.get("unknown_asset", {})
        self.unknown_criticality = unk.get("criticality", "low")
        self.unknown_mlps = int(unk.get("mlps", 1))
        self._levels = sev["levels"]
        self.sla = doc["sla"]
        self.notify_levels = frozenset(doc.get("notify_levels", ["high", "critical"]))
        self.quiet_days = int(doc.get("remediation_quiet_days", 7))

    def score(self, suricata_severity: int | None, criticality: str | None, mlps: int | None) -> int:
        s = self._sur.get(suricata_severity, self._sur_default) if suricata_severity is not None else self._sur_default
        c = self._crit.get(criticality or self.unknown_criticality, 1.0)
        m = self._mlps.get(mlps or self.unknown_mlps, 1.0)
        return int(round(s * c * m))

    def level(self, score: int) -> str:
        lv = self._levels
        if score >= lv["critical"]:
            return "critical"
        if score >= lv["high"]:
            return "high"
        if score >= lv["medium"]:
            return "medium"
        return "low"

    def due(self, level: str, start: datetime) -> tuple[datetime, datetime]:
        s = self.sla[level]
        return start + timedelta(minutes=s["triage_minutes"]), start + timedelta(minutes=s["contain_minutes"])

    def remediation_due(self, level: str, start: datetime) -> datetime:
        return start + timedelta(days=self.sla[level]["remediation_days"])


class _SafeValues(dict):
    """Template values where a missing key renders as ``?`` (a title template naming an unknown field)."""

    def __missing__(self, key):
        return "?"


def render_title(template: str, values: dict[str, Any]) -> str:
    try:
        return template.format_map(_SafeValues({k: ("" if v is None else v) for k, v in values.items()}))[:1000]
    except (ValueError, IndexError, AttributeError):
        return template[:1000]
