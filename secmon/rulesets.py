"""Rule-set versions: import (content hash over every file that changes the effective set), list."""

from __future__ import annotations

import fnmatch
from dataclasses import asdict
from pathlib import Path

from sqlalchemy import insert, select

import audit
from kernel import Principal, ValidationFailed, authorize, new_id, utcnow
from kernel.db import Session
from secmon.models import SecmonRule, SecmonRulesetVersion
from secmon.policy_files import build, load_policy
from secmon.rules import DEFAULT_IGNORE, RuleLoadError, RuleSet, load_ruleset

def ruleset_import(session: Session, principal: Principal, paths: list[str | Path], *, name: str | None = None,
                   policy_dir: str | Path | None = None) -> dict:
    """Load rule files/trees, build the effective set, store a version (content hash) with every rule; audited.

    Every rule of every file is stored (zero lost), including files suricata-update ignores by default
    (``*deleted.rules``); ``effective`` marks the rules enabled in the set built as suricata-update builds it.
    """
    authorize(principal, "secmon:ruleset:import", name)
    try:
        rs = load_ruleset(paths, ignore=())
    except RuleLoadError as exc:
        raise ValidationFailed(str(exc), errors=[{"field": "paths", "message": str(exc)}]) from None
    policy = load_policy(policy_dir) if policy_dir else None
    ignored = [f for f in rs.files if any(fnmatch.fnmatch(Path(f.path).name, pat) for pat in DEFAULT_IGNORE)]
    eff_set = RuleSet(files=[f for f in rs.files if f not in ignored], classifications=rs.classifications,
                      thresholds=rs.thresholds, ignored_files=[f.path for f in ignored])
    result = build(eff_set, policy)
    name = name or (Path(str(paths[0])).name if paths else "ruleset")
    content_hash = rs.content_hash()
    latest = session.execute(select(SecmonRulesetVersion).where(SecmonRulesetVersion.name == name)
                             .order_by(SecmonRulesetVersion.imported_at.desc()).limit(1)).scalars().first()
    stats = rs.stats() | {"ignored_by_default": [Path(f.path).name for f in ignored], "build": result.summary()}
    if latest is not None and latest.content_hash == content_hash and not policy_dir:
        return {"version_id": latest.id, "name": name, "content_hash": content_hash, "unchanged": True,
                "stats": latest.stats, "errors": [asdict(e) for e in rs.errors]}
    v = SecmonRulesetVersion(id=new_id(), name=name, content_hash=content_hash, imported_at=utcnow(),
                             imported_by=principal.actor, rule_count=len(rs.rules),
                             enabled_count=len(result.enabled_ids), error_count=len(rs.errors), stats=stats)
    session.add(v)
    session.flush()
    winners = {key: r for key, r in result.rulemap.items()}
    rows = []
    for r in rs.rules:
        eff = winners.get(r.id)
        is_winner = eff is not None and (eff.file, eff.line) == (r.file, r.line)
        rows.append({"version_id": v.id, "gid": r.gid, "sid": r.sid, "rev": r.rev,
                     "enabled": r.enabled, "effective": bool(is_winner and eff.enabled),
                     "action": (eff.action if is_winner else r.action)[:40], "proto": r.proto[:40], "msg": r.msg,
                     "classtype": (r.classtype or None) and r.classtype[:100], "file": Path(r.file).name[:300],
                     "line": r.line, "raw": r.raw})
    for i in range(0, len(rows), 5000):
        session.execute(insert(SecmonRule), rows[i : i + 5000])
    audit.record(session, principal, "secmon:ruleset:import", object_type="secmon_ruleset_version", object_id=v.id,
                 state={"name": name, "content_hash": content_hash, "rules": v.rule_count,
                        "enabled": v.enabled_count},
                 details={"files": [Path(f.path).name for f in rs.files], "errors": len(rs.errors),
                          "policy": bool(policy_dir), "flowbit_enabled": len(result.flowbit_enabled)})
    session.commit()
    return {"version_id": v.id, "name": name, "content_hash": content_hash, "unchanged": False, "stats": stats,
            "errors": [asdict(e) for e in rs.errors]}


def ruleset_versions(session: Session, principal: Principal) -> list[dict]:
    authorize(principal, "secmon:ruleset:read")
    rows = session.execute(select(SecmonRulesetVersion).order_by(SecmonRulesetVersion.imported_at.desc())).scalars()
    return [{"id": v.id, "name": v.name, "content_hash": v.content_hash, "imported_at": v.imported_at,
             "imported_by": v.imported_by, "rules": v.rule_count, "enabled": v.enabled_count,
             "errors": v.error_count} for v in rows]
