"""Responses by approval only: an analyst proposes block-list entries (IP/CIDR with expiry), rule changes
(enable / disable / drop / modify for the policy files) and suppress/threshold entries (``threshold.config``);
a second person with the approving role approves or rejects (never the proposer). Approved entries become
active: the block list exports (plain text, Suricata iprep) and the next rule build include them, each line
saying which approval put it there; expired entries leave by themselves (:func:`responses_expire`)."""

from __future__ import annotations

import re
import shlex
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

import audit
from kernel import Conflict, NotAuthorized, NotFound, Principal, ValidationFailed, authorize, new_id, utcnow
from kernel.db import Session
from secmon.models import SecmonBlockEntry, SecmonResponse, SecmonRuleChange, SecmonSuppression
from secmon.netaddr import AddressError, parse_net
from secmon.policy_files import parse_matcher
from secmon.response_build import approved_build_lines, policy_line, threshold_line

#: Suricata IP reputation categories (id, short name, description) used by the iprep export
IPREP_CATEGORIES = {
    "BadHosts": (1, "Known bad hosts"),
    "Scanner": (2, "Scanners and brute forcers"),
    "Bot": (3, "Botnet members / C2"),
    "Malware": (4, "Malware distribution"),
    "Compromised": (5, "Compromised hosts"),
    "Spam": (6, "Spam sources"),
}
RULE_ACTIONS = ("enable", "disable", "drop", "modify")
SUPPRESS_KINDS = ("suppress", "threshold", "event_filter")
TRACKS = ("by_src", "by_dst", "by_rule", "by_either", "by_both")
MAX_ITEMS = 1000
MAX_TTL = timedelta(days=366)


def _e(field: str, msg: str) -> dict:
    return {"field": field, "message": msg}


def _time(value, field: str, errors: list, now: datetime) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        dt = value
    else:
        try:
            dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            errors.append(_e(field, "an ISO 8601 time"))
            return None
    dt = dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
    if dt <= now:
        errors.append(_e(field, f"already expired ({dt.isoformat()} is not in the future)"))
    elif dt - now > MAX_TTL:
        errors.append(_e(field, "at most 366 days ahead"))
    return dt


def _utc(dt):
    return None if dt is None else (dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt)


def response_dict(session: Session, r: SecmonResponse) -> dict:
    blocks = session.execute(select(SecmonBlockEntry).where(SecmonBlockEntry.response_id == r.id)
                             .order_by(SecmonBlockEntry.cidr)).scalars().all()
    changes = session.execute(select(SecmonRuleChange).where(SecmonRuleChange.response_id == r.id)
                              .order_by(SecmonRuleChange.id)).scalars().all()
    sups = session.execute(select(SecmonSuppression).where(SecmonSuppression.response_id == r.id)
                           .order_by(SecmonSuppression.id)).scalars().all()

    def t(dt):
        dt = _utc(dt)
        return dt.isoformat() if dt else None

    return {"id": r.id, "state": r.state, "title": r.title, "reason": r.reason, "incident_id": r.incident_id,
            "alert": f"{r.alert_source_id}:{r.alert_line_offset}" if r.alert_source_id is not None else None,
            "proposed_by": r.proposed_by, "proposed_at": t(r.proposed_at), "decided_by": r.decided_by,
            "decided_at": t(r.decided_at), "decision_note": r.decision_note,
            "blocks": [{"id": b.id, "cidr": b.cidr, "category": b.category, "reputation": b.reputation,
                        "state": b.state, "expires_at": t(b.expires_at)} for b in blocks],
            "rule_changes": [{"id": c.id, "action": c.action, "selector": c.selector, "from": c.modify_from,
                              "to": c.modify_to, "state": c.state, "expires_at": t(c.expires_at),
                              "line": policy_line(c), "applied_version_id": c.applied_version_id} for c in changes],
            "suppressions": [{"id": s.id, "kind": s.kind, "gid": s.gid, "sid": s.sid, "track": s.track, "ip": s.ip,
                              "type": s.threshold_type, "count": s.count, "seconds": s.seconds, "state": s.state,
                              "expires_at": t(s.expires_at), "line": threshold_line(s),
                              "applied_version_id": s.applied_version_id} for s in sups]}


