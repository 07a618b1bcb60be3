"""suricata-update compatible policy: enable.conf, disable.conf, drop.conf, modify.conf, and ``build``.

Order and precedence are suricata-update's: for every rule, all disable matchers (enabled rules only),
then all enable matchers (disabled rules only) — enable wins —, then drop filters, then modify filters;
afterwards flowbit dependencies are re-enabled (marked ``noalert``) until a fixed point.
"""

from __future__ import annotations

import copy
import hashlib
import fnmatch
import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from secmon.flowbits import parse_flowbit
from secmon.rules import LineIssue, Rule, RuleSet, RuleSyntaxError, build_rule_map, parse_rule_text

POLICY_FILES = ("disable.conf", "enable.conf", "drop.conf", "modify.conf")


# ------------------------------------------------------------------------------------------ matchers


class Matcher:
    text: str = ""

    def match(self, rule: Rule) -> bool:  # pragma: no cover - interface
        raise NotImplementedError


@dataclass
class AllMatcher(Matcher):
    text: str = "*"

    def match(self, rule: Rule) -> bool:
        return True


@dataclass
class IdMatcher(Matcher):
    ids: list[tuple[int, int, int | None]]
    text: str = ""

    def match(self, rule: Rule) -> bool:
        return any(g == rule.gid and s == rule.sid and (r is None or r == rule.rev) for g, s, r in self.ids)


@dataclass
class ReMatcher(Matcher):
    pattern: re.Pattern
    text: str = ""

    def match(self, rule: Rule) -> bool:
        return bool(self.pattern.search(rule.raw))


@dataclass
class FilenameMatcher(Matcher):
    pattern: str
    text: str = ""

    def match(self, rule: Rule) -> bool:
        return fnmatch.fnmatch(rule.file, self.pattern)


@dataclass
class GroupMatcher(Matcher):
    pattern: str
    text: str = ""

    def match(self, rule: Rule) -> bool:
        base = os.path.basename(rule.file)
        return fnmatch.fnmatch(base, self.pattern) or fnmatch.fnmatch(os.path.splitext(base)[0], self.pattern)


@dataclass
class MetadataMatcher(Matcher):
    key: str
    value: str
    text: str = ""

    def match(self, rule: Rule) -> bool:
        return any(k.lower() == self.key and v.strip().lower() == self.value for k, v in rule.metadata)


def _parse_ids(buf: str) -> IdMatcher | None:
    ids: list[tuple[int, int, int | None]] = []
    for entry in buf.split(","):
        parts = entry.strip().split(":")
        try:
            if len(parts) == 1:
                ids.append((1, int(parts[0]), None))
            elif len(parts) == 2:
                ids.append((int(parts[0]), int(parts[1]), None))
            elif len(parts) == 3:
                ids.append((int(parts[0]), int(parts[1]), int(parts[2])))
            else:
                return None
        except ValueError:
            return None
    return IdMatcher(ids, buf) if ids else None


def parse_matcher(buf: str) -> Matcher | None:
    """One selector: ``*``, ``sid``, ``gid:sid[:rev]`` (comma lists), ``re:``, ``filename:``, ``group:``,
    ``<name>.rules``, ``metadata: key value``. None when unparsable."""
    buf = buf.strip()
    if buf == "*":
        return AllMatcher()
    m = _parse_ids(buf)
    if m:
        return m
    if buf.startswith("re:"):
        try:
            return ReMatcher(re.compile(buf.split(":", 1)[1].strip(), re.I), buf)
        except re.error:
            return None
    if buf.startswith("filename:"):
        return FilenameMatcher(buf.split(":", 1)[1].strip(), buf)
    if buf.startswith("group:"):
        return GroupMatcher(buf.split(":", 1)[1].strip(), buf)
    if buf.endswith(".rules"):
        return GroupMatcher(buf, buf)
    if buf.startswith("metadata:"):
        parts = buf.split(":", 1)[1].strip().split(" ", 1)
        if len(parts) == 2:
            return MetadataMatcher(parts[0].strip().lower(), parts[1].strip().lower(), buf)
    return None


