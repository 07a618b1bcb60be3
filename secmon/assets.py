"""Asset inventory: information systems (owner organisation, registry project, MLPS level, criticality) and
their networks/hosts; import from CSV/XLSX/JSON (all rows or none, errors per row); longest-prefix resolution;
the shadow-IT report (addresses seen in EVE that no asset covers)."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass

from sqlalchemy import column, func, or_, select, table, union_all

import audit
from kernel import Conflict, NotFound, Principal, ValidationFailed, authorize, new_id, utcnow
from kernel.db import Session
from secmon.models import LEVELS, SecmonAssetNetwork, SecmonEvent, SecmonSystem
from secmon.netaddr import AddressError, PrefixTable, parse_net

_ORG = table("portal_organisation", column("id"), column("code"), column("name"))
_PROJECT = table("registry_project", column("id"))

IMPORT_COLUMNS = ("system", "org", "mlps_level", "criticality", "project_id", "cidr", "hostname", "description")
MAX_IMPORT_ROWS = 50000


@dataclass(frozen=True)
class AssetInfo:
    system_id: str
    system: str
    org_id: str
    mlps_level: int
    criticality: str
    cidr: str


def _err(field: str, message: str, row: int | None = None) -> dict:
    e = {"field": field, "message": message}
    if row is not None:
        e["row"] = row
    return e


def resolve_org(session: Session, value: str | None) -> str | None:
    """An organisation id from its id or code; None when unknown."""
    if not value:
        return None
    return session.execute(select(_ORG.c.id).where(or_(_ORG.c.id == value, _ORG.c.code == value))).scalar()


def _check_system_fields(session: Session, *, org: str | None, mlps_level, criticality, project_id,
                         row: int | None = None) -> tuple[list[dict], dict]:
    errors: list[dict] = []
    out: dict = {}
    org_id = resolve_org(session, str(org).strip()) if org not in (None, "") else None
    if org_id is None:
        errors.append(_err("org", f"unknown organisation {org!r} (an organisation id or code)", row))
    out["org_id"] = org_id
    if isinstance(mlps_level, float) and mlps_level.is_integer():
        mlps_level = int(mlps_level)  # JSON's 4.0 is the integer 4
    try:
        level = int(str(mlps_level).strip())
    except (TypeError, ValueError):
        level = None
    if level not in (1, 2, 3, 4):
        errors.append(_err("mlps_level", f"MLPS level must be 1..4, got {mlps_level!r}", row))
    out["mlps_level"] = level
    crit = str(criticality or "").strip().lower()
    if crit not in LEVELS:
        errors.append(_err("criticality", f"criticality must be one of {', '.join(LEVELS)}, got {criticality!r}", row))
    out["criticality"] = crit
    pid = str(project_id).strip() if project_id not in (None, "") else None
    if pid is not None and session.execute(select(_PROJECT.c.id).where(_PROJECT.c.id == pid)).scalar() is None:
        errors.append(_err("project_id", f"no registry project {pid!r}", row))
    out["project_id"] = pid
    return errors, out


def _system_dict(s: SecmonSystem, nets: list[SecmonAssetNetwork] | None = None) -> dict:
    d = {"id": s.id, "name": s.name, "description": s.description, "org_id": s.org_id, "project_id": s.project_id,
         "mlps_level": s.mlps_level, "criticality": s.criticality, "created_at": s.created_at.isoformat(),
         "updated_at": s.updated_at.isoformat()}
    if nets is not None:
        d["networks"] = [_net_dict(n) for n in nets]
    return d


def _net_dict(n: SecmonAssetNetwork) -> dict:
    return {"id": n.id, "cidr": n.cidr, "kind": n.kind, "ip_version": n.ip_version, "hostname": n.hostname,
            "description": n.description, "system_id": n.system_id}


def _get_system(session: Session, ref: str) -> SecmonSystem:
    s = session.get(SecmonSystem, ref) or session.execute(
        select(SecmonSystem).where(SecmonSystem.name == ref)).scalars().first()
    if s is None:
        raise NotFound(f"no information system {ref!r}")
    return s


def system_create(session: Session, principal: Principal, *, name: str, org: str, mlps_level: int,
                  criticality: str, project_id: str | None = None, description: str | None = None) -> dict:
    authorize(principal, "secmon:asset:manage")
    errors, f = _check_system_fields(session, org=org, mlps_level=mlps_level, criticality=criticality,
                                     project_id=project_id)
    name = (name or "").strip()
    if not name or len(name) > 200:
        errors.append(_err("name", "1-200 characters"))
    if errors:
        raise ValidationFailed("invalid information system", errors=errors)
    if session.execute(select(SecmonSystem.id).where(SecmonSystem.name == name)).scalar() is not None:
        raise Conflict(f"an information system named {name!r} exists")
    now = utcnow()
    s = SecmonSystem(id=new_id(), name=name, description=description, created_at=now, updated_at=now, **f)
    session.add(s)
    session.flush()
    audit.record(session, principal, "secmon:asset:manage", object_type="secmon_system", object_id=s.id,
                 state=_system_dict(s), details={"op": "create"})
    session.commit()
    return _system_dict(s, [])


def system_update(session: Session, principal: Principal, ref: str, **changes) -> dict:
    authorize(principal, "secmon:asset:manage")
    s = _get_system(session, ref)
    allowed = {"org", "mlps_level", "criticality", "project_id", "description"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationFailed("unknown fields", errors=[_err(k, "not editable") for k in sorted(unknown)])
    errors, f = _check_system_fields(
        session, org=changes.get("org", s.org_id), mlps_level=changes.get("mlps_level", s.mlps_level),
        criticality=changes.get("criticality", s.criticality), project_id=changes.get("project_id", s.project_id))
    if errors:
        raise ValidationFailed("invalid information system", errors=errors)
    for k, v in f.items():
        setattr(s, k, v)
    if "description" in changes:
        s.description = changes["description"]
    s.updated_at = utcnow()
    session.add(s)
    audit.record(session, principal, "secmon:asset:manage", object_type="secmon_system", object_id=s.id,
                 state=_system_dict(s), details={"op": "update", "fields": sorted(changes)})
    session.commit()
    return _system_dict(s)


def _new_network(system_id: str, net, hostname, description) -> SecmonAssetNetwork:
    return SecmonAssetNetwork(id=new_id(), system_id=system_id, cidr=net.cidr, kind="host" if net.is_host else "network",
                              ip_version=net.version, prefix_len=net.prefix128, range_start=net.start_hex,
                              range_end=net.end_hex, hostname=hostname or None, description=description or None,
                              created_at=utcnow())


def network_add(session: Session, principal: Principal, *, system: str, cidr: str, hostname: str | None = None,
                description: str | None = None) -> dict:
    """Add a network or host to a system. Nested networks are allowed (the longest prefix wins); the same
    network twice (in any system) is a conflict."""
    authorize(principal, "secmon:asset:manage")
    s = _get_system(session, system)
    try:
        net = parse_net(cidr)
    except AddressError as exc:
        raise ValidationFailed(str(exc), errors=[_err("cidr", str(exc))]) from None
    other = session.execute(select(SecmonAssetNetwork).where(SecmonAssetNetwork.cidr == net.cidr)).scalars().first()
    if other is not None:
        owner = session.get(SecmonSystem, other.system_id)
        raise Conflict(f"network {net.cidr} overlaps an identical network of system {owner.name if owner else '?'!r}")
    n = _new_network(s.id, net, hostname, description)
    session.add(n)
    session.flush()
    audit.record(session, principal, "secmon:asset:manage", object_type="secmon_asset_network", object_id=n.id,
                 state=_net_dict(n), details={"op": "add", "system": s.name})
    session.commit()
    return _net_dict(n)


def network_remove(session: Session, principal: Principal, cidr: str) -> dict:
    authorize(principal, "secmon:asset:manage")
    try:
        norm = parse_net(cidr).cidr
    except AddressError as exc:
        raise ValidationFailed(str(exc), errors=[_err("cidr", str(exc))]) from None
    n = session.execute(select(SecmonAssetNetwork).where(SecmonAssetNetwork.cidr == norm)).scalars().first()
    if n is None:
        raise NotFound(f"no asset network {norm}")
    d = _net_dict(n)
    session.delete(n)
    audit.record(session, principal, "secmon:asset:manage", object_type="secmon_asset_network", object_id=n.id,
                 state={"removed": True} | d, details={"op": "remove"})
    session.commit()
    return d


def asset_list(session: Session, principal: Principal) -> list[dict]:
    """Systems with their networks; a department sees its own organisation's systems only."""
    authorize(principal, "secmon:asset:read")
    q = select(SecmonSystem).order_by(SecmonSystem.name)
    from kernel import Role

    if not principal.is_system and not principal.has_role(Role.SECURITY_ANALYST, Role.COMMISSION_ADMIN):
        q = q.where(SecmonSystem.org_id == (principal.org_id or ""))
    systems = session.execute(q).scalars().all()
    nets: dict[str, list] = {}
    if systems:
        for n in session.execute(select(SecmonAssetNetwork).where(
                SecmonAssetNetwork.system_id.in_([s.id for s in systems])).order_by(SecmonAssetNetwork.cidr)).scalars():
            nets.setdefault(n.system_id, []).append(n)
    return [_system_dict(s, nets.get(s.id, [])) for s in systems]