def response_propose(session: Session, principal: Principal, *, title: str, reason: str | None = None,
                     incident_id: str | None = None, alert: str | None = None, blocks: list | None = None,
                     rule_changes: list | None = None, suppressions: list | None = None) -> dict:
    """Propose a response; every item is validated first (nothing is stored when any is invalid)."""
    authorize(principal, "secmon:response:propose")
    now = utcnow()
    errors: list[dict] = []
    title = (title or "").strip()
    if not title or len(title) > 300:
        errors.append(_e("title", "1-300 characters"))
    blocks, rule_changes, suppressions = blocks or [], rule_changes or [], suppressions or []
    for name, v in (("blocks", blocks), ("rule_changes", rule_changes), ("suppressions", suppressions)):
        if not isinstance(v, list) or not all(isinstance(x, dict) for x in v):
            raise ValidationFailed(f"{name} must be a list of objects", errors=[_e(name, "a list of objects")])
    if not (blocks or rule_changes or suppressions):
        errors.append(_e("items", "propose at least one block, rule change or suppression"))
    if len(blocks) + len(rule_changes) + len(suppressions) > MAX_ITEMS:
        errors.append(_e("items", f"at most {MAX_ITEMS} items"))
    if incident_id:
        from secmon.models import SecmonIncident

        if session.get(SecmonIncident, incident_id) is None:
            raise NotFound(f"no incident {incident_id!r}")
    src_off = line_off = None
    if alert:
        try:
            s, o = str(alert).split(":")
            src_off, line_off = int(s), int(o)
        except ValueError:
            errors.append(_e("alert", "an event reference source_id:line_offset"))
    block_rows, change_rows, sup_rows = [], [], []
    for i, b in enumerate(blocks):
        f = f"blocks[{i}]"
        try:
            net = parse_net(b.get("cidr"))
        except AddressError as exc:
            errors.append(_e(f + ".cidr", str(exc)))
            net = None
        cat = b.get("category", "BadHosts")
        if cat not in IPREP_CATEGORIES:
            errors.append(_e(f + ".category", f"one of {', '.join(IPREP_CATEGORIES)}"))
        rep = b.get("reputation", 100)
        if not isinstance(rep, int) or not 1 <= rep <= 127:
            errors.append(_e(f + ".reputation", "an integer 1..127"))
        exp = _time(b.get("expires_at"), f + ".expires_at", errors, now)
        if exp is None and "expires_at" not in b:
            ttl = b.get("ttl_hours")
            if not isinstance(ttl, int) or not 1 <= ttl <= 24 * 366:
                errors.append(_e(f + ".expires_at", "a block needs expires_at or ttl_hours (1..8784)"))
            else:
                exp = now + timedelta(hours=ttl)
        if net is not None and exp is not None:
            block_rows.append(SecmonBlockEntry(id=new_id(), response_id="", cidr=net.cidr, ip_version=net.version,
                                               range_start=net.start_hex, range_end=net.end_hex, category=cat,
                                               reputation=rep if isinstance(rep, int) else 100, state="pending",
                                               expires_at=exp))
    for i, c in enumerate(rule_changes):
        f = f"rule_changes[{i}]"
        action = c.get("action")
        if action not in RULE_ACTIONS:
            errors.append(_e(f + ".action", "|".join(RULE_ACTIONS)))
            continue
        sel = str(c.get("selector") or "").strip()
        if not sel or len(sel) > 300 or "\n" in sel or parse_matcher(sel) is None:
            errors.append(_e(f + ".selector", "a suricata-update selector: sid, gid:sid, re:…, group:…, metadata:…"))
            continue
        frm = to = None
        if action == "modify":
            frm, to = c.get("from"), c.get("to")
            if not isinstance(frm, str) or not isinstance(to, str) or not frm or "\n" in frm + to:
                errors.append(_e(f, "modify needs 'from' (a regex) and 'to' strings"))
                continue
            try:
                re.compile(frm)
                shlex.split(f"{sel} {shlex.quote(frm)} {shlex.quote(to)}")
            except (re.error, ValueError) as exc:
                errors.append(_e(f + ".from", f"bad regex: {exc}"))
                continue
        exp = _time(c.get("expires_at"), f + ".expires_at", errors, now)
        change_rows.append(SecmonRuleChange(id=new_id(), response_id="", action=action, selector=sel,
                                            modify_from=frm, modify_to=to, state="pending", expires_at=exp))
    for i, s in enumerate(suppressions):
        f = f"suppressions[{i}]"
        kind = s.get("kind", "suppress")
        if kind not in SUPPRESS_KINDS:
            errors.append(_e(f + ".kind", "|".join(SUPPRESS_KINDS)))
            continue
        gid, sid = s.get("gid", 1), s.get("sid")
        if not isinstance(gid, int) or gid < 0 or not isinstance(sid, int) or sid < 1:
            errors.append(_e(f + ".sid", "gid >= 0 and sid >= 1 (integers)"))
            continue
        track, ip = s.get("track"), s.get("ip")
        ttype = count = seconds = None
        if kind == "suppress":
            if (track is None) != (ip is None):
                errors.append(_e(f, "suppress takes both track and ip, or neither"))
                continue
            if track is not None:
                if track not in ("by_src", "by_dst", "by_either"):
                    errors.append(_e(f + ".track", "by_src|by_dst|by_either"))
                    continue
                try:
                    ip = parse_net(ip).cidr
                except AddressError as exc:
                    errors.append(_e(f + ".ip", str(exc)))
                    continue
        else:
            ttype, count, seconds = s.get("type"), s.get("count"), s.get("seconds")
            if ttype not in ("limit", "threshold", "both") or track not in TRACKS or not isinstance(count, int) \
                    or count < 1 or not isinstance(seconds, int) or seconds < 1:
                errors.append(_e(f, "threshold/event_filter need type limit|threshold|both, track, count >= 1, "
                                    "seconds >= 1"))
                continue
            ip = None
        exp = _time(s.get("expires_at"), f + ".expires_at", errors, now)
        sup_rows.append(SecmonSuppression(id=new_id(), response_id="", kind=kind, gid=gid, sid=sid, track=track, ip=ip,
                                          threshold_type=ttype, count=count, seconds=seconds, state="pending",
                                          expires_at=exp))
    if errors:
        raise ValidationFailed(f"{len(errors)} invalid field(s); nothing proposed", errors=errors)
    r = SecmonResponse(id=new_id(), state="proposed", title=title, reason=(reason or None) and reason[:20000],
                       incident_id=incident_id or None, alert_source_id=src_off, alert_line_offset=line_off,
                       proposed_by=principal.actor, proposed_at=now)
    session.add(r)
    for row in block_rows + change_rows + sup_rows:
        row.response_id = r.id
        session.add(row)
    session.flush()
    d = response_dict(session, r)
    audit.record(session, principal, "secmon:response:propose", object_type="secmon_response", object_id=r.id,
                 state={"state": "proposed", "blocks": len(block_rows), "rule_changes": len(change_rows),
                        "suppressions": len(sup_rows)}, details={"title": title, "incident": incident_id})
    session.commit()
    return d


