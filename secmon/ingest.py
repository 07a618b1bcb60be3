"""EVE ingestion: the streaming ingest engine (one atomic batch per commit, the commit in a helper thread while
the next batch is parsed), PostgreSQL day partitions, retention.

Every service takes ``(session, principal, ...)``, authorizes first and commits at the end (ingestion
commits once per batch so that a stream of any length runs in flat memory; each batch — events,
quarantined lines and the source's high-water mark — is atomic).
"""

from __future__ import annotations

import hashlib
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import Any, BinaryIO
from collections.abc import Callable

import orjson
from sqlalchemy import delete, select, text

import audit
from kernel import Principal, ValidationFailed, authorize, utcnow
from kernel.db import Session, dialect_name
from kernel.errors import NotAuthenticated
from secmon import eve
from secmon.models import SecmonEvent, SecmonPush, SecmonQuarantine, SecmonSensor, SecmonSource
from secmon.sensors import _ensure_sensor

#: called after each batch's COMMIT returned, with the source's id, name, high-water offset and totals
OnCommit = Callable[[dict], None]


@dataclass
class IngestReport:
    sources: list[dict] = field(default_factory=list)
    events: int = 0
    quarantined: int = 0
    duplicates_skipped: int = 0
    schema_invalid: int = 0
    by_event_type: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {"events": self.events, "quarantined": self.quarantined,
                "duplicates_skipped": self.duplicates_skipped, "schema_invalid": self.schema_invalid,
                "by_event_type": dict(sorted(self.by_event_type.items())), "sources": self.sources,
                "seconds": round(self.seconds, 3)}


def _insert_sql(dialect: str, table: str, cols: tuple[str, ...]) -> str:
    ph = "?" if dialect == "sqlite" else "%s"
    return f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join([ph] * len(cols))})"


_Q_COLS = ("sensor_id", "source_id", "source_name", "line_no", "line_offset", "length", "reason", "excerpt",
           "created_at")


_NONE_ADAPTER = {}.get  # a C-level callable returning None for any argument (the dict stays empty)


def _fast_sqlite_nulls() -> None:
    """pysqlite binds a ``None`` parameter through its adaptation protocol: a failed adapter lookup, then two
    failed attribute lookups (``__adapt__``, ``__conform__``) with their AttributeError — about a third of a
    microsecond per NULL, a sixth of an event's insert cost. An adapter registered for ``NoneType`` that
    returns ``None`` makes it one dict lookup; the bound value is NULL exactly as before. Process-wide and
    idempotent (the same result for every sqlite3 user, only sooner)."""
    import sqlite3

    if (type(None), sqlite3.PrepareProtocol) not in getattr(sqlite3, "adapters", {}):
        sqlite3.register_adapter(type(None), _NONE_ADAPTER)


