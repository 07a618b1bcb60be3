"""Event search over every stored EVE event: IP (or CIDR), (destination) port, protocol, sid, signature text, flow_id,
community_id, DNS rrname, HTTP host, TLS SNI, sensor, event type and time range; newest first, paginated
(offset + ``has_more``). Built with SQLAlchemy expressions (bound parameters); each filter uses an index
of migrations secmon_0003/0004 where the column is selective. A CIDR is one interface with a per-dialect plan:
PostgreSQL tests containment (``<<=``) on GiST ``inet`` indexes; SQLite probes the address indexes with the
network's addresses (up to MAX_ENUMERATE) or the stored distinct addresses inside it."""

from __future__ import annotations

import ipaddress
from datetime import UTC

import orjson
from sqlalchemy import and_, func, literal, or_, select
from sqlalchemy.dialects.postgresql import CIDR

from kernel import NotFound, Principal, ValidationFailed, authorize
from kernel.db import Session, dialect_name
from secmon.models import SecmonAlert, SecmonEvent, SecmonHttp, SecmonSensor, SecmonTls
from secmon.monitoring import parse_time

MAX_ENUMERATE = 4096  # a CIDR up to this many addresses is searched as a list of addresses
# PostgreSQL: a network at least this wide (prefix ≤ /8, IPv6 ≤ /32) is "dense": its matches are everywhere, so
# walking the time index newest first finds a page at once; a narrower one is read from the GiST indexes first
# and then sorted (its matches may all be old, and a time-ordered walk would filter the whole table to find them)
DENSE_PREFIX = {4: 8, 6: 32}
FIELDS = ("ip", "port", "src_port", "proto", "sid", "signature", "flow_id", "community_id", "rrname", "http_host", "tls_sni",
          "sensor", "event_type", "since", "until")


def _bad(field: str, msg: str) -> ValidationFailed:
    return ValidationFailed(f"{field}: {msg}", errors=[{"field": field, "message": msg}])


def _int(value, field: str, lo: int, hi: int) -> int | None:
    if value in (None, ""):
        return None
    try:
        v = int(value)
    except (TypeError, ValueError):
        raise _bad(field, f"an integer {lo}..{hi}") from None
    if not lo <= v <= hi:
        raise _bad(field, f"an integer {lo}..{hi}")
    return v


def _ip_condition(session: Session, value: str):
    """(condition, read-by-address-first): the second is True where the time-ordered plan must not be used."""
    text = value.strip()
    if "/" not in text:
        try:
            a = str(ipaddress.ip_address(text))
        except ValueError:
            raise _bad("ip", f"not an IP address or CIDR: {value!r}") from None
        return or_(SecmonEvent.src_ip == a, SecmonEvent.dest_ip == a), False
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError as exc:
        raise _bad("ip", f"malformed CIDR {value!r}: {exc}") from None
    if dialect_name(session) == "postgresql":  # containment on the inet GiST indexes (migration secmon_0004)
        cidr = literal(str(net), type_=CIDR)
        return or_(func.secmon_inet(SecmonEvent.src_ip).op("<<=", is_comparison=True)(cidr),
                   func.secmon_inet(SecmonEvent.dest_ip).op("<<=", is_comparison=True)(cidr)), \
            net.prefixlen > DENSE_PREFIX[net.version]
    if net.num_addresses <= MAX_ENUMERATE:
        addrs = [str(a) for a in net]
    else:  # the distinct addresses stored (index-only scans), filtered by the network
        seen = set()
        for col in (SecmonEvent.src_ip, SecmonEvent.dest_ip):
            seen.update(v for (v,) in session.execute(select(col).where(col.is_not(None)).distinct()))
        addrs = []
        for v in seen:
            try:
                if ipaddress.ip_address(v) in net:
                    addrs.append(v)
            except ValueError:
                continue
        if not addrs:
            return None, False
    return or_(SecmonEvent.src_ip.in_(addrs), SecmonEvent.dest_ip.in_(addrs)), False


def _summary(event_type: str, raw: str) -> str | None:
    try:
        ev = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    sub = ev.get(event_type) if isinstance(ev, dict) else None
    if not isinstance(sub, dict):
        return None
    if event_type == "alert":
        return sub.get("signature")
    if event_type == "dns":
        q = sub.get("queries")
        if isinstance(q, list) and q and isinstance(q[0], dict):
            return q[0].get("rrname")
        return sub.get("rrname")
    if event_type == "http":
        return f"{sub.get('http_method', '')} {sub.get('hostname', '')}{sub.get('url', '')}".strip()
    if event_type == "tls":
        return sub.get("sni")
    if event_type == "fileinfo":
        return sub.get("filename")
    return None