# ------------------------------------------------------------------------------------------ import


def _rows_from(data: bytes, fmt: str) -> list[dict]:
    if fmt == "json":
        try:
            doc = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValidationFailed(f"not JSON: {exc}", errors=[_err("file", "not JSON")]) from None
        if isinstance(doc, dict):
            doc = doc.get("assets")
        if not isinstance(doc, list) or not all(isinstance(r, dict) for r in doc):
            raise ValidationFailed("JSON must be a list of objects (or {\"assets\": [...]})",
                                   errors=[_err("file", "a list of objects")])
        return doc
    if fmt == "csv":
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationFailed("CSV must be UTF-8", errors=[_err("file", "not UTF-8")]) from None
        return list(csv.DictReader(io.StringIO(text)))
    if fmt == "xlsx":
        from openpyxl import load_workbook

        try:
            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for a damaged workbook
            raise ValidationFailed(f"not an XLSX workbook: {type(exc).__name__}",
                                   errors=[_err("file", "not an XLSX workbook")]) from None
        rows = list(wb.worksheets[0].iter_rows(values_only=True))
        if not rows:
            return []
        head = [str(h or "").strip() for h in rows[0]]
        return [{h: ("" if v is None else v) for h, v in zip(head, r)} for r in rows[1:]
                if any(v not in (None, "") for v in r)]
    raise ValidationFailed(f"unknown format {fmt!r}", errors=[_err("format", "csv|xlsx|json")])


