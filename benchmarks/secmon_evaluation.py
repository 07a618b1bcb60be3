"""Quarterly city-wide evaluation over the T-Pot honeypot sample (637,549 events) plus 10,000 generated incidents.

    python benchmarks/secmon_evaluation.py [EVE_DIR] [--pg=URL]

Pins itself to one CPU core. Setup (not timed): a fresh SQLite file migrated with Alembic, the T-Pot EVE files
ingested, ET Open imported as the rule set (its import time set to before the quarter, so that coverage and
rule-set age have a version in force), five departments with systems and networks, and 10,000 incidents with
remediation tasks and responses generated with a fixed seed. Timed: building the report document (every
indicator, score, controls), rendering the HTML with its SVG charts, and rendering the PDF from that HTML —
targets < 10 s for HTML (document + render) and < 30 s for PDF. Peers measured in the same run: one bare
``GROUP BY`` over the events of the quarter (one read of what a report must read at least) and WeasyPrint rendering a plain
HTML page of the same length without charts. Never asserts on time.
"""

from __future__ import annotations

import ipaddress
import os
import random
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def shared() -> Path:
    return Path(os.environ.get("CITYGOV_SHARED_DATA") or ROOT / ".." / "shared" / "data").resolve()


def timed(fn):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def _range(net) -> tuple[str, str]:
    def h(a):
        a = ipaddress.ip_address(a)
        v = int(ipaddress.IPv6Address("::ffff:" + str(a))) if a.version == 4 else int(a)
        return f"{v:032x}"
    return h(net.network_address), h(net.broadcast_address)


