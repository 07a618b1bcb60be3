"""Lint results of a stored rule-set version: its rules are re-assembled file by file at their stored line
numbers (so findings point at the lines of the imported files) and linted with :func:`secmon.lint.lint_ruleset`
— the findings an analyst reads next to the version and its difference to the previous one."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from kernel import NotFound, Principal, authorize
from kernel.clock import isoformat
from kernel.db import Session
from secmon.models import SecmonRule, SecmonRulesetVersion


def version_lint(session: Session, principal: Principal, version_id: str) -> dict:
    from secmon.lint import lint_ruleset, summarize
    from secmon.rules import RuleSet, parse_text

    authorize(principal, "secmon:ruleset:read")
    version = session.get(SecmonRulesetVersion, version_id) if isinstance(version_id, str) else None
    if version is None:
        raise NotFound(f"no rule-set version {version_id!r}")
    files: dict[str, list[str]] = {}
    rows = session.execute(select(SecmonRule.file, SecmonRule.line, SecmonRule.enabled, SecmonRule.raw)
                           .where(SecmonRule.version_id == version.id)
                           .order_by(SecmonRule.file, SecmonRule.line)).all()
    for file, line, enabled, raw in rows:
        lines = files.setdefault(file, [])
        while len(lines) < line - 1:  # keep the imported file's line numbers
            lines.append("")
        text = raw if enabled or raw.lstrip().startswith("#") else "# " + raw
        lines.append(text.rstrip("\n"))
    ruleset = RuleSet(files=[parse_text("\n".join(lines) + "\n", name) for name, lines in files.items()])
    findings = lint_ruleset(ruleset)
    by_check = Counter(f.check for f in findings)
    return {"version": {"id": version.id, "name": version.name, "imported_at": isoformat(version.imported_at),
                        "content_hash": version.content_hash, "rules": version.rule_count},
            "summary": summarize(findings), "by_check": dict(by_check.most_common()),
            "findings": [f.to_dict() for f in findings]}
