"""What approved responses contribute to a rule-set build: policy lines (enable / disable / drop / modify, in
suricata-update syntax) and ``threshold.config`` lines, each tagged with the response that put it there.

Used by :func:`secmon.rulesets.ruleset_import` (the approved lines are part of the version's content hash and
of the built set) and by the build exports; validation of the same lines by :mod:`secmon.responses`.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from sqlalchemy import or_, select

from kernel import utcnow
from kernel.db import Session
from secmon.models import SecmonResponse, SecmonRuleChange, SecmonSuppression
from secmon.policy_files import Policy, parse_matchers_text, parse_modify_text
from secmon.rules import parse_threshold_config


def policy_line(c: SecmonRuleChange) -> str:
    """The change as a line of its policy file (``<action>.conf``)."""
    if c.action == "modify":
        return f"{c.selector} {shlex.quote(c.modify_from or '')} {shlex.quote(c.modify_to or '')}"
    return c.selector


def threshold_line(s: SecmonSuppression) -> str:
    """The entry as a ``threshold.config`` line."""
    parts = [f"gen_id {s.gid}", f"sig_id {s.sid}"]
    if s.kind == "suppress":
        if s.track:
            parts += [f"track {s.track}", f"ip {s.ip}"]
    else:
        parts += [f"type {s.threshold_type}", f"track {s.track}", f"count {s.count}", f"seconds {s.seconds}"]
    return f"{s.kind} " + ", ".join(parts)


@dataclass
class Approved:
    changes: list[tuple[SecmonRuleChange, SecmonResponse]] = field(default_factory=list)
    suppressions: list[tuple[SecmonSuppression, SecmonResponse]] = field(default_factory=list)

    def lines(self) -> list[str]:
        return ([f"{c.action}.conf\t{policy_line(c)}\t{r.id}" for c, r in self.changes]
                + [f"threshold.config\t{threshold_line(s)}\t{r.id}" for s, r in self.suppressions])

    def summary(self) -> dict:
        return {"rule_changes": len(self.changes), "suppressions": len(self.suppressions),
                "responses": sorted({r.id for _, r in self.changes} | {r.id for _, r in self.suppressions})}

    def mark_applied(self, session: Session, version_id: str) -> None:
        for item, _ in self.changes + self.suppressions:
            item.applied_version_id = version_id
            session.add(item)

    def threshold_config(self) -> str:
        """The approved entries as ``threshold.config`` text, each line preceded by the approval behind it."""
        out = []
        for s, r in self.suppressions:
            out.append(f"# response {r.id} approved by {r.decided_by} at {r.decided_at:%Y-%m-%dT%H:%M:%SZ}"
                       + (f", expires {s.expires_at:%Y-%m-%dT%H:%M:%SZ}" if s.expires_at else ""))
            out.append(threshold_line(s))
        return "".join(line + "\n" for line in out)

    def policy_files(self) -> dict[str, str]:
        """``{"disable.conf": text, ...}`` of the approved rule changes, each with its approval."""
        files: dict[str, list[str]] = {}
        for c, r in self.changes:
            files.setdefault(f"{c.action}.conf", []).extend([
                f"# response {r.id} approved by {r.decided_by} at {r.decided_at:%Y-%m-%dT%H:%M:%SZ}",
                policy_line(c)])
        return {k: "".join(x + "\n" for x in v) for k, v in files.items()}


def approved_build_lines(session: Session, now=None) -> Approved:
    """The active (approved, not expired) rule changes and suppress/threshold entries, in a stable order."""
    now = now or utcnow()
    out = Approved()
    for c, r in session.execute(
            select(SecmonRuleChange, SecmonResponse).join(SecmonResponse, SecmonResponse.id == SecmonRuleChange.response_id)
            .where(SecmonRuleChange.state == "active",
                   or_(SecmonRuleChange.expires_at.is_(None), SecmonRuleChange.expires_at > now))
            .order_by(SecmonResponse.decided_at, SecmonRuleChange.id)):
        out.changes.append((c, r))
    for s, r in session.execute(
            select(SecmonSuppression, SecmonResponse).join(SecmonResponse, SecmonResponse.id == SecmonSuppression.response_id)
            .where(SecmonSuppression.state == "active",
                   or_(SecmonSuppression.expires_at.is_(None), SecmonSuppression.expires_at > now))
            .order_by(SecmonResponse.decided_at, SecmonSuppression.id)):
        out.suppressions.append((s, r))
    return out


def apply_approved(policy: Policy, approved: Approved) -> tuple[list[str], list[dict]]:
    """Add the approved rule changes to ``policy`` (after the files' own entries) and return the policy lines
    added and the approved threshold entries (parsed as ``threshold.config`` entries)."""
    added: list[str] = []
    for c, r in approved.changes:
        line = policy_line(c)
        if c.action == "modify":
            items, _errs = parse_modify_text(line, f"response:{r.id}")
        else:
            items, _errs = parse_matchers_text(line, f"response:{r.id}")
        getattr(policy, c.action).extend(items)
        added.append(f"{c.action}: {line}  # response {r.id}")
    thresholds: list[dict] = []
    for s, r in approved.suppressions:
        th, _errs = parse_threshold_config(threshold_line(s), f"response:{r.id}")
        thresholds.extend(th)
    return added, thresholds