def _get(session: Session, response_id: str) -> SecmonResponse:
    r = session.get(SecmonResponse, response_id) if response_id else None
    if r is None:
        raise NotFound(f"no response {response_id!r}")
    return r


def _items(session: Session, r: SecmonResponse):
    for model in (SecmonBlockEntry, SecmonRuleChange, SecmonSuppression):
        yield from session.execute(select(model).where(model.response_id == r.id)).scalars()


def response_decide(session: Session, principal: Principal, response_id: str, *, approve: bool,
                    note: str | None = None, now: datetime | None = None) -> dict:
    """Approve or reject a proposed response. The two-person rule: the proposer can never decide it."""
    r = _get(session, response_id)
    if r.proposed_by == principal.actor:
        raise NotAuthorized("two-person rule: a response cannot be approved or rejected by its proposer")
    authorize(principal, "secmon:response:approve", r)
    if r.state != "proposed":
        raise Conflict(f"response is {r.state}, not proposed")
    now = now or utcnow()
    items = list(_items(session, r))
    if approve:
        expired = [i for i in items if i.expires_at is not None and _utc(i.expires_at) <= now]
        if expired:
            raise Conflict(f"{len(expired)} entr{'y has' if len(expired) == 1 else 'ies have'} expired since the "
                           "proposal; propose again with new expiry times")
    r.state = "approved" if approve else "rejected"
    r.decided_by, r.decided_at = principal.actor, now
    r.decision_note = (note or None) and note[:20000]
    for i in items:
        i.state = "active" if approve else "rejected"
        if approve and isinstance(i, SecmonBlockEntry):
            i.activated_at = now
        session.add(i)
    session.add(r)
    audit.record(session, principal, "secmon:response:approve", object_type="secmon_response", object_id=r.id,
                 state={"state": r.state, "decided_by": r.decided_by},
                 details={"proposed_by": r.proposed_by, "note": note, "items": len(items)})
    session.commit()
    return response_dict(session, r)


def response_withdraw(session: Session, principal: Principal, response_id: str) -> dict:
    r = _get(session, response_id)
    authorize(principal, "secmon:response:propose", r)
    if r.proposed_by != principal.actor:
        raise NotAuthorized("only the proposer may withdraw a response")
    if r.state != "proposed":
        raise Conflict(f"response is {r.state}, not proposed")
    r.state = "withdrawn"
    for i in _items(session, r):
        i.state = "rejected"
        session.add(i)
    session.add(r)
    audit.record(session, principal, "secmon:response:propose", object_type="secmon_response", object_id=r.id,
                 state={"state": "withdrawn"}, details={"op": "withdraw"})
    session.commit()
    return response_dict(session, r)