def event_search(session: Session, principal: Principal, *, ip: str | None = None, port=None, src_port=None,
                 proto: str | None = None,
                 sid=None, signature: str | None = None, flow_id=None, community_id: str | None = None,
                 rrname: str | None = None, http_host: str | None = None, tls_sni: str | None = None,
                 sensor: str | None = None, event_type: str | None = None, since=None, until=None,
                 limit: int = 50, offset: int = 0) -> dict:
    authorize(principal, "secmon:events:read")
    limit = _int(limit, "limit", 1, 500) or 50
    offset = _int(offset, "offset", 0, 10_000_000) or 0
    conds = []
    by_address = False
    if ip:
        c, by_address = _ip_condition(session, ip)
        if c is None:
            return {"items": [], "limit": limit, "offset": offset, "has_more": False}
        conds.append(c)
    p = _int(port, "port", 0, 65535)
    if p is not None:  # the service port: the destination port of the flow (indexed)
        conds.append(SecmonEvent.dest_port == p)
    sp = _int(src_port, "src_port", 0, 65535)
    if sp is not None:  # the client side of the flow (indexed since secmon_0004)
        conds.append(SecmonEvent.src_port == sp)
    if proto:
        conds.append(SecmonEvent.proto == proto.strip().upper())
    fid = _int(flow_id, "flow_id", 0, 2**63 - 1)
    if fid is not None:
        conds.append(SecmonEvent.flow_id == fid)
    if community_id:
        conds.append(SecmonEvent.community_id == community_id.strip())
    if rrname:
        conds.append(SecmonEvent.dns_rrname == rrname.strip().rstrip("."))
    if event_type:
        conds.append(SecmonEvent.event_type == event_type.strip())
    if sensor:
        sid_ = session.execute(select(SecmonSensor.id).where(SecmonSensor.name == sensor)).scalar()
        if sid_ is None:
            raise NotFound(f"no sensor {sensor!r}")
        conds.append(SecmonEvent.sensor_id == sid_)
    t0, t1 = parse_time(since, "since"), parse_time(until, "until")
    if t0 is not None:
        conds.append(SecmonEvent.ts >= t0)
    if t1 is not None:
        conds.append(SecmonEvent.ts < t1)
    s = _int(sid, "sid", 1, 2**40)
    q = select(SecmonEvent.source_id, SecmonEvent.line_offset, SecmonEvent.ts, SecmonEvent.event_type,
               SecmonEvent.src_ip, SecmonEvent.src_port, SecmonEvent.dest_ip, SecmonEvent.dest_port, SecmonEvent.proto,
               SecmonEvent.flow_id, SecmonEvent.community_id, SecmonEvent.sensor_id, SecmonEvent.raw)
    # "+ 0" on the alert side: the alert cannot be probed by key, so the (few) matching alerts drive the plan and
    # each probes its event by primary key (SQLite would otherwise walk every event in time order)
    key = and_(SecmonEvent.source_id == SecmonAlert.source_id + 0, SecmonEvent.line_offset == SecmonAlert.line_offset + 0)
    if s is not None or signature:
        q = q.join(SecmonAlert, key)
        if s is not None:
            conds.append(SecmonAlert.sid == s)
        if signature:
            if len(signature) > 300:
                raise _bad("signature", "at most 300 characters")
            esc = signature.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            conds.append(SecmonAlert.signature.ilike(f"%{esc}%", escape="\\"))
    if http_host:
        q = q.join(SecmonHttp, and_(SecmonEvent.source_id == SecmonHttp.source_id + 0,
                                    SecmonEvent.line_offset == SecmonHttp.line_offset + 0))
        conds.append(SecmonHttp.hostname == http_host.strip())
    if tls_sni:
        q = q.join(SecmonTls, and_(SecmonEvent.source_id == SecmonTls.source_id + 0,
                                   SecmonEvent.line_offset == SecmonTls.line_offset + 0))
        conds.append(SecmonTls.sni == tls_sni.strip())
    if not conds:
        raise _bad("query", "give at least one filter: " + ", ".join(FIELDS))
    if s is not None or signature:
        # alert-driven: order by the alert's own time (same value) so the sid/signature match drives the plan
        q = q.where(*conds).order_by(SecmonAlert.ts.desc(), SecmonAlert.source_id.desc(),
                                     SecmonAlert.line_offset.desc())
    else:
        # same order; as an expression where the GiST indexes must drive the plan (a narrow network on PostgreSQL)
        ts = func.date_trunc("microseconds", SecmonEvent.ts) if by_address else SecmonEvent.ts
        q = q.where(*conds).order_by(ts.desc(), SecmonEvent.source_id.desc(),
                                     SecmonEvent.line_offset.desc())
    rows = session.execute(q.limit(limit + 1).offset(offset)).all()
    names = dict(session.execute(select(SecmonSensor.id, SecmonSensor.name)).all())
    items = []
    for r in rows[:limit]:
        ts = r.ts
        if ts is not None and not isinstance(ts, str):
            ts = (ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts).isoformat()
        items.append({"event": f"{r.source_id}:{r.line_offset}", "ts": ts, "event_type": r.event_type,
                      "src_ip": r.src_ip, "src_port": r.src_port, "dest_ip": r.dest_ip, "dest_port": r.dest_port,
                      "proto": r.proto, "flow_id": r.flow_id, "community_id": r.community_id,
                      "sensor": names.get(r.sensor_id), "summary": _summary(r.event_type, r.raw)})
    return {"items": items, "limit": limit, "offset": offset, "has_more": len(rows) > limit}