class _Ingestor:
    def __init__(self, session: Session, sensor: SecmonSensor, *, batch_size: int, validate: bool,
                 schema_dir: str | None, engine_version: str | None, on_commit: OnCommit | None = None):
        self.session = session
        self.on_commit = on_commit
        self._pending_ack: dict | None = None
        self.sensor = sensor
        self.batch_size = batch_size
        self.validate = validate
        self.schema_dir = schema_dir if schema_dir is not None else eve.default_schema_dir()
        self.engine_version = engine_version
        self.dialect = dialect_name(session)
        self.q_sql = _insert_sql(self.dialect, "secmon_quarantine", _Q_COLS)
        self._pending: threading.Thread | None = None
        self._pending_error: BaseException | None = None
        self.type_sql = {t: _insert_sql(self.dialect, t, ("source_id", "line_offset") + cols)
                         for t, cols in eve.TYPE_COLUMNS.items()}
        if self.dialect == "sqlite":
            _fast_sqlite_nulls()
            # a larger page cache for this connection keeps the index B-trees in memory during bulk inserts
            session.connection().exec_driver_sql("PRAGMA cache_size=-65536")

    def _source(self, head: bytes, name: str, kind: str, identity: str | None = None) -> SecmonSource:
        """The source a stream continues, or a new one.

        A file/stdin source is identified by the SHA-256 of its head (its first ``eve.HEAD_BYTES`` bytes, or all
        of it when shorter): two files that merely share a first line are different sources. A source stored
        with a shorter head (a small file) whose head is a prefix of this stream's head is the same file grown
        since; it takes the longer head. An HTTP push is identified by its idempotency key or the SHA-256 of its
        whole body (``identity`` given): only a byte-identical repeat is skipped."""
        sensor_id = self.sensor.id
        head = head[: eve.HEAD_BYTES]
        ident = identity or hashlib.sha256(head).hexdigest()
        src = self.session.execute(select(SecmonSource).where(SecmonSource.sensor_id == sensor_id,
                                                              SecmonSource.identity == ident)).scalars().first()
        if src is None and identity is None and head:
            shorter = self.session.execute(
                select(SecmonSource.id, SecmonSource.identity, SecmonSource.head_len)
                .where(SecmonSource.sensor_id == sensor_id, SecmonSource.kind.in_(("file", "stdin")),
                       SecmonSource.head_len > 0, SecmonSource.head_len < len(head))
                .order_by(SecmonSource.head_len.desc())).all()
            for sid, sident, slen in shorter:
                if hashlib.sha256(head[:slen]).hexdigest() == sident:
                    src = self.session.get(SecmonSource, sid)
                    src.identity, src.head_len = ident, len(head)
                    self.session.add(src)
                    self.session.flush()
                    break
        if src is None:
            now = utcnow()
            src = SecmonSource(sensor_id=sensor_id, identity=ident, head_len=0 if identity else len(head),
                               kind=kind, first_name=name[-500:], high_water=0, events=0, quarantined=0,
                               created_at=now, updated_at=now)
            self.session.add(src)
            self.session.flush()
        return src

    def _event_sql(self, *values: Any) -> tuple[str, tuple]:
        """The secmon_event INSERT of one source and the values of its per-source columns (bound with every
        row, ahead of the row's own values)."""
        ph = "?" if self.dialect == "sqlite" else "%s"
        return (f"INSERT INTO secmon_event ({', '.join(eve.EVENT_COLUMNS)}) VALUES "
                f"({', '.join([ph] * len(eve.EVENT_COLUMNS))})", tuple(values))

    def ingest(self, fh: BinaryIO, name: str, report: IngestReport, *, flush_seconds: float | None = None,
               kind: str = "file", identity: str | None = None) -> None:
        streaming = flush_seconds is not None
        batches = eve.iter_line_batches(fh, chunk_marks=streaming)
        first = next((x for x in batches if x is not None), None)
        if first is None:
            report.sources.append({"source": name, "events": 0, "quarantined": 0, "duplicates_skipped": 0,
                                   "empty": True})
            return
        # read ahead: the head that identifies the source and a first sample of lines for the engine version
        # (a stream may pause: only what is read already)
        ahead: list = [first]
        n_ahead = len(first) if isinstance(first, list) else 1
        if not streaming:
            head_len = _head_len(first)
            for item in batches:
                ahead.append(item)
                n_ahead += len(item) if isinstance(item, list) else 1
                head_len += _head_len(item)
                if n_ahead >= 500 and head_len >= eve.HEAD_BYTES:
                    break
        src = self._source(_head(ahead), name, kind, identity)
        hwm = src.high_water
        decoded: list[dict] = []
        n_sample = 0
        for item in ahead:
            if not isinstance(item, list):
                n_sample += 1
                continue
            for part in item[: max(0, 500 - n_sample)]:
                n_sample += 1
                ev, _ = eve.decode_line(part)
                if ev is not None:
                    decoded.append(ev)
        version = self.engine_version or eve.detect_engine_version(decoded)
        validator = eve.schema_validator(self.schema_dir, version) if (self.validate and self.schema_dir) else None
        no_schema_status = "unchecked" if not self.validate else "noschema"
        sqlite = self.dialect == "sqlite"
        today: Any = utcnow().date().isoformat() if sqlite else utcnow().date()
        sensor_id, source_id = self.sensor.id, src.id
        ev_sql = self._event_sql(sensor_id, source_id, version)
        short_name = name[-500:]
        rows: list[tuple] = []
        qrows: list[tuple] = []
        trows: dict[str, list[tuple]] = {}
        n_ev = n_q = n_dup = n_inv = 0
        types = report.by_event_type
        last_flush = time.monotonic()
        decode = eve.decode_line
        loads, JSONDecodeError = orjson.loads, orjson.JSONDecodeError
        parse_ts = eve.parse_ts
        event_row = eve.event_row
        batch_size = self.batch_size
        line_no = 0
        offset = 0  # where the next line starts
        for item in chain(ahead, batches):
            if item is None:  # end of a chunk read from a stream: commit if due, before blocking again
                if rows or qrows:
                    n_ev += len(rows)
                    n_q += len(qrows)
                    self._flush(src, ev_sql, rows, qrows, trows, offset, types)
                    rows, qrows, trows = [], [], {}
                    last_flush = time.monotonic()
                continue
            if not isinstance(item, list):  # a line that could not be read
                line_no, off, offset = item.line_no, item.offset, item.offset + item.length
                if off < hwm:
                    n_dup += 1
                    continue
                qrows.append((sensor_id, source_id, short_name, line_no, off, item.length,
                              item.error or "unreadable", eve.excerpt(item.data), utcnow()))
                if len(rows) + len(qrows) >= batch_size:
                    n_ev += len(rows)
                    n_q += len(qrows)
                    self._flush(src, ev_sql, rows, qrows, trows, offset, types)
                    rows, qrows, trows = [], [], {}
                    last_flush = time.monotonic()
                continue
            nl = 1 if type(item) is list else 0  # bytes of the newline after each line
            if offset < hwm:
                end = offset + sum(map(len, item)) + nl * len(item)
                if end <= hwm:  # a whole batch already ingested (re-ingestion, an overlapping rotation)
                    n_dup += len(item)
                    line_no += len(item)
                    offset = end
                    continue
            for data in item:
                line_no += 1
                off = offset
                offset += len(data) + nl
                if off < hwm:
                    n_dup += 1
                    continue
                try:  # the common case inline; decode_line names the reason otherwise
                    ev = loads(data)
                except JSONDecodeError:
                    ev = None
                if type(ev) is not dict or type(ev.get("event_type")) is not str:
                    full = data + b"\n" if nl else data
                    ev, reason = decode(full)
                    if ev is None:
                        qrows.append((sensor_id, source_id, short_name, line_no, off, len(full), reason,
                                      eve.excerpt(full), utcnow()))
                if ev is not None:
                    tsv = ev.get("timestamp")
                    if sqlite and type(tsv) is str and len(tsv) == 31 and tsv[10] == "T" and tsv.endswith("+0000"):
                        ts = fast = tsv[:10] + " " + tsv[11:26]  # already UTC: SQLAlchemy's SQLite format
                    else:
                        fast = None
                        ts = parse_ts(tsv)
                    status, err = no_schema_status, None
                    if validator is not None:
                        err = validator.first_error(ev)
                        status = "valid" if err is None else "invalid"
                    if ts is None:
                        status, err = "invalid", f"unparsable timestamp {str(tsv)[:80]!r}" + (
                            f"; {err}" if err else "")
                    if status == "invalid":
                        n_inv += 1
                    if fast is not None:
                        ts_value: Any = fast
                        day: Any = fast[:10]
                    elif ts is None:
                        ts_value, day = None, today  # unparsable time: kept under the ingestion day
                    elif sqlite:
                        ts_value = ts.replace(tzinfo=None).isoformat(" ", "microseconds")
                        day = ts_value[:10]
                    else:
                        ts_value, day = ts, ts.date()
                    # the raw event as it came (valid UTF-8: orjson accepted it); no NUL escape in the line
                    # means no NUL in any of its strings
                    row, extras = event_row(ev, off, line_no, day, ts_value, status, err,
                                            data.decode("utf-8", "replace").rstrip("\r\n"), sensor_id,
                                            b"\\u0000" not in data)
                    rows.append(row)
                    for table, vals in extras:
                        trows.setdefault(table, []).append((source_id, off) + vals)
                if len(rows) + len(qrows) >= batch_size or (
                        streaming and time.monotonic() - last_flush >= flush_seconds):
                    n_ev += len(rows)
                    n_q += len(qrows)
                    self._flush(src, ev_sql, rows, qrows, trows, offset, types, background=not streaming)
                    rows, qrows, trows = [], [], {}
                    last_flush = time.monotonic()
        n_ev += len(rows)
        n_q += len(qrows)
        self._flush(src, ev_sql, rows, qrows, trows, offset, types)  # waits for the previous batch first
        report.events += n_ev
        report.quarantined += n_q
        report.duplicates_skipped += n_dup
        report.schema_invalid += n_inv
        report.sources.append({"source": name, "source_id": source_id, "engine_version": version,
                               "schema": "checked" if validator is not None else no_schema_status,
                               "events": n_ev, "quarantined": n_q, "duplicates_skipped": n_dup,
                               "schema_invalid": n_inv})

    def _flush(self, src: SecmonSource, ev_sql: tuple[str, tuple], rows: list[tuple], qrows: list[tuple],
               trows: dict[str, list[tuple]], end: int, types: Counter, *, background: bool = False) -> None:
        """One atomic batch: events, per-type rows, quarantined lines and the source's high-water mark.

        With ``background`` the COMMIT (the WAL fsync, a checkpoint) runs in a helper thread while the caller
        parses the next batch; the next flush (and the end of every source, so before the service returns)
        waits for it and raises its error. The session is never used by both threads at once."""
        self._wait()
        conn = self.session.connection()
        if rows:
            if self.dialect == "postgresql":
                ensure_partitions(conn, set(map(_DAY, rows)))
            sql, prefix = ev_sql
            conn.exec_driver_sql(sql, [prefix + r for r in rows])
        for table, vals in trows.items():
            conn.exec_driver_sql(self.type_sql[table], vals)
        if qrows:
            conn.exec_driver_sql(self.q_sql, qrows)
        if end > src.high_water or rows or qrows:
            src.high_water = max(src.high_water, end)
            src.events += len(rows)
            src.quarantined += len(qrows)
            src.updated_at = utcnow()
            self.session.add(src)
            self.session.flush()
        types.update(map(_EVENT_TYPE, rows))
        ack = {"source_id": src.id, "source": src.first_name, "offset": src.high_water, "events": src.events,
               "quarantined": src.quarantined} if self.on_commit is not None else None
        if not background:
            self.session.commit()
            if ack is not None:
                self.on_commit(ack)
            return
        self._pending_ack = ack
        self._pending = threading.Thread(target=self._commit, name="secmon-ingest-commit", daemon=True)
        self._pending.start()

    def _commit(self) -> None:
        try:
            self.session.commit()
        except BaseException as exc:  # noqa: BLE001 - re-raised by _wait in the ingesting thread
            self._pending_error = exc

    def abandon(self) -> None:
        """After an error: wait for a background commit, dropping its own error (the first one wins)."""
        try:
            self._wait()
        except BaseException:  # noqa: BLE001
            pass

    def _wait(self) -> None:
        """Wait for a background commit; its error is raised here."""
        t = self._pending
        if t is None:
            return
        t.join()
        self._pending = None
        exc, self._pending_error = self._pending_error, None
        ack, self._pending_ack = self._pending_ack, None
        if exc is not None:
            raise exc
        if ack is not None:  # acknowledged only once its COMMIT returned (durable: synchronous=FULL / PG fsync)
            self.on_commit(ack)


