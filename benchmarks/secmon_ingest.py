"""EVE ingestion throughput on the T-Pot honeypot sample (~640k events) vs the bare orjson parse rate.

    python benchmarks/secmon_ingest.py [EVE_DIR] [--pg URL]

Pins itself to one CPU core. Reports wall and CPU events/s for (1) gzip + line split + orjson.loads of the
same files (the bare parse rate), (2) citygov ingestion into a fresh SQLite file (migrated with Alembic),
and (3) PostgreSQL when a URL is given (--pg or CITYGOV_BENCH_PG_URL; the database must be empty/disposable).
Peak memory: the process's max RSS after each file, which stays flat as files grow. Never asserts on time.
"""

from __future__ import annotations

import gzip
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def shared() -> Path:
    return Path(os.environ.get("CITYGOV_SHARED_DATA") or ROOT / ".." / "shared" / "data").resolve()


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bare_parse(files: list[str]) -> tuple[int, float, float, int]:
    import orjson

    n = 0
    nbytes = 0
    w, c = time.perf_counter(), time.process_time()
    for f in files:
        with open(f, "rb") as probe:
            opener = gzip.open if probe.read(2) == b"\x1f\x8b" else open
        with opener(f, "rb") as fh:
            buf = b""
            while True:
                chunk = fh.read1(1 << 20) if hasattr(fh, "read1") else fh.read(1 << 20)
                if not chunk:
                    break
                nbytes += len(chunk)
                parts = (buf + chunk).split(b"\n")
                buf = parts.pop()
                for line in parts:
                    if line:
                        orjson.loads(line)
                        n += 1
            if buf:
                orjson.loads(buf)
                n += 1
    return n, time.perf_counter() - w, time.process_time() - c, nbytes


def ingest(url: str, files: list[str], label: str) -> None:
    from sqlmodel import Session

    from kernel import system_principal
    from portal import db as dbm
    from secmon import services

    dbm.upgrade(url)
    engine = dbm.make_engine(url)
    principal = system_principal("bench")
    total = 0
    w, c = time.perf_counter(), time.process_time()
    rss = []
    with Session(engine) as session:
        for f in files:
            rep = services.eve_ingest(session, principal, [f], sensor="tpot")
            total += rep.events
            rss.append(round(rss_mb()))
    wall, cpu = time.perf_counter() - w, time.process_time() - c
    engine.dispose()
    print(f"{label}: {total} events in {wall:.2f} s wall / {cpu:.2f} s CPU -> {total / wall:,.0f} events/s wall, "
          f"{total / cpu:,.0f} events/s CPU")
    print(f"  max RSS after each file (MB): {rss}")
    return total, wall, cpu


def main() -> None:
    args = sys.argv[1:]
    pg = os.environ.get("CITYGOV_BENCH_PG_URL")
    if "--pg" in args:
        i = args.index("--pg")
        pg = args[i + 1]
        del args[i : i + 2]
    eve_dir = Path(args[0]) if args else shared() / "suricata" / "eve" / "tpot-honeypot-2023"
    try:
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
        print("pinned to one CPU core")
    except (AttributeError, OSError):
        pass
    from secmon.eve import expand_sources

    files = expand_sources([eve_dir])
    print(f"{len(files)} files from {eve_dir}")
    n, wall, cpu, nbytes = bare_parse(files)
    print(f"bare gzip + split + orjson.loads: {n} events, {nbytes / 1e6:.0f} MB in {wall:.2f} s wall / {cpu:.2f} s CPU "
          f"-> {n / wall:,.0f} events/s wall, {n / cpu:,.0f} events/s CPU (peak RSS {rss_mb():.0f} MB)")
    with tempfile.TemporaryDirectory() as tmp:
        total, iw, ic = ingest(f"sqlite:///{tmp}/bench.sqlite", files, "citygov ingest -> SQLite")
        size = sum(p.stat().st_size for p in Path(tmp).iterdir())
        print(f"  SQLite database size {size / 1e6:.0f} MB")
        print(f"  ratio to bare parse rate: {(total / iw) / (n / wall):.1%} (wall), {(total / ic) / (n / cpu):.1%} (CPU)")
    if pg:
        total, iw, ic = ingest(pg, files, "citygov ingest -> PostgreSQL")
        print(f"  ratio to bare parse rate: {(total / iw) / (n / wall):.1%} (wall)")
    else:
        print("PostgreSQL: skipped (give --pg URL or CITYGOV_BENCH_PG_URL)")


if __name__ == "__main__":
    main()