def assets_import(session: Session, principal: Principal, data: bytes, *, fmt: str) -> dict:
    """Import systems and their networks: one row per network (``system, org, mlps_level, criticality,
    project_id, cidr, hostname, description``). Every row is checked first; any error → nothing is written and
    every error is reported with its row number (1 = first data row)."""
    authorize(principal, "secmon:asset:manage")
    rows = _rows_from(data, fmt)
    if len(rows) > MAX_IMPORT_ROWS:
        raise ValidationFailed(f"at most {MAX_IMPORT_ROWS} rows", errors=[_err("file", "too many rows")])
    if not rows:
        raise ValidationFailed("no rows", errors=[_err("file", "no data rows")])
    missing = [c for c in ("system", "org", "mlps_level", "criticality", "cidr") if c not in rows[0]]
    if missing:
        raise ValidationFailed(f"missing columns: {', '.join(missing)}",
                               errors=[_err(c, "missing column") for c in missing])
    errors: list[dict] = []
    systems: dict[str, dict] = {}
    existing = {s.name: s for s in session.execute(select(SecmonSystem)).scalars()}
    taken = dict(session.execute(select(SecmonAssetNetwork.cidr, SecmonAssetNetwork.system_id)).all())
    seen_cidr: dict[str, int] = {}
    nets: list[tuple[str, object, str, str]] = []
    for i, r in enumerate(rows, 1):
        name = str(r.get("system") or "").strip()
        if not name or len(name) > 200:
            errors.append(_err("system", "a system name of 1-200 characters", i))
            continue
        errs, f = _check_system_fields(session, org=r.get("org"), mlps_level=r.get("mlps_level"),
                                       criticality=r.get("criticality"), project_id=r.get("project_id"), row=i)
        errors.extend(errs)
        if not errs:
            prev = systems.get(name) or ({"org_id": existing[name].org_id, "mlps_level": existing[name].mlps_level,
                                          "criticality": existing[name].criticality,
                                          "project_id": existing[name].project_id} if name in existing else None)
            if prev is not None and any(prev[k] != f[k] for k in ("org_id", "mlps_level", "criticality")):
                errors.append(_err("system", f"system {name!r} has other attributes elsewhere (organisation, MLPS "
                                             "level or criticality differ)", i))
            systems.setdefault(name, f)
        try:
            net = parse_net(str(r.get("cidr") or ""))
        except AddressError as exc:
            errors.append(_err("cidr", str(exc), i))
            continue
        if net.cidr in seen_cidr:
            errors.append(_err("cidr", f"{net.cidr} overlaps row {seen_cidr[net.cidr]} (the same network twice)", i))
            continue
        if net.cidr in taken:
            errors.append(_err("cidr", f"{net.cidr} overlaps an identical network already in the inventory", i))
            continue
        seen_cidr[net.cidr] = i
        nets.append((name, net, str(r.get("hostname") or ""), str(r.get("description") or "")))
    if errors:
        raise ValidationFailed(f"{len(errors)} error(s) in {len(rows)} rows; nothing imported", errors=errors)
    now = utcnow()
    ids: dict[str, str] = {n: s.id for n, s in existing.items()}
    created = 0
    for name, f in systems.items():
        if name not in ids:
            s = SecmonSystem(id=new_id(), name=name, created_at=now, updated_at=now, **f)
            session.add(s)
            ids[name] = s.id
            created += 1
    session.flush()
    for name, net, host, desc in nets:
        session.add(_new_network(ids[name], net, host, desc))
    session.flush()
    result = {"rows": len(rows), "systems_created": created, "networks_added": len(nets)}
    audit.record(session, principal, "secmon:asset:manage", object_type="secmon_system", object_id="import",
                 state=result, details={"format": fmt, "systems": sorted(systems)})
    session.commit()
    return result


