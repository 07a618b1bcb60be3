"""Diff two rule sets by gid:sid: added, removed, enabled, disabled, modified (and changed without rev bump)."""

from __future__ import annotations

import re

from secmon.rules import Rule, RuleSet, build_rule_map

_WS = re.compile(r"\s+")


def _norm(raw: str) -> str:
    return _WS.sub(" ", raw.strip())


def diff_rulemaps(old: dict[tuple[int, int], Rule], new: dict[tuple[int, int], Rule]) -> dict:
    added, removed, enabled, disabled, modified = [], [], [], [], []
    for key in sorted(new.keys() - old.keys()):
        r = new[key]
        added.append({"rule_id": r.rule_id, "rev": r.rev, "enabled": r.enabled, "msg": r.msg})
    for key in sorted(old.keys() - new.keys()):
        r = old[key]
        removed.append({"rule_id": r.rule_id, "rev": r.rev, "enabled": r.enabled, "msg": r.msg})
    for key in sorted(old.keys() & new.keys()):
        o, n = old[key], new[key]
        if o.enabled and not n.enabled:
            disabled.append({"rule_id": n.rule_id, "msg": n.msg})
        elif not o.enabled and n.enabled:
            enabled.append({"rule_id": n.rule_id, "msg": n.msg})
        if _norm(o.raw) != _norm(n.raw):
            modified.append({"rule_id": n.rule_id, "old_rev": o.rev, "new_rev": n.rev, "msg": n.msg,
                             "rev_bumped": (n.rev or 0) > (o.rev or 0)})
    return {
        "summary": {"added": len(added), "removed": len(removed), "enabled": len(enabled),
                    "disabled": len(disabled), "modified": len(modified),
                    "modified_without_rev_bump": sum(1 for m in modified if not m["rev_bumped"])},
        "added": added, "removed": removed, "enabled": enabled, "disabled": disabled, "modified": modified,
    }


def diff_rulesets(old: RuleSet, new: RuleSet) -> dict:
    return diff_rulemaps(build_rule_map(old.rules)[0], build_rule_map(new.rules)[0])


def format_diff_text(d: dict) -> str:
    out = []
    for kind, sign in (("added", "+"), ("removed", "-"), ("enabled", "E"), ("disabled", "D")):
        for item in d[kind]:
            out.append(f"{sign} {item['rule_id']} {item.get('msg') or ''}".rstrip())
    for m in d["modified"]:
        flag = "" if m["rev_bumped"] else "  [changed without rev bump]"
        out.append(f"M {m['rule_id']} rev {m['old_rev']} -> {m['new_rev']}{flag}")
    s = d["summary"]
    out.append(", ".join(f"{k} {v}" for k, v in s.items()))
    return "\n".join(out) + "\n"
