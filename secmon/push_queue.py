"""Pushes accepted now and ingested by the background worker (``Prefer: respond-async``).

A synchronous push is ingested while the sensor waits, in the process that also answers the users' reads: at
500 events a push that is ~70 ms of CPU, and every read that process holds waits behind it. An asynchronous
push is stored whole in ``secmon_push`` and committed before the answer (202: acknowledged is durable); the
background worker claims it, ingests it with the same identity a synchronous push has (its idempotency key,
else the SHA-256 of its body), runs the after-push work (correlation, notifications) and drops the body,
keeping the report. A worker that dies mid-way leaves the push ``running``; after :data:`STALE_SECONDS` it
is claimed again and the ingestion resumes from the source's committed offset, so every event lands exactly
once. A sensor follows its push at ``GET /api/v1/secmon/eve/pushes/{id}``.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any, BinaryIO

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from kernel import NotFound, Principal, authorize, new_id, utcnow
from kernel.clock import as_utc, isoformat
from kernel.db import Session
from kernel.errors import CityGovError
from kernel.principal import system_principal
from secmon.ingest import eve_ingest_stream, push_principal
from secmon.models import SecmonPush
from secmon.sensors import _validate_sensor_name

log = logging.getLogger("citygov.secmon.push")

#: a push ``running`` for this long has lost its worker (a 16 MiB push ingests in seconds)
STALE_SECONDS = 120
#: a push whose ingestion failed unexpectedly (or whose worker died) this many times is marked failed
MAX_ATTEMPTS = 3
STATES = ("queued", "running", "done", "failed")

#: the after-push work of the portal (correlation, notifications): ``after(session, sensor) -> dict``
After = Callable[[Session, str], dict[str, Any]]


def push_json(row: SecmonPush) -> dict[str, Any]:
    return {"id": row.id, "sensor": row.sensor, "state": row.state, "bytes": row.size, "attempts": row.attempts,
            "idempotency_key": row.idempotency_key, "received_at": isoformat(row.received_at),
            "finished_at": isoformat(row.finished_at) if row.finished_at else None,
            "report": row.report, "error": row.error}


def _by_key(session: Session, sensor: str, key: str) -> SecmonPush | None:
    return session.execute(sa.select(SecmonPush).where(SecmonPush.sensor == sensor,
                                                       SecmonPush.idempotency_key == key)).scalars().first()


def push_accept(session: Session, principal: Principal, fh: BinaryIO, *, sensor: str,
                idempotency_key: str | None = None) -> tuple[dict[str, Any], bool]:
    """Store a push for the background worker; returns its status and whether it is new. A push repeating an
    idempotency key already accepted for this sensor is not stored again: the first one's status is returned.
    The body's size is bounded by the caller (the HTTP request limit)."""
    _validate_sensor_name(sensor)
    push_principal(principal, sensor, idempotency_key)
    if idempotency_key is not None and (row := _by_key(session, sensor, idempotency_key)) is not None:
        return push_json(row), False
    body = fh.read()
    row = SecmonPush(id=new_id(), sensor=sensor, idempotency_key=idempotency_key, state="queued", size=len(body),
                     body=body, attempts=0, received_at=utcnow())
    session.add(row)
    try:
        session.commit()
    except IntegrityError:  # the same key accepted concurrently: that one stands
        session.rollback()
        row = _by_key(session, sensor, idempotency_key or "")
        if row is None:
            raise
        return push_json(row), False
    return push_json(row), True


def push_get(session: Session, principal: Principal, sensor: str, push_id: str) -> dict[str, Any]:
    """The status of one push, for the sensor that sent it (or anyone who may read the monitoring data)."""
    if principal.kind == "token" and principal.name.startswith("sensor:"):
        push_principal(principal, sensor, None)
    else:
        authorize(principal, "secmon:events:read")
    row = session.get(SecmonPush, push_id) if isinstance(push_id, str) and len(push_id) <= 32 else None
    if row is None or row.sensor != sensor:
        raise NotFound(f"no push {push_id!r} of sensor {sensor!r}")
    return push_json(row)


def push_queue(session: Session, principal: Principal, *, state: str | None = None, sensor: str | None = None,
               limit: int = 50, offset: int = 0) -> dict[str, Any]:
    """The queue for the people who watch ingestion: counts by state, how long the oldest waiting push has
    waited, and the pushes themselves (newest first; without their bodies)."""
    authorize(principal, "secmon:events:read")
    t = SecmonPush.__table__
    counts = dict.fromkeys(STATES, 0)
    for st, n in session.execute(sa.select(t.c.state, sa.func.count()).group_by(t.c.state)):
        counts[st] = int(n)
    oldest = session.execute(sa.select(sa.func.min(t.c.received_at)).where(t.c.state.in_(("queued", "running"))))\
        .scalar()
    q = sa.select(SecmonPush)
    if state:
        q = q.where(SecmonPush.state == state)
    if sensor:
        q = q.where(SecmonPush.sensor == sensor)
    total = session.execute(sa.select(sa.func.count()).select_from(q.subquery())).scalar_one()
    rows = session.execute(q.order_by(SecmonPush.received_at.desc(), SecmonPush.id).offset(offset).limit(limit))\
        .scalars().all()
    return {"counts": counts,
            "oldest_waiting_seconds": round((utcnow() - as_utc(oldest)).total_seconds(), 1) if oldest else None,
            "total": int(total), "items": [push_json(r) for r in rows]}