def generate(session, n_incidents: int, start: datetime, end: datetime, dest_ips: list[str]) -> None:
    from sqlalchemy import insert

    from kernel import new_id
    from portal.accounts.models import Organisation
    from secmon.models import (SecmonAssetNetwork, SecmonIncident, SecmonIncidentTransition, SecmonNotification,
                               SecmonRemediationTask, SecmonResponse, SecmonSystem)

    rng = random.Random(20240101)
    now = datetime(2023, 1, 1, tzinfo=UTC)
    orgs = []
    for i in range(5):
        o = Organisation(id=new_id(), code=f"BENCH-{i}", name=f"基准部门{i}", kind="department", created_at=now)
        session.add(o)
        orgs.append(o)
    session.flush()
    systems = []
    nets = sorted({str(ipaddress.ip_network(ip + "/24", strict=False)) for ip in dest_ips if ":" not in ip})[:40]
    for j, cidr in enumerate(nets):
        s = SecmonSystem(id=new_id(), name=f"系统{j}", org_id=orgs[j % 5].id, project_id=None, mlps_level=2 + j % 3,
                         criticality="high", created_at=now, updated_at=now)
        session.add(s)
        net = ipaddress.ip_network(cidr)
        lo, hi = _range(net)
        session.add(SecmonAssetNetwork(id=new_id(), system_id=s.id, cidr=cidr, kind="network", ip_version=4,
                                       prefix_len=96 + net.prefixlen, range_start=lo, range_end=hi, created_at=now))
        systems.append(s)
    session.flush()
    levels = ["low", "medium", "high", "critical"]
    span = (end - start).total_seconds()
    inc_rows, tr_rows, no_rows, rem_rows, resp_rows = [], [], [], [], []
    for k in range(n_incidents):
        s = systems[k % len(systems)]
        created = start + timedelta(seconds=rng.random() * span)
        sev = rng.choices(levels, weights=[40, 35, 20, 5])[0]
        triaged = created + timedelta(hours=rng.expovariate(1 / 3)) if rng.random() < 0.9 else None
        contained = (triaged + timedelta(hours=rng.expovariate(1 / 20))) if triaged and rng.random() < 0.7 else None
        fp = rng.random() < 0.1
        state = "false_positive" if fp else ("resolved" if contained and rng.random() < 0.6 else
                                             "contained" if contained else "triaged" if triaged else "new")
        iid = new_id()
        inc_rows.append({"id": iid, "rule_id": "bench", "group_key": str(k), "title": f"incident {k}", "state": state,
                         "severity": sev, "score": 1, "dest_ip": rng.choice(dest_ips), "first_seen": created,
                         "last_seen": created, "alert_count": 1, "created_at": created, "updated_at": created,
                         "system_id": s.id, "org_id": s.org_id, "triaged_at": triaged, "contained_at": contained,
                         "triage_due": created + timedelta(hours=4), "contain_due": created + timedelta(hours=48),
                         "false_positive_at": created + timedelta(hours=1) if fp else None,
                         "triage_breached": False, "contain_breached": False})
        if state in ("resolved", "false_positive"):
            tr_rows.append({"id": new_id(), "incident_id": iid, "from_state": "new", "to_state": state,
                            "actor": "user:bench", "at": created + timedelta(hours=30)})
        if sev in ("high", "critical"):
            no_rows.append({"id": new_id(), "incident_id": iid, "channel": "webhook", "target": "http://127.0.0.1/",
                            "status": "delivered" if rng.random() < 0.95 else "failed", "attempts": 1,
                            "payload_sha256": "0" * 64, "created_at": created})
        if k % 5 == 0:
            due = created + timedelta(days=14)
            fixed = due - timedelta(days=rng.randint(-5, 10))
            rem_rows.append({"id": new_id(), "incident_id": iid, "org_id": s.org_id, "system_id": s.id,
                             "title": f"fix {k}", "severity": sev, "state": "fixed", "created_by": "user:bench",
                             "created_at": created, "due_at": due, "quiet_days": 7, "fixed_at": fixed,
                             "overdue": False, "escalation_level": 0})
        if k % 7 == 0:
            resp_rows.append({"id": new_id(), "state": "approved", "title": f"block {k}", "incident_id": iid,
                              "proposed_by": "user:a", "proposed_at": created,
                              "decided_by": "user:b", "decided_at": created + timedelta(hours=rng.random() * 48)})
    for model, rows in ((SecmonIncident, inc_rows), (SecmonIncidentTransition, tr_rows),
                        (SecmonNotification, no_rows), (SecmonRemediationTask, rem_rows), (SecmonResponse, resp_rows)):
        for i in range(0, len(rows), 2000):
            session.execute(insert(model), rows[i:i + 2000])
    session.commit()


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    eve_dir = Path(args[0]) if args else shared() / "suricata" / "eve" / "tpot-honeypot-2023"
    rules = shared() / "suricata" / "rules" / "et-open-2024-04-21"
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    from sqlalchemy import text
    from sqlmodel import Session

    from kernel import system_principal
    from portal import db as dbm
    from secmon import services
    from secmon.evaluation import render
    from secmon.evaluation import services as ev

    tmp = tempfile.mkdtemp(prefix="citygov-bench-eval-")
    pg = next((a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--pg=")), None) or os.environ.get(
        "CITYGOV_BENCH_PG_URL")
    url = pg or f"sqlite:///{tmp}/bench.sqlite"  # --pg=URL: an empty, disposable PostgreSQL database
    print(f"database: {url.split('@')[-1] if pg else 'SQLite ' + url}")
    dbm.upgrade(url)
    engine = dbm.make_engine(url)
    p = system_principal("bench")
    files = sorted(str(f) for f in eve_dir.iterdir() if f.is_file() and "eve.json" in f.name)
    with Session(engine) as session:
        t0 = time.perf_counter()
        version = services.ruleset_import(session, p, [rules], name="et-open")
        session.execute(text("UPDATE secmon_ruleset_version SET imported_at = :t WHERE id = :v"),
                        {"t": datetime(2023, 7, 1, tzinfo=UTC) if pg else "2023-07-01 00:00:00.000000",
                         "v": version["version_id"]})
        session.commit()
        n = sum(services.eve_ingest(session, p, [f], sensor="tpot").events for f in files)
        lo, hi = session.execute(text("SELECT min(ts), max(ts) FROM secmon_event")).one()
        start = datetime.fromisoformat(str(lo)).replace(tzinfo=UTC)
        end = datetime.fromisoformat(str(hi)).replace(tzinfo=UTC)
        dests = [r[0] for r in session.execute(text(
            "SELECT dest_ip FROM secmon_alert WHERE dest_ip IS NOT NULL GROUP BY dest_ip ORDER BY count(*) DESC LIMIT 200"))]
        generate(session, 10_000, start, end, dests)
        alerts = session.execute(text("SELECT count(*) FROM secmon_alert")).scalar_one()
        print(f"setup: {n:,} events ({alerts:,} alerts) from {len(files)} files, ET Open {version['stats']['rules']:,} "
              f"rules, 10,000 incidents; {time.perf_counter() - t0:.1f} s (not timed below)")
        period = f"{start.year}-Q{(start.month - 1) // 3 + 1}"
        now = datetime(2026, 1, 1, tzinfo=UTC)
        params = ({"s": start, "e": datetime(2099, 1, 1, tzinfo=UTC)} if pg else
                  {"s": start.replace(tzinfo=None).isoformat(" ", "microseconds"), "e": "2099-01-01"})
        _, bare_w, bare_c = timed(lambda: session.execute(text(
            "SELECT sensor_id, count(*), min(ts), max(ts) FROM secmon_event WHERE ts >= :s AND ts < :e "
            "GROUP BY sensor_id"), params).all())
        doc, doc_w, doc_c = timed(lambda: ev.evaluation_build(session, p, period, retention_days=180, verifiers=[],
                                                              now=now))
        html, html_w, html_c = timed(lambda: render.render_html(doc | {"lang": "zh"}, lang="zh"))
        pdf, pdf_w, pdf_c = timed(lambda: render.render_pdf(html))
        plain = "<html><body>" + "".join(f"<p>{i} 行 text</p>" for i in range(len(html) // 400)) + "</body></html>"
        _, wp_w, wp_c = timed(lambda: render.render_pdf(plain))
        dep, dep_w, dep_c = timed(lambda: ev.evaluation_build(session, p, period, department="BENCH-0",
                                                              retention_days=180, now=now))
    i = {x["key"]: x["value"] for x in doc["indicators"]}
    print(f"period {period}: score {doc['score']['score']} band {(doc['score']['band'] or {}).get('name')}, "
          f"coverage {doc['score']['coverage']}; alerts {i['alerts_by_severity']:,}, incidents "
          f"{i['incidents_by_severity']:,}, MTTA {i['mtta_hours']} h, gaps {i['ingestion_gaps']}")
    print(f"bare GROUP BY over the quarter's events      {bare_w:7.2f} s wall {bare_c:7.2f} s CPU")
    print(f"report document (all indicators, controls)   {doc_w:7.2f} s wall {doc_c:7.2f} s CPU "
          f"({doc_w / bare_w:.1f}x the bare GROUP BY)")
    print(f"HTML render with SVG charts ({len(html) / 1e3:.0f} kB)       {html_w:7.2f} s wall {html_c:7.2f} s CPU")
    print(f"HTML total (document + render)               {doc_w + html_w:7.2f} s   (target < 10 s)")
    print(f"PDF from that HTML ({len(pdf) / 1e3:.0f} kB)                  {pdf_w:7.2f} s wall {pdf_c:7.2f} s CPU; "
          f"total {doc_w + html_w + pdf_w:.2f} s (target < 30 s)")
    print(f"peer: WeasyPrint on a plain page of the same length {wp_w:7.2f} s wall ({pdf_w / wp_w:.1f}x)")
    print(f"department report document (BENCH-0, CIDR-scoped) {dep_w:7.2f} s wall {dep_c:7.2f} s CPU")
    print(f"load average during the run: {os.getloadavg()}")
    engine.dispose()
    shutil.rmtree(tmp, ignore_errors=True)  # the SQLite file is ~550 MB


if __name__ == "__main__":
    main()
