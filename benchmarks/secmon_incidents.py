"""Correlation throughput and event-search latency on the T-Pot honeypot sample (637,549 events).

    python benchmarks/secmon_incidents.py [EVE_DIR] [--pg URL] [--scale N]

1. Ingest the set into a fresh SQLite file (Alembic-migrated): events/s of ingestion alone.
2. Correlation as a separate pass over every alert (a rule set that takes every alert, so that each one
   is grouped, scored and linked): alerts/s, and events/s of ingest + correlation together.
3. Scale: the real alerts replicated N times (default 30, shifted by whole days so that each copy forms new
   incidents) and correlated again: alerts/s on a few hundred thousand alerts. Peers in the same run, the
   floor of what any correlation can do on this store: the bare DBAPI read of the same alert rows (sqlite3
   cursor, same query, plain tuples) and the bare ``executemany`` of the same number of evidence-link rows
   into a table of the same shape (primary key + index), committed. Wall and CPU seconds are both printed:
   the machine is shared, CPU time is the one-core figure.
4. Event search: 30 queries per search kind with values drawn from the data; p50 / p95 / max in ms, and the
   bare baseline of a full scan (``raw LIKE``) for the same addresses. With --pg (or CITYGOV_BENCH_PG_URL,
   an empty disposable database) the same ingest and queries on PostgreSQL.

Pins itself to one CPU core. Prints figures; never asserts on time.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SEARCH_KINDS = ("ip", "cidr", "port", "proto", "sid", "signature", "flow_id", "community_id", "rrname", "http_host",
                "tls_sni", "sensor_time")


def shared() -> Path:
    return Path(os.environ.get("CITYGOV_SHARED_DATA", "/work/shared/data"))


def every_alert_config():
    from secmon.correlation import load_config
    import yaml

    doc = yaml.safe_load(Path(ROOT / "secmon" / "data" / "correlation-rules.yaml").read_text())
    doc["rules"][0]["match"] = {}  # every alert, asset or not
    return load_config(doc)


CPU: dict[str, float] = {}


def ingest(url: str, files: list[str]) -> tuple[int, float]:
    from sqlmodel import Session

    from kernel import system_principal
    from portal import db as dbm
    from secmon import services

    dbm.upgrade(url)
    engine = dbm.make_engine(url)
    total = 0
    c = time.process_time()
    t = time.perf_counter()
    with Session(engine) as session:
        for f in files:
            total += services.eve_ingest(session, system_principal("bench"), [f], sensor="tpot").events
    wall = time.perf_counter() - t
    CPU["ingest"] = time.process_time() - c
    engine.dispose()
    return total, wall


def correlate(url: str, cfg, label: str = "corr") -> tuple[dict, float]:
    from sqlmodel import Session

    from kernel import system_principal
    from portal import db as dbm
    from secmon import incidents

    engine = dbm.make_engine(url)
    with Session(engine) as session:
        c = time.process_time()
        t = time.perf_counter()
        r = incidents.incidents_correlate(session, system_principal("bench"), config=cfg)
        wall = time.perf_counter() - t
        CPU[label] = time.process_time() - c
    engine.dispose()
    return r, wall


def bare_floor(path: str) -> dict:
    """The peers: the bare sqlite3 read of the correlation's alert rows (the same query, no incident linked
    yet: against a scratch copy of the links table left empty) and the bare executemany of as many link rows."""
    import sqlite3

    from secmon.incident_correlate import _ALERTS_SQL

    con = sqlite3.connect(path)
    con.execute("CREATE TEMP TABLE bare_link (incident_id VARCHAR(32), source_id INTEGER, line_offset BIGINT, "
                "event_type VARCHAR(40), link VARCHAR(20), ts DATETIME, PRIMARY KEY (incident_id, source_id, "
                "line_offset))")
    con.execute("CREATE INDEX temp.ix_bare_link_event ON bare_link (source_id, line_offset)")
    sql = _ALERTS_SQL.replace("secmon_incident_event", "temp.bare_link")
    c, t = time.process_time(), time.perf_counter()
    cur = con.execute(sql)
    rows = []
    while part := cur.fetchmany(50000):
        rows.extend(part)
    read_wall, read_cpu = time.perf_counter() - t, time.process_time() - c
    links = [(f"{hash((r[0], r[1] // 1000)) & 0xFFFFFFFF:032x}", r[0], r[1], "alert", "alert", r[2]) for r in rows]
    c, t = time.process_time(), time.perf_counter()
    con.executemany("INSERT INTO temp.bare_link VALUES (?, ?, ?, ?, ?, ?)", links)
    con.commit()
    write_wall, write_cpu = time.perf_counter() - t, time.process_time() - c
    con.close()
    return {"rows": len(rows), "read_wall": read_wall, "read_cpu": read_cpu, "write_wall": write_wall,
            "write_cpu": write_cpu}


def replicate(url: str, copies: int) -> int:
    """Copy every alert ``copies`` times under new keys, each copy shifted by k days."""
    from datetime import timedelta

    from sqlalchemy import insert, select
    from sqlmodel import Session

    from portal import db as dbm
    from secmon.models import SecmonAlert

    engine = dbm.make_engine(url)
    with Session(engine) as session:
        cols = [c.name for c in SecmonAlert.__table__.columns]
        rows = [dict(zip(cols, r)) for r in session.execute(select(*SecmonAlert.__table__.columns)).all()]
        n = 0
        for k in range(1, copies + 1):
            batch = []
            for r in rows:
                r2 = dict(r)
                r2["source_id"] = 1_000_000 + 1000 * k + r["source_id"]
                r2["ts"] = r["ts"] + timedelta(days=k) if r["ts"] is not None else None
                batch.append(r2)
            session.execute(insert(SecmonAlert), batch)
            n += len(batch)
        session.commit()
    engine.dispose()
    return n


def bare_select(url: str) -> tuple[int, float]:
    from sqlalchemy import select
    from sqlmodel import Session

    from portal import db as dbm
    from secmon.models import SecmonAlert

    engine = dbm.make_engine(url)
    with Session(engine) as session:
        t = time.perf_counter()
        q = (select(SecmonAlert.source_id, SecmonAlert.line_offset, SecmonAlert.ts, SecmonAlert.src_ip,
                    SecmonAlert.dest_ip, SecmonAlert.signature, SecmonAlert.gid, SecmonAlert.sid, SecmonAlert.category,
                    SecmonAlert.severity, SecmonAlert.sensor_id)
             .where(SecmonAlert.ts.is_not(None))
             .order_by(SecmonAlert.ts, SecmonAlert.source_id, SecmonAlert.line_offset))
        n = sum(1 for _ in session.execute(q).yield_per(50000))
        wall = time.perf_counter() - t
    engine.dispose()
    return n, wall


def search_latency(url: str, label: str) -> None:
    from sqlalchemy import text
    from sqlmodel import Session

    from kernel import system_principal
    from portal import db as dbm
    from secmon import search

    engine = dbm.make_engine(url)
    rng = random.Random(7)
    p = system_principal("bench")
    with Session(engine) as s:
        def sample(sql, n=30):
            vals = [r[0] for r in s.execute(text(sql)).all() if r[0] is not None]
            return rng.sample(vals, min(n, len(vals))) if vals else []

        ips = sample("SELECT src_ip FROM secmon_event WHERE src_ip IS NOT NULL GROUP BY src_ip LIMIT 2000")
        v4 = [ip for ip in ips if "." in ip and ":" not in ip]
        cases = {
            "ip": [{"ip": ip} for ip in ips],
            "cidr": [{"ip": ip.rsplit(".", 1)[0] + ".0/24"} for ip in v4],
            "port": [{"port": v} for v in sample("SELECT dest_port FROM secmon_event GROUP BY dest_port LIMIT 500")],
            "proto": [{"proto": v, "since": "2023-08-20T00:00:00Z", "until": "2023-08-21T00:00:00Z"}
                      for v in ("TCP", "UDP", "ICMP")] * 10,
            "sid": [{"sid": v} for v in sample("SELECT sid FROM secmon_alert GROUP BY sid")],
            "signature": [{"signature": v.split(" ")[1] if " " in v else v}
                          for v in sample("SELECT signature FROM secmon_alert GROUP BY signature")],
            "flow_id": [{"flow_id": v} for v in sample("SELECT flow_id FROM secmon_event WHERE flow_id IS NOT NULL "
                                                       "GROUP BY flow_id LIMIT 5000")],
            "community_id": [{"community_id": v} for v in sample(
                "SELECT community_id FROM secmon_event WHERE community_id IS NOT NULL GROUP BY community_id LIMIT 5000")]
            or [{"community_id": "1:none"}] * 30,
            "rrname": [{"rrname": v} for v in sample("SELECT dns_rrname FROM secmon_event WHERE dns_rrname IS NOT NULL "
                                                     "GROUP BY dns_rrname LIMIT 5000")],
            "http_host": [{"http_host": v} for v in sample("SELECT hostname FROM secmon_http GROUP BY hostname")],
            "tls_sni": [{"tls_sni": v} for v in sample("SELECT sni FROM secmon_tls GROUP BY sni")],
            "sensor_time": [{"sensor": "tpot", "since": f"2023-08-{d:02d}T00:00:00Z",
                             "until": f"2023-08-{d:02d}T06:00:00Z"} for d in range(1, 31)],
        }
        print(f"{label}: event search, 50 hits per page (first page), ms per query")
        for kind in SEARCH_KINDS:
            times = []
            hits = 0
            for q in cases[kind]:
                t = time.perf_counter()
                r = search.event_search(s, p, limit=50, **q)
                times.append((time.perf_counter() - t) * 1000)
                hits += len(r["items"])
            if not times:
                print(f"  {kind:<13} no values in the data")
                continue
            times.sort()
            p95 = times[max(0, int(round(0.95 * len(times))) - 1)]
            print(f"  {kind:<13} n={len(times):>2}  p50 {statistics.median(times):7.1f}  p95 {p95:7.1f}  "
                  f"max {times[-1]:7.1f}  (hits {hits})")
        # the bare baseline: a full scan of the raw lines for an address
        t = time.perf_counter()
        for ip in ips[:5]:
            s.execute(text("SELECT count(*) FROM secmon_event WHERE raw LIKE :p"), {"p": f'%"{ip}"%'}).scalar_one()
        bare = (time.perf_counter() - t) * 1000 / max(1, len(ips[:5]))
        print(f"  bare full scan (raw LIKE) per address: {bare:.1f} ms")
    engine.dispose()


def main() -> None:
    args = sys.argv[1:]
    pg = os.environ.get("CITYGOV_BENCH_PG_URL")
    scale = 30
    if "--pg" in args:
        i = args.index("--pg")
        pg = args[i + 1]
        del args[i:i + 2]
    if "--scale" in args:
        i = args.index("--scale")
        scale = int(args[i + 1])
        del args[i:i + 2]
    eve_dir = Path(args[0]) if args else shared() / "suricata" / "eve" / "tpot-honeypot-2023"
    try:
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
        print("pinned to one CPU core")
    except (AttributeError, OSError):
        pass
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    import atexit

    atexit.register(lambda: print(f"load average at the end {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} "
                                  f"{os.getloadavg()[2]:.2f}"))
    from secmon.eve import expand_sources

    files = expand_sources([eve_dir])
    cfg = every_alert_config()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.sqlite"
        events, iw = ingest(url, files)
        print(f"SQLite ingest alone: {events} events in {iw:.2f} s wall ({CPU['ingest']:.2f} s CPU) -> "
              f"{events / iw:,.0f} events/s wall, {events / CPU['ingest']:,.0f} events/s CPU")
        r, cw = correlate(url, cfg, "first")
        print(f"correlation pass: {r['alerts_scanned']} alerts -> {r['incidents_created']} incidents, "
              f"{r['evidence_linked']} evidence events, in {cw:.2f} s wall ({CPU['first']:.2f} s CPU) -> "
              f"{r['alerts_scanned'] / cw:,.0f} alerts/s")
        print(f"  ingest + correlation: {events / (iw + cw):,.0f} events/s wall, "
              f"{events / (CPU['ingest'] + CPU['first']):,.0f} events/s CPU ({(iw / (iw + cw)):.1%} of ingest alone)")
        r2, cw2 = correlate(url, cfg)
        print(f"  re-run (nothing new): {r2['alerts_scanned']} alerts scanned, {r2['incidents_created']} created, "
              f"{cw2:.2f} s")
        search_latency(url, "SQLite")  # before the replicated alerts (they have no events to join)
        n = replicate(url, scale)
        floor = bare_floor(url.removeprefix("sqlite:///"))  # before the pass links them
        r3, cw3 = correlate(url, cfg, "scale")
        nb, bw = bare_select(url)
        a3, c3 = r3["alerts_scanned"], CPU["scale"]
        fw = floor["read_wall"] + floor["write_wall"]
        fc = floor["read_cpu"] + floor["write_cpu"]
        print(f"scale: {n} replicated alerts, {a3} correlated ({r3['incidents_created']} incidents) in {cw3:.2f} s "
              f"wall / {c3:.2f} s CPU -> {a3 / cw3:,.0f} alerts/s wall, {a3 / c3:,.0f} alerts/s CPU")
        print(f"  peer floor (bare sqlite3, same rows): read {floor['read_wall']:.2f} s wall / {floor['read_cpu']:.2f}"
              f" s CPU + executemany of {floor['rows']} link rows {floor['write_wall']:.2f} s / "
              f"{floor['write_cpu']:.2f} s CPU = {floor['rows'] / fw:,.0f} rows/s wall, {floor['rows'] / fc:,.0f} "
              f"rows/s CPU; correlation at {(a3 / cw3) / (floor['rows'] / fw):.0%} (wall) / "
              f"{(a3 / c3) / (floor['rows'] / fc):.0%} (CPU) of the floor")
        print(f"  bare SELECT through SQLAlchemy (datetime processing) of all {nb} alerts {bw:.2f} s -> "
              f"{nb / bw:,.0f} rows/s; correlation at {(a3 / cw3) / (nb / bw):.0%} of it")
    if pg:
        events, iw = ingest(pg, files)
        print(f"PostgreSQL ingest: {events} events in {iw:.2f} s -> {events / iw:,.0f} events/s")
        from sqlalchemy import create_engine, text

        eng = create_engine(pg, isolation_level="AUTOCOMMIT")
        with eng.connect() as c:  # what autovacuum does after a bulk load: planner statistics
            c.execute(text("ANALYZE"))
        eng.dispose()
        r, cw = correlate(pg, cfg, "pg")
        print(f"PostgreSQL correlation: {r['alerts_scanned']} alerts in {cw:.2f} s wall ({CPU['pg']:.2f} s CPU) -> "
              f"{r['alerts_scanned'] / cw:,.0f} alerts/s; ingest + correlation {events / (iw + cw):,.0f} events/s")
        search_latency(pg, "PostgreSQL")
    else:
        print("PostgreSQL: skipped (give --pg URL or CITYGOV_BENCH_PG_URL)")


if __name__ == "__main__":
    main()