@dataclass
class ModifyFilter:
    matcher: Matcher
    pattern: re.Pattern
    repl: str
    text: str = ""


@dataclass
class MetadataAddFilter:
    matcher: Matcher
    key: str
    value: str
    text: str = ""


@dataclass
class Policy:
    disable: list[Matcher] = field(default_factory=list)
    enable: list[Matcher] = field(default_factory=list)
    drop: list[Matcher] = field(default_factory=list)
    modify: list[ModifyFilter | MetadataAddFilter] = field(default_factory=list)
    errors: list[LineIssue] = field(default_factory=list)
    #: (file name, SHA-256) of every policy file read: part of the rule-set version's content hash
    sources: list[tuple[str, str]] = field(default_factory=list)

    def content_hash(self) -> str:
        h = hashlib.sha256()
        for name, digest in sorted(self.sources):
            h.update(name.encode() + b"\0" + digest.encode() + b"\n")
        return h.hexdigest()


def _conf_lines(text: str):
    for no, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        yield no, line.split(" #")[0].strip()


def parse_matchers_text(text: str, path: str = "<string>") -> tuple[list[Matcher], list[LineIssue]]:
    out: list[Matcher] = []
    errors: list[LineIssue] = []
    for no, line in _conf_lines(text):
        m = parse_matcher(line)
        if m is None:
            errors.append(LineIssue(path, no, "unparsable selector", line))
        else:
            out.append(m)
    return out, errors


def parse_modify_text(text: str, path: str = "<string>") -> tuple[list, list[LineIssue]]:
    out: list = []
    errors: list[LineIssue] = []
    for no, line in _conf_lines(text):
        try:
            if line.startswith("metadata-add"):
                _cmd, sel, key, val = shlex.split(line)
                m = parse_matcher(sel)
                if m is None:
                    raise ValueError(f"bad selector {sel!r}")
                out.append(MetadataAddFilter(m, key, val, line))
                continue
            line2 = re.sub(r"\\\$", "$", line)
            tokens = shlex.split(line2)
            if len(tokens) == 3:
                sel, a, b = tokens
            elif len(tokens) > 3 and tokens[0] == "modifysid":
                sel, a, b = tokens[1], tokens[2], tokens[4]
            else:
                raise ValueError("expected: <selector> \"<regex>\" \"<replacement>\"")
            m = parse_matcher(sel)
            if m is None:
                raise ValueError(f"bad selector {sel!r}")
            b = re.sub(r"\$\{(\d+)\}", r"\\\1", b)
            out.append(ModifyFilter(m, re.compile(a), b, line))
        except (ValueError, re.error) as exc:
            errors.append(LineIssue(path, no, f"bad modify entry: {exc}", line))
    return out, errors


def load_policy(directory: str | os.PathLike | None = None, **files: str | os.PathLike | None) -> Policy:
    """Load ``disable/enable/drop/modify.conf`` from ``directory`` (missing ones are empty), or pass
    individual paths as ``disable=``, ``enable=``, ``drop=``, ``modify=``."""
    pol = Policy()
    for name in ("disable", "enable", "drop", "modify"):
        path = files.get(name)
        if path is None and directory is not None:
            cand = Path(directory) / f"{name}.conf"
            path = cand if cand.exists() else None
        if path is None:
            continue
        data = Path(path).read_bytes()
        pol.sources.append((f"{name}.conf", hashlib.sha256(data).hexdigest()))
        text = data.decode("utf-8", errors="replace")
        if name == "modify":
            items, errs = parse_modify_text(text, str(path))
        else:
            items, errs = parse_matchers_text(text, str(path))
        getattr(pol, name).extend(items)
        pol.errors.extend(errs)
    return pol


# ------------------------------------------------------------------------------------------- build