# ------------------------------------------------------------------------------------------ the worker's half


def push_claim(session: Session, *, stale_seconds: int = STALE_SECONDS) -> str | None:
    """Claim the oldest waiting push (or one whose worker died) with a conditional ``UPDATE``: one winner,
    across threads and processes. A push whose worker died :data:`MAX_ATTEMPTS` times is failed instead. With
    nothing to claim it only reads (the background worker asks several times a second)."""
    t = SecmonPush.__table__
    cutoff = utcnow() - timedelta(seconds=stale_seconds)
    candidates = session.execute(sa.select(t.c.id, t.c.state, t.c.claimed_at, t.c.attempts)
                                 .where(sa.or_(t.c.state == "queued",
                                               sa.and_(t.c.state == "running", t.c.claimed_at < cutoff)))
                                 .order_by(t.c.received_at, t.c.id).limit(5)).all()
    for push_id, state, claimed_at, attempts in candidates:
        same = sa.and_(t.c.id == push_id, t.c.state == state,
                       t.c.claimed_at.is_(None) if claimed_at is None else t.c.claimed_at == claimed_at)
        if state == "running" and attempts >= MAX_ATTEMPTS:
            session.execute(sa.update(t).where(same).values(
                state="failed", finished_at=utcnow(), body=None,
                error=f"the worker ingesting it stopped {MAX_ATTEMPTS} times; the events it stored stay"))
            session.commit()
            continue
        won = session.execute(sa.update(t).where(same).values(
            state="running", claimed_at=utcnow(), attempts=t.c.attempts + 1)).rowcount
        session.commit()
        if won == 1:
            return push_id
    return None


def _finish(session: Session, push_id: str, **values: Any) -> None:
    t = SecmonPush.__table__
    session.execute(sa.update(t).where(t.c.id == push_id).values(finished_at=utcnow(), **values))
    session.commit()


def push_run(session: Session, push_id: str, *, after: After | None = None) -> dict[str, Any]:
    """Ingest one claimed push as its sensor, then run ``after`` (when it stored events); returns its status.
    A refusal of the ingestion (:class:`kernel.errors.CityGovError`) fails the push with its reason; an
    unexpected error puts it back in the queue until :data:`MAX_ATTEMPTS`."""
    row = session.get(SecmonPush, push_id, populate_existing=True)
    sensor, key, body, attempts = row.sensor, row.idempotency_key, row.body or b"", row.attempts
    session.commit()  # end the reading transaction: the ingestion commits its own batches
    principal = system_principal(f"sensor-push:{sensor}")
    try:
        report = eve_ingest_stream(session, principal, io.BytesIO(body), sensor=sensor,
                                   name=f"http:{sensor}:{push_id}", idempotency_key=key)
        out = report.to_dict()
        out.pop("sources", None)
        if after is not None and (report.events or attempts > 1):  # a retry: the last attempt's may not have run
            out.update(after(session, sensor))
    except CityGovError as exc:
        session.rollback()
        _finish(session, push_id, state="failed", error=exc.detail[:2000], body=None)
    except Exception as exc:  # noqa: BLE001 - recorded, and retried: the body is kept until it is ingested
        session.rollback()
        log.exception("ingesting push %s of sensor %s failed", push_id, sensor)
        if attempts >= MAX_ATTEMPTS:
            _finish(session, push_id, state="failed", body=None,
                    error=f"unexpected error ({type(exc).__name__}) {attempts} times; the operators have the log")
        else:
            t = SecmonPush.__table__
            session.execute(sa.update(t).where(t.c.id == push_id).values(state="queued", claimed_at=None))
            session.commit()
    else:
        _finish(session, push_id, state="done", report=out, body=None, error=None)
    return push_json(session.get(SecmonPush, push_id, populate_existing=True))


def push_drain(session: Session, *, after: After | None = None, limit: int = 1000) -> int:
    """Claim and ingest waiting pushes until none is left (or ``limit``); returns how many ran."""
    n = 0
    while n < limit and (push_id := push_claim(session)) is not None:
        push_run(session, push_id, after=after)
        n += 1
    return n