def _head_len(item) -> int:
    if type(item) is list:
        return sum(map(len, item)) + len(item)
    if type(item) is eve.Unterminated:
        return len(item[0])
    return 0


def _head(items: list) -> bytes:
    """The first ``eve.HEAD_BYTES`` bytes of the stream as read ahead (up to the first unreadable line)."""
    parts: list[bytes] = []
    n = 0
    for item in items:
        if item is None:
            continue
        if type(item) is list:
            for line in item:
                parts.append(line)
                parts.append(b"\n")
                n += len(line) + 1
                if n >= eve.HEAD_BYTES:
                    return b"".join(parts)[: eve.HEAD_BYTES]
        elif type(item) is eve.Unterminated:
            parts.append(item[0])
            n += len(item[0])
        else:  # an unreadable line ends the usable head
            parts.append(b"\0unreadable:%d:" % item.length + (item.data or b""))
            break
    return b"".join(parts)[: eve.HEAD_BYTES]


_DAY = itemgetter(eve.EVENT_ROW_COLUMNS.index("day"))
_EVENT_TYPE = itemgetter(eve.EVENT_ROW_COLUMNS.index("event_type"))


def _partition_name(day: date) -> str:
    return f"secmon_event_p{day:%Y%m%d}"


def ensure_partitions(conn, days) -> None:
    """PostgreSQL: the daily range partitions of ``secmon_event`` for ``days`` (created if missing)."""
    for day in sorted(days):
        name = _partition_name(day)
        nxt = day + timedelta(days=1)
        conn.exec_driver_sql(
            f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF secmon_event "
            f"FOR VALUES FROM ('{day.isoformat()}') TO ('{nxt.isoformat()}')")