def response_list(session: Session, principal: Principal, *, state: str | None = None, limit: int = 100,
                  offset: int = 0) -> list[dict]:
    authorize(principal, "secmon:response:read")
    q = select(SecmonResponse).order_by(SecmonResponse.proposed_at.desc(), SecmonResponse.id)
    if state:
        q = q.where(SecmonResponse.state == state)
    rows = session.execute(q.limit(max(1, min(limit, 500))).offset(max(0, offset))).scalars().all()
    return [response_dict(session, r) for r in rows]


def response_get(session: Session, principal: Principal, response_id: str) -> dict:
    r = _get(session, response_id)
    authorize(principal, "secmon:response:read", r)
    return response_dict(session, r)


def responses_expire(session: Session, principal: Principal, *, now: datetime | None = None) -> dict:
    """Expire active entries whose time has come (scheduler job); a response whose entries all left is
    ``expired``. Audited."""
    authorize(principal, "secmon:response:approve")
    now = now or utcnow()
    touched: dict[str, int] = {}
    for model in (SecmonBlockEntry, SecmonRuleChange, SecmonSuppression):
        for i in session.execute(select(model).where(model.state == "active", model.expires_at.is_not(None),
                                                     model.expires_at <= now)).scalars():
            i.state = "expired"
            if isinstance(i, SecmonBlockEntry):
                i.removed_at = now
            session.add(i)
            touched[i.response_id] = touched.get(i.response_id, 0) + 1
    session.flush()
    for rid, n in sorted(touched.items()):
        r = session.get(SecmonResponse, rid)
        if all(i.state != "active" for i in _items(session, r)):
            r.state = "expired"
            session.add(r)
        audit.record(session, principal, "secmon:response:approve", object_type="secmon_response", object_id=rid,
                     state={"state": r.state, "expired_entries": n}, details={"op": "expire"})
    session.commit()
    return {"expired_entries": sum(touched.values()), "responses": sorted(touched)}


# ------------------------------------------------------------------------------------------ exports


def _active_blocks(session: Session, now: datetime):
    return session.execute(
        select(SecmonBlockEntry, SecmonResponse).join(SecmonResponse, SecmonResponse.id == SecmonBlockEntry.response_id)
        .where(SecmonBlockEntry.state == "active", SecmonBlockEntry.expires_at > now)
        .order_by(SecmonBlockEntry.range_start, SecmonBlockEntry.cidr)).all()


def blocklist_export(session: Session, principal: Principal, *, fmt: str = "text",
                     now: datetime | None = None) -> dict[str, str]:
    """The active block list: ``text`` (one CIDR per line, with the approval behind it as a comment) or
    ``iprep`` (Suricata IP reputation: ``categories.txt`` and ``reputation.list``)."""
    authorize(principal, "secmon:response:read")
    now = now or utcnow()
    rows = _active_blocks(session, now)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    if fmt == "text":
        out = [f"# citygov secmon block list, {len(rows)} entries, generated {stamp}"]
        for b, r in rows:
            out.append(f"{b.cidr}\t# response {r.id} approved by {r.decided_by} at "
                       f"{_utc(r.decided_at):%Y-%m-%dT%H:%M:%SZ}, expires {_utc(b.expires_at):%Y-%m-%dT%H:%M:%SZ}")
        return {"blocklist.txt": "\n".join(out) + "\n"}
    if fmt == "iprep":
        cats = "".join(f"{cid},{name},{desc}\n" for name, (cid, desc) in
                       sorted(IPREP_CATEGORIES.items(), key=lambda kv: kv[1][0]))
        rep = [f"# citygov secmon IP reputation, generated {stamp}"]
        for b, r in rows:
            rep.append(f"# response {r.id} approved by {r.decided_by}, expires {_utc(b.expires_at):%Y-%m-%dT%H:%M:%SZ}")
            rep.append(f"{b.cidr},{IPREP_CATEGORIES[b.category][0]},{b.reputation}")
        return {"categories.txt": cats, "reputation.list": "\n".join(rep) + "\n"}
    raise ValidationFailed(f"unknown format {fmt!r}", errors=[_e("format", "text|iprep")])


def build_exports(session: Session, principal: Principal, *, base_thresholds: str = "") -> dict[str, str]:
    """The approved rule changes and threshold entries as policy files / threshold.config (appended to the
    files' own ``base_thresholds``), each line preceded by the approval behind it."""
    authorize(principal, "secmon:response:read")
    approved = approved_build_lines(session)
    files = approved.policy_files()
    th = approved.threshold_config()
    if th or base_thresholds:
        files["threshold.config"] = base_thresholds + ("\n" if base_thresholds and not base_thresholds.endswith("\n")
                                                       else "") + th
    return files
