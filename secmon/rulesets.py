"""Rule-set versions: import (content hash over every file that changes the effective set), list."""

from __future__ import annotations

import fnmatch
import hashlib
from dataclasses import asdict
from pathlib import Path

from sqlalchemy import insert, select

import audit
from kernel import NotFound, Principal, ValidationFailed, authorize, new_id, utcnow
from kernel.db import Session
from secmon.models import SecmonRule, SecmonRulesetVersion, SecmonSensor
from secmon.policy_files import Policy, build, load_policy
from secmon.response_build import apply_approved, approved_build_lines
from secmon.sensors import get_sensor
from secmon.rules import DEFAULT_IGNORE, RuleLoadError, RuleSet, load_ruleset

def ruleset_import(session: Session, principal: Principal, paths: list[str | Path], *, name: str | None = None,
                   policy_dir: str | Path | None = None, sensor: str | None = None) -> dict:
    """Load rule files/trees, build the effective set, store a version (content hash) with every rule; audited.

    Every rule of every file is stored (zero lost), including files suricata-update ignores by default
    (``*deleted.rules``); ``effective`` marks the rules enabled in the set built as suricata-update builds it.
    The version's content hash covers everything that changes the effective set: the rule files,
    ``classification.config`` and ``threshold.config``, the policy files (enable/disable/drop/modify.conf) and
    the approved responses' rule changes and suppress/threshold entries. With ``sensor`` the version becomes
    the one built for that sensor (the default of its coverage and unknown-sid views).
    """
    authorize(principal, "secmon:ruleset:import", name)
    try:
        rs = load_ruleset(paths, ignore=())
    except RuleLoadError as exc:
        raise ValidationFailed(str(exc), errors=[{"field": "paths", "message": str(exc)}]) from None
    if not rs.rules and rs.errors:  # garbage, not a rule set: an empty version would silently disarm a sensor
        raise ValidationFailed(f"no rule could be read ({len(rs.errors)} line(s) with errors); nothing imported",
                               errors=[{"file": Path(e.file).name, "line": e.line, "message": e.reason}
                                       for e in rs.errors[:100]])
    target = None
    if sensor is not None:
        target = get_sensor(session, sensor)
        if target is None:
            raise NotFound(f"no sensor {sensor!r}")
    policy = load_policy(policy_dir) if policy_dir else Policy()
    approved = approved_build_lines(session)
    extra_policy, extra_thresholds = apply_approved(policy, approved)
    ignored = [f for f in rs.files if any(fnmatch.fnmatch(Path(f.path).name, pat) for pat in DEFAULT_IGNORE)]
    eff_set = RuleSet(files=[f for f in rs.files if f not in ignored], classifications=rs.classifications,
                      thresholds=rs.thresholds + extra_thresholds, ignored_files=[f.path for f in ignored])
    result = build(eff_set, policy)
    name = name or (Path(str(paths[0])).name if paths else "ruleset")
    h = hashlib.sha256(f"rules:{rs.content_hash()}\npolicy:{policy.content_hash()}\n".encode())
    for line in sorted(approved.lines()):
        h.update(b"approved\0" + line.encode() + b"\n")
    content_hash = h.hexdigest()
    latest = session.execute(select(SecmonRulesetVersion).where(SecmonRulesetVersion.name == name)
                             .order_by(SecmonRulesetVersion.imported_at.desc()).limit(1)).scalars().first()
    stats = rs.stats() | {"ignored_by_default": [Path(f.path).name for f in ignored], "build": result.summary(),
                          "config_files": dict(rs.config_files), "policy_files": dict(policy.sources),
                          "approved": approved.summary(), "approved_policy_lines": extra_policy}
    if latest is not None and latest.content_hash == content_hash:
        if target is not None and target.ruleset_version_id != latest.id:
            _assign(session, principal, target, latest)
            session.commit()
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
    approved.mark_applied(session, v.id)
    audit.record(session, principal, "secmon:ruleset:import", object_type="secmon_ruleset_version", object_id=v.id,
                 state={"name": name, "content_hash": content_hash, "rules": v.rule_count,
                        "enabled": v.enabled_count},
                 details={"files": [Path(f.path).name for f in rs.files], "errors": len(rs.errors),
                          "config_files": [n for n, _ in rs.config_files],
                          "policy": [n for n, _ in policy.sources], "approved": approved.summary(),
                          "flowbit_enabled": len(result.flowbit_enabled)})
    if target is not None:
        _assign(session, principal, target, v)
    session.commit()
    return {"version_id": v.id, "name": name, "content_hash": content_hash, "unchanged": False, "stats": stats,
            "errors": [asdict(e) for e in rs.errors]}


def _assign(session: Session, principal: Principal, sensor: SecmonSensor, version: SecmonRulesetVersion) -> None:
    sensor.ruleset_version_id = version.id
    session.add(sensor)
    audit.record(session, principal, "secmon:ruleset:import", object_type="secmon_sensor", object_id=sensor.id,
                 state={"sensor": sensor.name, "ruleset_version_id": version.id}, details={"assigned": True})


def ruleset_versions(session: Session, principal: Principal) -> list[dict]:
    authorize(principal, "secmon:ruleset:read")
    rows = session.execute(select(SecmonRulesetVersion).order_by(SecmonRulesetVersion.imported_at.desc())).scalars()
    return [{"id": v.id, "name": v.name, "content_hash": v.content_hash, "imported_at": v.imported_at,
             "imported_by": v.imported_by, "rules": v.rule_count, "enabled": v.enabled_count,
             "errors": v.error_count} for v in rows]