@dataclass
class BuildResult:
    rulemap: dict[tuple[int, int], Rule]
    duplicates: list[tuple[Rule, Rule]]
    disabled_by_policy: list[Rule] = field(default_factory=list)
    enabled_by_policy: list[Rule] = field(default_factory=list)
    dropped: list[Rule] = field(default_factory=list)
    modified: list[Rule] = field(default_factory=list)
    flowbit_enabled: list[Rule] = field(default_factory=list)
    errors: list[LineIssue] = field(default_factory=list)

    @property
    def enabled_ids(self) -> set[str]:
        return {f"{g}:{s}" for (g, s), r in self.rulemap.items() if r.enabled}

    @property
    def disabled_ids(self) -> set[str]:
        return {f"{g}:{s}" for (g, s), r in self.rulemap.items() if not r.enabled}

    def render(self) -> str:
        return "".join(r.format() + "\n" for r in self.rulemap.values())

    def summary(self) -> dict:
        return {
            "rules": len(self.rulemap),
            "enabled": len(self.enabled_ids),
            "disabled": len(self.disabled_ids),
            "duplicates": len(self.duplicates),
            "disabled_by_policy": len(self.disabled_by_policy),
            "enabled_by_policy": len(self.enabled_by_policy),
            "dropped": len(self.dropped),
            "modified": len(self.modified),
            "flowbit_enabled": len(self.flowbit_enabled),
            "errors": len(self.errors),
        }


def _reparse(text: str, like: Rule) -> Rule | None:
    try:
        return parse_rule_text(text, file=like.file, line=like.line, end_line=like.end_line)
    except RuleSyntaxError:
        return None


def resolve_flowbits(rulemap: dict[tuple[int, int], Rule]) -> list[Rule]:
    """Re-enable (as ``noalert``) disabled rules that set flowbits checked by enabled rules, to a fixed point.
    Flowbit values are parsed by :func:`secmon.flowbits.parse_flowbit` (the parser lint uses): every name of
    ``isset,a|b`` / ``isset,a&b`` is required."""
    enabled: dict[int, Rule] = {}
    setters: dict[str, list[Rule]] = {}
    for rule in rulemap.values():
        for fb in map(parse_flowbit, rule.flowbits):
            if fb.sets:
                for name in fb.names:
                    setters.setdefault(name, []).append(rule)
    while True:
        required = set()
        for rule in rulemap.values():
            if rule.enabled:
                for fb in map(parse_flowbit, rule.flowbits):
                    if fb.checks:
                        required.update(fb.names)
        todo = [r for val in required for r in setters.get(val, ()) if not r.enabled]
        if not todo:
            break
        for rule in todo:
            rule.enabled = True
            rule.noalert = True
            enabled[id(rule)] = rule
    return list(enabled.values())


def build(ruleset: RuleSet, policy: Policy | None = None) -> BuildResult:
    """The effective rule set, as suricata-update builds it from the same files and policy."""
    policy = policy or Policy()
    rules = [copy.copy(r) for r in ruleset.rules]
    rulemap, dups = build_rule_map(rules)
    res = BuildResult(rulemap=rulemap, duplicates=dups, errors=list(policy.errors))
    for key, rule in list(rulemap.items()):
        for m in policy.disable:
            if rule.enabled and m.match(rule):
                rule.enabled = False
                res.disabled_by_policy.append(rule)
        was_enabled = False
        for m in policy.enable:
            if not rule.enabled and m.match(rule):
                rule.enabled = True
                was_enabled = True
        if was_enabled:
            res.enabled_by_policy.append(rule)
        dropped = False
        for m in policy.drop:
            if not rule.noalert and m.match(rule):
                new = _reparse(re.sub(r"^\w+", "drop", rule.raw), rule)
                if new is not None:
                    new.enabled = rule.enabled
                    rule = new
                    dropped = True
        if dropped:
            res.dropped.append(rule)
        modified = False
        for f in policy.modify:
            if not f.matcher.match(rule):
                continue
            if isinstance(f, MetadataAddFilter):
                text = re.sub(r";\s*\)$", f"; metadata: {f.key} {f.value};)", rule.format())
            else:
                text = f.pattern.sub(f.repl, rule.format())
            new = _reparse(text, rule)
            if new is None:
                res.errors.append(LineIssue(rule.file, rule.line, f"modification yields an invalid rule: {f.text}",
                                            text[:300]))
                continue
            rule = new
            modified = True
        if modified:
            res.modified.append(rule)
        rulemap[key] = rule
    res.flowbit_enabled = resolve_flowbits(rulemap)
    return res
