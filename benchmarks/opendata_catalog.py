"""Catalog figures: CKAN ``package_search`` (keyword + two facets), the DCAT-AP export, and the release
check of a large CSV beside the stand-alone scan of the same file.

    python benchmarks/opendata_catalog.py [--datasets 10000] [--search-sizes 1000,10000,100000]
                                          [--queries 20] [--csv-mb 100]

Datasets are inserted in bulk into a migrated SQLite database in a temporary directory (one CSV
distribution each). Peers measured in the same run: rdflib's bare serialisation of the same graph
(for the export) and ``scan_table(sample_rows=None)`` on the same file (for the release check).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

THEMES = ["TRAN", "HEAL", "GOVE", "ECON", "ENVI", "EDUC"]
WORDS = ["公交", "地铁", "医疗", "门诊", "学校", "空气", "预算", "道路", "停车", "人口", "bus", "metro", "clinic", "school", "air"]


def _db(tmp: Path):
    from portal import db as db_mod

    url = f"sqlite:///{tmp / 'bench.sqlite'}"
    db_mod.import_models()
    db_mod.upgrade(url)
    return db_mod.Database(url)


def _fill(database, start: int, n: int, seed: int = 7) -> float:
    from kernel.ids import new_id
    from opendata.models import Dataset, Distribution

    rnd = random.Random(seed)
    with database.session_scope() as s:
        conn = s.connection()
        ds_rows, dist_rows = [], []
        for i in range(start, start + n):
            kw = rnd.sample(WORDS, 3)
            did = new_id()
            org = f"org-{i % 40}"
            ds_rows.append(dict(id=did, name=f"ds-{i:06d}", org_id=org, organisation=f"部门{i % 40}", title_zh=f"{kw[0]}数据{i}",
                                title_en=f"{kw[1]} data {i}", description_zh=f"关于{kw[0]}和{kw[2]}的统计", description_en=f"About {kw[1]}",
                                theme=rnd.choice(THEMES), keywords=kw, licence="CC-BY-4.0", frequency="MONTHLY",
                                contact_email="a@b.cn", grade="unconditional", quasi_identifiers=[], state="published",
                                version=1, created_at=_now(), updated_at=_now(), published_at=_now()))
            dist_rows.append(dict(id=new_id(), dataset_id=did, title=f"f{i}.csv", format=rnd.choice(["CSV", "JSON", "XLSX"]),
                                  media_type="text/csv", filename=f"f{i}.csv", byte_size=1000, sha256="0" * 64, rows=10,
                                  created_at=_now()))
        conn.execute(Dataset.__table__.insert(), ds_rows)
        conn.execute(Distribution.__table__.insert(), dist_rows)
        # bulk Core inserts bypass the ORM flush hook that keeps the full-text index: index them here
        from opendata.search import index_datasets

        t0 = time.perf_counter()
        index_datasets(conn, [r["id"] for r in ds_rows])
        s.commit()
        return time.perf_counter() - t0


def _now():
    from kernel.clock import utcnow

    return utcnow()


def _like_peer(database, q: str, theme: str, fmt: str) -> float:
    """The peer: the same keyword + two filters as a plain SQL LIKE scan (what package_search did
    before the full-text index), counting the matches only."""
    from sqlalchemy import exists, func, or_, select

    from opendata.models import Dataset, Distribution

    with database.session_scope() as s:
        t0 = time.perf_counter()
        pat = f"%{q}%"
        cols = (Dataset.name, Dataset.title_zh, Dataset.title_en, Dataset.description_zh, Dataset.description_en)
        stmt = select(func.count()).select_from(Dataset).where(
            Dataset.state == "published", Dataset.theme == theme, or_(*[c.ilike(pat) for c in cols]),
            exists().where(Distribution.dataset_id == Dataset.id, Distribution.format == fmt))
        s.execute(stmt).scalar_one()
        return time.perf_counter() - t0


def bench_search(database, n: int, queries: int) -> dict:
    from kernel.principal import Principal
    from opendata.ckan import package_search

    anon = Principal(kind="anonymous")
    rnd = random.Random(1)
    times, peer, cpu = [], [], []
    with database.session_scope() as s:  # one warm-up query (statement compilation, page cache), reported apart
        t0 = time.perf_counter()
        package_search(s, anon, {"q": "warm", "fq": "groups:tran", "facet.field": '["organization"]'}, "http://x")
        cold = time.perf_counter() - t0
    for _ in range(queries):
        word, theme = rnd.choice(WORDS), rnd.choice(THEMES)
        params = {"q": word, "fq": f"groups:{theme.lower()} res_format:CSV", "rows": 10,
                  "facet.field": json.dumps(["organization", "tags"])}
        with database.session_scope() as s:
            t0, c0 = time.perf_counter(), time.process_time()
            res = package_search(s, anon, params, "http://x")
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        peer.append(_like_peer(database, word, theme, "CSV"))
    times.sort()
    peer.sort()

    def p95(xs):
        return xs[max(0, int(round(0.95 * len(xs))) - 1)]

    return {"datasets": n, "queries": queries, "cold_first_query_ms": round(cold * 1000, 1), "median_ms": round(statistics.median(times) * 1000, 1),
            "p95_ms": round(p95(times) * 1000, 1), "cpu_median_ms": round(statistics.median(cpu) * 1000, 1),
            "cpu_p95_ms": round(p95(sorted(cpu)) * 1000, 1), "last_count": res["count"],
            "peer_like_scan_count_only_median_ms": round(statistics.median(peer) * 1000, 1),
            "peer_like_scan_p95_ms": round(p95(peer) * 1000, 1),
            "p95_ratio_vs_like_scan": round(p95(times) / p95(peer), 3)}


def bench_dcat(database, n: int, peer_n: int) -> dict:
    """The streaming Turtle writer over ``n`` datasets; peer: rdflib (graph + its Turtle serialiser)
    on the first ``peer_n`` of them, and the streaming writer on the same ``peer_n`` for the ratio."""
    import io

    from rdflib import Graph
    from sqlmodel import select

    from opendata.dcat import catalog_graph, serialize, write_catalog_turtle
    from opendata.models import Dataset

    out: dict = {}
    with database.session_scope() as s:
        rows = list(s.exec(select(Dataset).order_by(Dataset.name).limit(n)))
        t0 = time.perf_counter()
        buf = io.StringIO()
        write_catalog_turtle(s, rows, "http://x", buf)
        t_stream = time.perf_counter() - t0
        data = buf.getvalue().encode("utf-8")
        out.update(datasets=len(rows), stream_s=round(t_stream, 2), bytes=len(data))
        t1 = time.perf_counter()
        triples = len(Graph().parse(data=data, format="turtle"))
        out.update(triples=triples, parse_back_s=round(time.perf_counter() - t1, 2))
        few = rows[:peer_n]
        t2 = time.perf_counter()
        write_catalog_turtle(s, few, "http://x", io.StringIO())
        t_few = time.perf_counter() - t2
        t3 = time.perf_counter()
        g = catalog_graph(s, few, "http://x")
        t_graph = time.perf_counter() - t3
        t4 = time.perf_counter()
        serialize(g, "ttl")
        t_ser = time.perf_counter() - t4
        out.update(peer_datasets=len(few), stream_peer_size_s=round(t_few, 2), rdflib_graph_s=round(t_graph, 2),
                   rdflib_serialize_s=round(t_ser, 2), rdflib_total_s=round(t_graph + t_ser, 2),
                   speedup_vs_rdflib_same_size=round((t_graph + t_ser) / t_few, 1))
    return out


def bench_release_check(tmp: Path, mb: int) -> dict:
    from opendata.gate import gate_table
    from opendata.generate import write_csv_fast
    from opendata.scan import scan_table
    from opendata.tabular import open_table

    path = tmp / "big.csv"
    write_csv_fast(path, size_mb=mb, seed=3)
    size = path.stat().st_size / 1e6
    t0 = time.perf_counter()
    scan_table(open_table(str(path)), sample_rows=None)
    t_scan = time.perf_counter() - t0
    t1 = time.perf_counter()
    rep = gate_table(open_table(str(path)))
    t_gate = time.perf_counter() - t1
    return {"csv_mb": round(size, 1), "scan_s": round(t_scan, 2), "scan_mb_s": round(size / t_scan, 1),
            "gate_s": round(t_gate, 2), "gate_mb_s": round(size / t_gate, 1), "gate_vs_scan_rate": round(t_scan / t_gate, 2),
            "blocking_findings": len(rep.blocking)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", type=int, default=10000, help="datasets for the DCAT export")
    ap.add_argument("--peer-datasets", type=int, default=1000, help="datasets for rdflib's serialiser (the peer)")
    ap.add_argument("--search-sizes", default="1000,10000,100000")
    ap.add_argument("--queries", type=int, default=20)
    ap.add_argument("--csv-mb", type=int, default=100)
    ap.add_argument("--skip", default="", help="comma list of parts to skip: search,dcat,release")
    a = ap.parse_args()
    skip = set(filter(None, a.skip.split(",")))
    print(f"load average: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        database = _db(tmp)
        have = 0
        for n in sorted(int(x) for x in a.search_sizes.split(",")):
            t_index = _fill(database, have, n - have, seed=n)
            print(f"indexed {n - have} datasets in {t_index:.1f} s ({(n - have) / t_index:.0f}/s)", flush=True)
            have = n
            if "search" not in skip:
                print("package_search", bench_search(database, n, a.queries), flush=True)
            if n >= a.datasets and "dcat" not in locals() and "dcat" not in skip:
                dcat = bench_dcat(database, a.datasets, a.peer_datasets)
                print("dcat export", dcat)
        if "dcat" not in locals() and "dcat" not in skip:
            if have < a.datasets:
                _fill(database, have, a.datasets - have, seed=a.datasets)
            print("dcat export", bench_dcat(database, a.datasets, a.peer_datasets))
        if "release" not in skip:
            print("release check", bench_release_check(tmp, a.csv_mb))
    print(f"load average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
