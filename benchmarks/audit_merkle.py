"""Audit log benchmark: append throughput and latency on SQLite, proofs at n = 1,000,000.

Run: ``python benchmarks/audit_merkle.py`` (options: ``--events``, ``--batch``, ``--n``, ``--skip-db-1m``).

1. Append on a SQLite file configured as ``portal.db`` configures it (WAL, BEGIN IMMEDIATE,
   synchronous=FULL): ``audit.record_many()`` batches of ``--batch`` events per transaction (the issue's
   ">= 5,000 events/s in batches" — events/s and the ratio to that target are printed), ``audit.record()``
   called once per event in transactions of ``--batch`` events, and single-event transactions
   (record + commit) for latency. The tree built by all of them is checked against a recomputation.
2. A 1,000,000-leaf tree. Its subtree store is built *directly* (leaf hashes of synthetic leaves, then
   each level from the one below), not through ``record()`` — a million appends would only re-measure
   part 1. Measured on the in-memory store and on a SQLite ``audit_node`` table of the same 2n rows:
   inclusion / consistency proof generation and verification, and the root.
3. The baseline: recomputing the root from all n leaf hashes (RFC 9162 §2.1.2 one-pass stack), the
   O(n) work the subtree store avoids; the ratio is printed.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert  # noqa: E402
from sqlalchemy.orm import sessionmaker  # noqa: E402
from sqlmodel import Session  # noqa: E402

import audit  # noqa: E402
from audit import log, merkle, proofs  # noqa: E402
from audit.models import AuditNode  # noqa: E402
from kernel.principal import system_principal  # noqa: E402

SYSTEM = system_principal("bench")


def _stats(samples: list[float]) -> str:
    s = sorted(samples)
    p95 = s[min(len(s) - 1, int(len(s) * 0.95))]
    return f"median {statistics.median(s) * 1e3:8.3f} ms   p95 {p95 * 1e3:8.3f} ms   (n={len(s)})"


def _migrated_sqlite(tmp: str, name: str):
    """A SQLite file configured as ``portal.db`` configures it, holding the audit tables (created from the
    models, so the benchmark does not depend on the other packages' migrations)."""
    from portal.db import make_engine

    engine = make_engine(f"sqlite:///{Path(tmp) / name}")
    for model in (audit.AuditEvent, audit.AuditNode, audit.AuditCheckpoint):
        model.__table__.create(engine)
    return engine, sessionmaker(bind=engine, class_=Session, expire_on_commit=False)


TARGET = 5_000  # events/s, issue 3


def _item(i: int, tag: str, details: dict) -> dict:
    return {"action": "registry:project:approve", "object_type": "project", "object_id": f"{tag}-{i}",
            "state": {"id": f"{tag}-{i}", "status": "approved"}, "details": details}


def bench_append(tmp: str, events: int, batch: int) -> None:
    engine, make = _migrated_sqlite(tmp, "append.sqlite")
    details = {"decision": "approved", "comment": "meets the standard", "score": 87.5}
    print(f"\n== append on SQLite ({events} events per mode, {batch} per transaction; one core)")

    # 1. audit.record_many(): one call (one executemany of events, one of nodes) per transaction.
    t0 = time.perf_counter()
    done = 0
    while done < events:
        k = min(batch, events - done)
        with make() as s:
            audit.record_many(s, SYSTEM, [_item(done + j, "B", details) for j in range(k)])
            s.commit()
        done += k
    many = done / (time.perf_counter() - t0)
    print(f"record_many() batches:        {many:10.0f} events/s   = {many / TARGET:5.2f}x the target (>= {TARGET:,}/s)")

    # 2. audit.record() once per event, `batch` events per transaction.
    t0 = time.perf_counter()
    done = 0
    while done < events:
        with make() as s:
            for _ in range(min(batch, events - done)):
                it = _item(done, "P", details)
                audit.record(s, SYSTEM, it.pop("action"), **it)
                done += 1
            s.commit()
    per_call = done / (time.perf_counter() - t0)
    print(f"record() per call, batched:   {per_call:10.0f} events/s   = {per_call / TARGET:5.2f}x the target"
          f"   ({1e6 / per_call:.0f} us per call; record_many is {many / per_call:.1f}x faster)")

    # 3. Single-event transactions: latency.
    single = []
    record_only = []
    for i in range(300):
        with make() as s:
            t = time.perf_counter()
            audit.record(s, SYSTEM, "registry:project:approve", object_type="project", object_id=f"S-{i}",
                         state={"i": i}, details=details)
            t1 = time.perf_counter()
            s.commit()
            t2 = time.perf_counter()
        record_only.append(t1 - t)
        single.append(t2 - t)
    print(f"single event (record + commit):       {_stats(single)}")
    print(f"single event (record() in a new txn): {_stats(record_only)}   (includes the lock + tail read)")
    with make() as s:
        n = proofs.current_size(s)
        t = time.perf_counter()
        root = proofs.root_at(s, n)
        t_root = time.perf_counter() - t
        leaves = [merkle.hash_leaf(log.event_leaf(r)) for r in s.execute(
            __import__("sqlalchemy").select(audit.AuditEvent).order_by(audit.AuditEvent.seq)).scalars()]
    assert root == merkle.root_from_leaf_hashes(leaves), "store and recomputation disagree"
    print(f"root of {n} from the store: {t_root * 1e3:.3f} ms (matches the root recomputed from the stored events)")
    engine.dispose()


def _time(fn, reps: int) -> list[float]:
    out = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def bench_proofs(tmp: str, n: int, db: bool) -> None:
    print(f"\n== proofs at n = {n:,} (subtree store built directly, not through record())")
    t = time.perf_counter()
    leaves = [merkle.hash_leaf(i.to_bytes(8, "big")) for i in range(n)]
    tree = merkle.MemoryTree(leaves)
    print(f"built {sum(len(lv) for lv in tree.levels):,} nodes in {time.perf_counter() - t:.1f} s")
    rng = random.Random(1)
    reps = 300

    t = time.perf_counter()
    baseline_root = merkle.root_from_leaf_hashes(leaves)
    baseline = time.perf_counter() - t
    assert baseline == baseline and baseline_root == tree.root()

    stores = [("memory", tree.read)]
    session = None
    if db:
        engine, make = _migrated_sqlite(tmp, "proofs.sqlite")
        t = time.perf_counter()
        with make() as s:
            rows = ({"level": lv, "idx": i, "hash": h} for lv, hs in enumerate(tree.levels) for i, h in enumerate(hs))
            chunk: list[dict] = []
            for row in rows:
                chunk.append(row)
                if len(chunk) == 50_000:
                    s.execute(insert(AuditNode.__table__), chunk)
                    chunk = []
            if chunk:
                s.execute(insert(AuditNode.__table__), chunk)
            s.commit()
        print(f"loaded them into SQLite audit_node in {time.perf_counter() - t:.1f} s")
        session = make()
        stores.append(("sqlite", log.node_reader(session)))

    for name, read in stores:
        idx = [rng.randrange(n) for _ in range(reps)]
        firsts = [rng.randrange(1, n) for _ in range(reps)]
        it = iter(idx)
        gen_incl = _time(lambda: merkle.inclusion_proof(read, next(it), n), reps)
        it2 = iter(firsts)
        gen_cons = _time(lambda: merkle.consistency_proof(read, next(it2), n), reps)
        root_t = _time(lambda: merkle.tree_root(read, n), reps)
        print(f"[{name}] inclusion proof generation:   {_stats(gen_incl)}   target < 5 ms")
        print(f"[{name}] consistency proof generation: {_stats(gen_cons)}   target < 5 ms")
        print(f"[{name}] root from the store:          {_stats(root_t)}")
        ratio = baseline / statistics.median(root_t)
        print(f"[{name}] recomputing the root from all {n:,} leaves: {baseline * 1e3:.1f} ms  ->  "
              f"store is {ratio:,.0f}x faster")

    root = tree.root()
    cases = []
    for _ in range(reps):
        i = rng.randrange(n)
        cases.append((i, tree.inclusion_proof(i)))
    ci = iter(cases)

    def vi():
        i, p = next(ci)
        assert merkle.verify_inclusion(i, n, leaves[i], p, root)

    ver_incl = _time(vi, reps)
    ccases = []
    for _ in range(reps):
        m = rng.randrange(1, n)
        ccases.append((m, tree.root(m), tree.consistency_proof(m)))
    cc = iter(ccases)

    def vc():
        m, r, p = next(cc)
        assert merkle.verify_consistency(m, n, r, root, p)

    ver_cons = _time(vc, reps)
    print(f"inclusion verification:   {_stats(ver_incl)}   target < 1 ms")
    print(f"consistency verification: {_stats(ver_cons)}   target < 1 ms")
    print(f"proof lengths: inclusion {len(cases[0][1])}, consistency {len(ccases[0][2])} hashes")
    if session is not None:
        session.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--batch", type=int, default=1_000)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--skip-db-1m", action="store_true", help="measure the 1M tree in memory only")
    args = ap.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPU(s) visible; single-threaded")
    with tempfile.TemporaryDirectory(prefix="citygov-bench-") as tmp:
        bench_append(tmp, args.events, args.batch)
        bench_proofs(tmp, args.n, not args.skip_db_1m)


if __name__ == "__main__":
    main()
