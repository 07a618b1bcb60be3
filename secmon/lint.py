"""Rule-set lint: parse errors, duplicates, missing fields, unknown keywords, header syntax, variables,
classtypes, flowbits consistency, PCRE, priority/metadata format. Output as text, JSON or SARIF 2.1.0."""

from __future__ import annotations

import json
import re
import warnings
from collections import defaultdict
from dataclasses import asdict, dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml

from secmon.flowbits import parse_flowbit
from secmon.rules import ACTIONS, DIRECTIONS, Rule, RuleSet, build_rule_map

SEVERITIES = ("error", "warning", "note")


@dataclass
class Finding:
    check: str
    severity: str
    message: str
    file: str
    line: int
    sid: int | None = None
    rule_id: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


def _data_lines(name: str) -> set[str]:
    text = resources.files("secmon").joinpath("data", name).read_text(encoding="utf-8")
    return {s.strip() for s in text.splitlines() if s.strip() and not s.lstrip().startswith("#")}


@lru_cache(maxsize=1)
def known_keywords() -> frozenset[str]:
    return frozenset(_data_lines("suricata7-keywords.txt"))


@lru_cache(maxsize=1)
def known_protocols() -> frozenset[str]:
    return frozenset(_data_lines("suricata7-protocols.txt"))