def event_partitions(session: Session) -> list[str]:
    """PostgreSQL: the names of ``secmon_event``'s partitions, oldest first (empty elsewhere)."""
    if dialect_name(session) != "postgresql":
        return []
    rows = session.execute(text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'secmon_event' ORDER BY c.relname"))
    return [r[0] for r in rows]


def eve_ingest(session: Session, principal: Principal, paths: list[str | Path], *, sensor: str,
               batch_size: int = 20000, validate: bool = True, schema_dir: str | None = None,
               engine_version: str | None = None, on_commit: OnCommit | None = None) -> IngestReport:
    """Ingest EVE files (plain or gzip), rotated series, directories and ``-`` (stdin, streaming).

    ``on_commit`` is called after every batch is committed (never before): what it reports is durable, and a
    re-run of the same file continues from the source's high-water offset."""
    authorize(principal, "secmon:eve:ingest", sensor)
    try:
        sources = eve.expand_sources(paths)
    except eve.SourceError as exc:
        raise ValidationFailed(str(exc), errors=[{"field": "paths", "message": str(exc)}]) from None
    s = _ensure_sensor(session, sensor)
    session.commit()
    ing = _Ingestor(session, s, batch_size=batch_size, validate=validate, schema_dir=schema_dir,
                    engine_version=engine_version, on_commit=on_commit)
    report = IngestReport()
    t0 = time.perf_counter()
    for path in sources:
        fh, name = eve.open_stream(path)
        try:
            ing.ingest(fh, name, report, flush_seconds=1.0 if path == "-" else None,
                       kind="stdin" if path == "-" else "file")
        except BaseException:
            ing.abandon()  # a background commit must be over before the caller rolls the session back
            raise
        finally:
            if path != "-":
                fh.close()
    report.seconds = time.perf_counter() - t0
    return report


def push_principal(principal: Principal, sensor: str, idempotency_key: str | None) -> Principal:
    """Who stores a push: a sensor's token pushes only as that sensor (as the system principal
    ``sensor-push:<name>``); anyone else needs ``secmon:eve:ingest``. The idempotency key is checked here too."""
    if principal.kind == "token" and principal.name.startswith("sensor:"):
        if principal.name != f"sensor:{sensor}":
            raise NotAuthenticated("token does not belong to this sensor")
        from kernel.principal import system_principal

        principal = system_principal(f"sensor-push:{sensor}")
    authorize(principal, "secmon:eve:ingest", sensor)
    if idempotency_key is not None and not (1 <= len(idempotency_key) <= 200 and idempotency_key.isprintable()):
        raise ValidationFailed("invalid idempotency key", errors=[{"field": "Idempotency-Key",
                                                                  "message": "1-200 printable characters"}])
    return principal


def eve_ingest_stream(session: Session, principal: Principal, fh: BinaryIO, *, sensor: str, name: str,
                      batch_size: int = 20000, validate: bool = True, schema_dir: str | None = None,
                      idempotency_key: str | None = None) -> IngestReport:
    """Ingest one pushed body (an HTTP NDJSON body). A sensor principal may only push as itself.

    The push is a source of its own, identified by ``idempotency_key`` when the sender gives one, else by the
    SHA-256 of the whole body: repeating a push (same key, or the same bytes) skips every event; any other
    body is stored in full, whatever its first lines."""
    principal = push_principal(principal, sensor, idempotency_key)
    s = _ensure_sensor(session, sensor)
    session.commit()
    # spool the body (in memory up to 8 MiB) while hashing it: the identity needs all of it
    spool = tempfile.SpooledTemporaryFile(max_size=8 << 20)
    digest = hashlib.sha256()
    read = getattr(fh, "read1", None) or fh.read
    while True:
        chunk = read(1 << 20)
        if not chunk:
            break
        digest.update(chunk)
        spool.write(chunk)
    spool.seek(0)
    ident = hashlib.sha256((f"push-key:{idempotency_key}" if idempotency_key else
                            f"push-body:{digest.hexdigest()}").encode()).hexdigest()
    ing = _Ingestor(session, s, batch_size=batch_size, validate=validate, schema_dir=schema_dir,
                    engine_version=None)
    report = IngestReport()
    t0 = time.perf_counter()
    try:
        ing.ingest(spool, name, report, kind="push", identity=ident)
    except BaseException:
        ing.abandon()
        raise
    finally:
        spool.close()
    report.seconds = time.perf_counter() - t0
    return report


def events_purge(session: Session, principal: Principal, *, older_than_days: int) -> dict:
    """Retention: delete events (with their per-type rows) and quarantined lines older than the cutoff; audited."""
    authorize(principal, "secmon:sensor:manage", None)
    if older_than_days < 1:
        raise ValidationFailed("older_than_days must be >= 1", errors=[{"field": "older_than_days",
                                                                      "message": "must be >= 1"}])
    cutoff = utcnow() - timedelta(days=older_than_days)
    sqlite = dialect_name(session) == "sqlite"
    params = {"cutoff": cutoff.replace(tzinfo=None).isoformat(" ", "microseconds") if sqlite else cutoff,
              "cutoff_day": cutoff.date().isoformat() if sqlite else cutoff.date()}
    dropped: list[str] = []
    n_dropped = 0
    if dialect_name(session) == "postgresql":
        # whole days before the cutoff: drop their partitions (after their per-type rows)
        for name in event_partitions(session):
            day = datetime.strptime(name.rsplit("_p", 1)[1], "%Y%m%d").date()
            if day + timedelta(days=1) <= cutoff.date():
                for table in eve.TYPE_COLUMNS:
                    session.execute(text(f"DELETE FROM {table} t USING {name} e WHERE e.source_id = t.source_id "
                                         "AND e.line_offset = t.line_offset"))
                n_dropped += session.execute(text(f"SELECT count(*) FROM {name}")).scalar_one()
                session.execute(text(f"ALTER TABLE secmon_event DETACH PARTITION {name}"))
                session.execute(text(f"DROP TABLE {name}"))
                dropped.append(name)
    for table in eve.TYPE_COLUMNS:
        session.execute(text(f"DELETE FROM {table} WHERE EXISTS (SELECT 1 FROM secmon_event e WHERE "
                             f"e.source_id = {table}.source_id AND e.line_offset = {table}.line_offset "
                             "AND (e.ts < :cutoff OR (e.ts IS NULL AND e.day < :cutoff_day)))"), params)
    old_event = (SecmonEvent.ts < cutoff) | (SecmonEvent.ts.is_(None) & (SecmonEvent.day < cutoff.date()))
    n = session.execute(delete(SecmonEvent).where(old_event)).rowcount + n_dropped
    q = session.execute(delete(SecmonQuarantine).where(SecmonQuarantine.created_at < cutoff)).rowcount
    # pushes ingested (or failed) before the cutoff: their reports go; a push still waiting is never deleted
    p = session.execute(delete(SecmonPush).where(SecmonPush.state.in_(("done", "failed")),
                                                 SecmonPush.finished_at < cutoff)).rowcount
    audit.record(session, principal, "secmon:sensor:manage", object_type="secmon_event", object_id="retention",
                 state={"cutoff": cutoff.isoformat()},
                 details={"events_deleted": n, "quarantine_deleted": q, "pushes_deleted": p,
                          "partitions_dropped": dropped})
    session.commit()
    return {"cutoff": cutoff.isoformat(), "events_deleted": n, "quarantine_deleted": q, "pushes_deleted": p,
            "partitions_dropped": dropped}