# ------------------------------------------------------------------------------------------ resolution


def load_resolver(session: Session) -> PrefixTable:
    """Every asset network in a longest-prefix table → :class:`AssetInfo`."""
    t = PrefixTable()
    q = select(SecmonAssetNetwork.cidr, SecmonSystem.id, SecmonSystem.name, SecmonSystem.org_id,
               SecmonSystem.mlps_level, SecmonSystem.criticality).join(
        SecmonSystem, SecmonSystem.id == SecmonAssetNetwork.system_id)
    for cidr, sid, name, org, level, crit in session.execute(q):
        t.add(parse_net(cidr), AssetInfo(sid, name, org, level, crit, cidr))
    return t


def asset_resolve(session: Session, principal: Principal, address: str) -> dict:
    authorize(principal, "secmon:asset:read")
    from secmon.netaddr import addr_int

    if addr_int(address) is None:
        raise ValidationFailed(f"not an IP address: {address!r}", errors=[_err("address", "an IPv4/IPv6 address")])
    hit = load_resolver(session).lookup(address)
    if hit is None:
        return {"address": address, "asset": None}
    return {"address": address, "asset": {"system_id": hit.system_id, "system": hit.system, "org_id": hit.org_id,
                                          "mlps_level": hit.mlps_level, "criticality": hit.criticality,
                                          "cidr": hit.cidr}}


def _internal(ip: str) -> bool:
    import ipaddress

    try:
        a = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return a.is_private and not (a.is_loopback or a.is_link_local or a.is_multicast or a.is_unspecified)


def shadow_it(session: Session, principal: Principal, *, limit: int = 100, internal_only: bool = True) -> list[dict]:
    """Addresses seen in EVE (as source or destination) that no asset covers, by event volume; by default only
    internal (private / unique-local) addresses — the city's own unregistered hosts, not the internet. City-wide,
    so for the analysts and the commission only."""
    authorize(principal, "secmon:shadow_it:read")
    limit = max(1, min(int(limit), 10000))
    u = union_all(select(SecmonEvent.src_ip.label("ip")).where(SecmonEvent.src_ip.is_not(None)),
                  select(SecmonEvent.dest_ip.label("ip")).where(SecmonEvent.dest_ip.is_not(None))).subquery()
    n = func.count().label("n")
    resolver = load_resolver(session)
    out = []
    for ip, count in session.execute(select(u.c.ip, n).group_by(u.c.ip).order_by(n.desc(), u.c.ip)):
        if internal_only and not _internal(ip):
            continue
        if resolver.lookup(ip) is None:
            out.append({"address": ip, "events": count})
            if len(out) >= limit:
                break
    return out