def load_vars(path: str | Path | None = None) -> tuple[set[str], set[str]]:
    """(address groups, port groups) from a suricata.yaml-style ``vars:`` file (default: stock groups)."""
    if path is None:
        text = resources.files("secmon").joinpath("data", "suricata-default-vars.yaml").read_text(encoding="utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"vars file is not valid YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise ValueError("vars file must be a YAML mapping")
    v = doc.get("vars", doc)
    if not isinstance(v, dict):
        raise ValueError("vars file: 'vars' must be a mapping")
    return set((v.get("address-groups") or {}).keys()), set((v.get("port-groups") or {}).keys())


_VAR_RE = re.compile(r"\$([A-Za-z_][\w]*)")
_IP_ATOM = re.compile(r"^!?(any|\$[A-Za-z_]\w*|[0-9a-fA-F:.]+(/\d{1,3})?)$")
_PORT_ATOM = re.compile(r"^!?(any|\$[A-Za-z_]\w*|\d{1,5}(:\d{0,5})?|:\d{1,5})$")


def _split_list(value: str) -> list[str] | None:
    """Split ``[a,!b,[c,d]]`` into atoms (flattened); None when brackets are unbalanced."""
    atoms: list[str] = []
    depth = 0
    cur = []
    for ch in value:
        if ch == "[":
            depth += 1
            continue
        if ch == "]":
            depth -= 1
            if depth < 0:
                return None
            continue
        if ch == ",":
            atoms.append("".join(cur).strip())
            cur = []
            continue
        cur.append(ch)
    if depth != 0:
        return None
    atoms.append("".join(cur).strip())
    return atoms


def _check_addr(value: str, atom_re: re.Pattern, what: str) -> str | None:
    atoms = _split_list(value)
    if atoms is None:
        return f"unbalanced brackets in {what} {value!r}"
    for a in atoms:
        if not a or not atom_re.match(a):
            return f"malformed {what} {value!r} (at {a!r})"
        if atom_re is _PORT_ATOM:
            for n in re.findall(r"\d+", a):
                if int(n) > 65535:
                    return f"port out of range in {value!r}"
    return None


_PCRE_FLAGS = set("ismxAEGRUIPHDMCKSYBOVWZQLJT")

try:  # the PCRE2 library itself (the engine Suricata uses), through its Python binding
    import pcre2 as _pcre2
except ImportError:  # pragma: no cover - the binding is a dependency; without it PCRE is "not checked"
    _pcre2 = None


def pcre_engine() -> str:
    return "pcre2" if _pcre2 is not None else "none"


@lru_cache(maxsize=65536)
def check_pcre(value: str) -> tuple[str, str] | None:
    """``None`` when the pcre option is valid, else ``(severity, message)``: ``error`` for what PCRE2 rejects
    (or a malformed option), ``note`` "not checked" when no PCRE2 engine is available and Python's ``re``
    cannot judge it. Never an error for valid PCRE that Python's ``re`` lacks (``(?-i)``, ``\\h``, …)."""
    v = value.strip()
    if v.startswith("!"):
        v = v[1:]
    if len(v) < 2 or v[0] != '"' or v[-1] != '"':
        return "error", "pcre value must be quoted"
    body = v[1:-1]
    if not body.startswith("/") or body.rfind("/") == 0:
        return "error", "pcre must be /regex/flags"
    end = body.rfind("/")
    regex, flags = body[1:end], body[end + 1 :]
    bad = set(flags) - _PCRE_FLAGS
    if bad:
        return "error", f"unknown pcre modifier(s) {''.join(sorted(bad))!r}"
    regex = regex.replace('\\"', '"').replace("\\;", ";")
    if _pcre2 is not None:
        opts = 0
        for ch, flag in (("i", _pcre2.I), ("s", _pcre2.S), ("m", _pcre2.M), ("x", _pcre2.X)):
            if ch in flags:
                opts |= flag
        if "G" in flags:
            regex = "(?U)" + regex
        try:
            _pcre2.compile(regex.encode("utf-8", "surrogateescape"), opts)
        except _pcre2.error as exc:
            return "error", f"pcre does not compile (PCRE2): {exc}"
        except (OverflowError, RecursionError, MemoryError):
            return "error", "pcre too complex"
        return None
    pyflags = 0
    for ch, flag in (("i", re.I), ("s", re.S), ("m", re.M), ("x", re.X)):
        if ch in flags:
            pyflags |= flag
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            re.compile(regex.encode("latin-1", "replace"), pyflags)
    except (re.error, OverflowError, RecursionError) as exc:
        return "note", f"pcre not checked: no PCRE2 engine, and Python's re cannot compile it ({exc})"
    return None


def lint_ruleset(ruleset: RuleSet, *, vars_file: str | Path | None = None,
                 classifications: dict | None = None) -> list[Finding]:
    findings: list[Finding] = []
    add = findings.append
    for err in ruleset.errors:
        add(Finding("parse-error", "error", err.reason, err.file, err.line))
    rules = ruleset.rules
    _, dups = build_rule_map(rules)
    for winner, loser in dups:
        add(Finding("duplicate-sid", "warning",
                    f"duplicate {loser.rule_id} (rev {loser.rev}); the rule at {winner.file}:{winner.line} "
                    f"(rev {winner.rev}) wins", loser.file, loser.line, loser.sid, loser.rule_id))
    addr_vars, port_vars = load_vars(vars_file)
    classes = classifications if classifications is not None else ruleset.classifications
    keywords = known_keywords()
    protocols = known_protocols()
    setters: dict[str, list[Rule]] = defaultdict(list)
    getters: dict[str, list[Rule]] = defaultdict(list)
    for r in rules:
        def f(check: str, sev: str, msg: str, r: Rule = r) -> None:
            add(Finding(check, sev, msg, r.file, r.line, r.sid, r.rule_id))

        if r.msg is None:
            f("missing-msg", "warning", "rule has no msg")
        if r.rev is None:
            f("missing-rev", "warning", "rule has no rev")
        base_action = r.action.split(":", 1)[0]
        if base_action not in ACTIONS:
            f("header-action", "error", f"unknown action {r.action!r}")
        proto = r.proto.split(":", 1)[0]
        if proto not in protocols:
            f("header-protocol", "error", f"unknown protocol {r.proto!r}")
        if r.direction not in DIRECTIONS:
            f("header-direction", "error", f"bad direction {r.direction!r} (expected -> or <>)")
        for value, what, atom in ((r.src, "source address", _IP_ATOM), (r.dst, "destination address", _IP_ATOM),
                                  (r.sport, "source port", _PORT_ATOM), (r.dport, "destination port", _PORT_ATOM)):
            problem = _check_addr(value, atom, what)
            if problem:
                f("header-syntax", "error", problem)
        for var in _VAR_RE.findall(r.src + " " + r.dst):
            if var not in addr_vars:
                f("undefined-var", "error", f"address variable ${var} is not defined")
        for var in _VAR_RE.findall(r.sport + " " + r.dport):
            if var not in port_vars:
                f("undefined-var", "error", f"port variable ${var} is not defined")
        for name, value in r.options:
            if name not in keywords:
                f("unknown-keyword", "warning", f"unknown keyword {name!r}")
            elif name == "pcre" and value:
                problem = check_pcre(value)
                if problem:
                    f("pcre" if problem[0] == "error" else "pcre-unchecked", problem[0], problem[1])
            elif name == "classtype" and classes and value not in classes:
                f("classtype", "warning", f"classtype {value!r} is not in classification.config")
            elif name == "priority" and not (value and value.strip().isdigit() and 1 <= int(value) <= 255):
                f("priority-format", "warning", f"priority must be an integer 1..255, got {value!r}")
            elif name == "metadata":
                if not value or not value.strip():
                    f("metadata-format", "warning", "empty metadata")
        for key, val in r.metadata:
            if not val:
                f("metadata-format", "warning", f"metadata entry {key!r} has no value (expected 'key value')")
        for fb in map(parse_flowbit, r.flowbits):
            if fb.sets:
                for n in fb.names:
                    setters[n].append(r)
            elif fb.checks:
                for n in fb.names:
                    getters[n].append(r)
            elif not fb.known:
                f("flowbits", "error", f"unknown flowbits operation {fb.op!r}")
    for name, rs in getters.items():
        if name not in setters:
            for r in rs:
                add(Finding("flowbits", "warning", f"flowbit {name!r} is checked but never set", r.file, r.line,
                            r.sid, r.rule_id))
    for name, rs in setters.items():
        if name not in getters:
            for r in rs:
                add(Finding("flowbits", "note", f"flowbit {name!r} is set but never checked", r.file, r.line,
                            r.sid, r.rule_id))
    ids = {r.id for r in rules}
    for t in ruleset.thresholds:
        if t["sid"] != 0 and (t["gid"], t["sid"]) not in ids:
            add(Finding("threshold", "warning", f"{t['kind']} refers to {t['gid']}:{t['sid']}, which no loaded rule has",
                        t["file"], t["line"], t["sid"], f"{t['gid']}:{t['sid']}"))
    findings.sort(key=lambda x: (x.file, x.line, x.check))
    return findings


def summarize(findings: list[Finding]) -> dict:
    by_sev: dict[str, int] = defaultdict(int)
    by_check: dict[str, int] = defaultdict(int)
    for f in findings:
        by_sev[f.severity] += 1
        by_check[f.check] += 1
    return {"findings": len(findings), "by_severity": dict(by_sev), "by_check": dict(sorted(by_check.items()))}


def format_text(findings: list[Finding]) -> str:
    lines = [f"{f.file}:{f.line}: {f.severity}: [{f.check}] {f.rule_id or '-'}: {f.message}" for f in findings]
    s = summarize(findings)
    lines.append(f"{s['findings']} finding(s): " + ", ".join(f"{k} {v}" for k, v in sorted(s["by_severity"].items())))
    return "\n".join(lines) + "\n"


def format_json(findings: list[Finding], extra: dict | None = None) -> str:
    doc = {"summary": summarize(findings), "findings": [f.to_dict() for f in findings]}
    if extra:
        doc.update(extra)
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


_CHECK_HELP = {
    "parse-error": "The line is neither a valid rule nor a comment.",
    "duplicate-sid": "Two rules share gid:sid; the higher rev wins (suricata-update semantics).",
    "missing-msg": "Rules should carry a msg.",
    "missing-rev": "Rules should carry a rev.",
    "unknown-keyword": "Keyword not in the Suricata 7 keyword list.",
    "header-action": "Unknown rule action.",
    "header-protocol": "Unknown protocol in the rule header.",
    "header-direction": "Direction must be -> or <>.",
    "header-syntax": "Malformed address or port syntax.",
    "undefined-var": "Variable not defined in the configured address/port groups.",
    "classtype": "classtype not defined in classification.config.",
    "flowbits": "flowbits set but never checked, or checked but never set.",
    "pcre": "PCRE that the PCRE2 engine cannot compile.",
    "pcre-unchecked": "PCRE not checked (no PCRE2 engine available).",
    "priority-format": "priority must be an integer 1..255.",
    "metadata-format": "metadata entries are 'key value' pairs.",
    "threshold": "threshold.config entry for a gid:sid no loaded rule has.",
}


def format_sarif(findings: list[Finding]) -> str:
    level = {"error": "error", "warning": "warning", "note": "note"}
    rules = [{"id": k, "shortDescription": {"text": v}} for k, v in _CHECK_HELP.items()]
    results = []
    for f in findings:
        results.append({
            "ruleId": f.check,
            "level": level.get(f.severity, "warning"),
            "message": {"text": f"{f.rule_id + ': ' if f.rule_id else ''}{f.message}"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": Path(f.file).as_posix()},
                                                "region": {"startLine": max(1, f.line)}}}],
            "properties": {"sid": f.sid, "ruleIdGidSid": f.rule_id, "severity": f.severity},
        })
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "citygov-secmon-lint", "informationUri": "https://docs.suricata.io/",
                                      "rules": rules}}, "results": results}],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
