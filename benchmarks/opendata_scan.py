"""Scan throughput of opendata's column classifier on a generated mixed CSV, beside the bare rate of
Python's ``re`` running the same recogniser patterns over the same bytes (no CSV parsing, no validation).

    python benchmarks/opendata_scan.py [--size-mb 20] [--file PATH] [--slow-mb 2]

The CSV comes from the vectorised generator (``opendata.generate.write_csv_fast``, ~10 MB/s, so the
issue's 1 GB run is ``--size-mb 1024``). Figures: the default column classification over the whole
file (``scan_table(sample_rows=None)``, fast path), the bare ``re`` rate (the same recogniser
patterns, ``finditer`` over the same decoded bytes, no CSV parsing, no validation) and their ratio;
the reference per-batch path (``fast=False``) on the first ``--slow-mb`` MB with its verdicts
compared to the fast path's. Also prints recall / precision per identifier type on a generated
labelled sample.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from opendata.generate import COLUMNS, Generator, write_csv_fast  # noqa: E402
from opendata.recognizers import default_detector  # noqa: E402
from opendata.scan import scan_table  # noqa: E402
from opendata.tabular import open_table  # noqa: E402


class Clock:
    """Wall and CPU time of a block (CPU time is the steadier figure on a shared machine)."""

    def __enter__(self):
        self.w, self.c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.w, time.process_time() - self.c


def bare_re(path: Path, det) -> tuple[float, int]:
    t0 = time.perf_counter()
    hits = 0
    with open(path, encoding="utf-8") as fh:
        while True:
            chunk = fh.read(1 << 24)
            if not chunk:
                break
            for rec in det.recognizers:
                hits += sum(1 for _ in rec.regex.finditer(chunk))
    return time.perf_counter() - t0, hits


def recall_precision(n: int = 5000) -> dict[str, tuple[float, float]]:
    det = default_detector()
    tp, fp, fn = Counter(), Counter(), Counter()
    for cells, truth in Generator(seed=99).rows(n):
        for cell, exp in zip(cells, truth):
            f = det.classify_cell(cell, threshold=0.4)
            got = f.entity if f else None
            if exp and got == exp:
                tp[exp] += 1
                continue
            if exp:
                fn[exp] += 1
            if got:
                fp[got] += 1
    out = {}
    for ent in sorted({e for e in COLUMNS.values() if e}):
        r = tp[ent] / max(tp[ent] + fn[ent], 1)
        p = tp[ent] / max(tp[ent] + fp[ent], 1)
        out[ent] = (r, p)
    return out


def _prefix(path: Path, mb: float) -> Path:
    """The first ``mb`` MB of a CSV (whole lines) as a temporary file."""
    limit = int(mb * 1e6)
    out = Path(tempfile.mkstemp(suffix=".csv")[1])
    with open(path, "rb") as src, open(out, "wb") as dst:
        data = src.read(limit)
        if len(data) == limit:
            data = data[: data.rfind(b"\n") + 1]
        dst.write(data)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mb", type=float, default=20.0, help="size of the generated CSV (the issue's target: 1024)")
    ap.add_argument("--file", help="scan this CSV instead of generating one")
    ap.add_argument("--slow-mb", type=float, default=2.0, help="MB scanned by the reference path too (0: skip)")
    ap.add_argument("--no-recall", action="store_true", help="skip the recall / precision table")
    args = ap.parse_args()
    det = default_detector()
    tmp = None
    if args.file:
        path = Path(args.file)
    else:
        tmp = tempfile.NamedTemporaryFile(suffix=".csv", delete=False)
        tmp.close()
        path = Path(tmp.name)
        t0 = time.perf_counter()
        write_csv_fast(path, size_mb=args.size_mb)
        dt = time.perf_counter() - t0
        print(f"generated {path.stat().st_size / 1e6:.1f} MB in {dt:.1f}s ({path.stat().st_size / 1e6 / dt:.1f} MB/s)")
    try:
        size = path.stat().st_size / 1e6
        with Clock() as c_re:
            _t, hits = bare_re(path, det)
        with Clock() as c_scan:
            rep = scan_table(open_table(path), detector=det, sample_rows=None)
        print(f"bare re ({len(det.recognizers)} patterns, finditer, no validation): {size / c_re.wall:8.2f} MB/s wall, "
              f"{size / c_re.cpu:8.2f} MB/s CPU  ({hits} raw hits)")
        print(f"opendata column scan, whole file (CSV parse + validate + classify): {size / c_scan.wall:8.2f} MB/s wall, "
              f"{size / c_scan.cpu:8.2f} MB/s CPU  ({rep.rows_scanned} rows, {c_scan.wall:.1f}s)")
        print(f"ratio opendata / bare re: {c_re.wall / c_scan.wall:.2f} (wall), {c_re.cpu / c_scan.cpu:.2f} (CPU)")
        if hasattr(os, "getloadavg"):
            print("load average (1, 5, 15 min): " + ", ".join(f"{x:.2f}" for x in os.getloadavg())
                  + f"  ({os.cpu_count()} CPUs; the machine may be shared: CPU figures are the steadier ones)")
        for c in rep.columns:
            print(f"  {c.name:10s} {c.entity or '-':18s} {c.confidence:.2f}")
        if args.slow_mb > 0:
            pre = _prefix(path, args.slow_mb)
            try:
                psize = pre.stat().st_size / 1e6
                with Clock() as c_f:
                    fast = scan_table(open_table(pre), detector=det, sample_rows=None).as_dict()
                with Clock() as c_s:
                    slow = scan_table(open_table(pre), detector=det, sample_rows=None, fast=False).as_dict()
                same = fast["columns"] == slow["columns"]
                print(f"first {psize:.1f} MB: fast {psize / c_f.cpu:.2f} MB/s CPU, reference per-batch path "
                      f"{psize / c_s.cpu:.2f} MB/s CPU (x{c_s.cpu / c_f.cpu:.1f}); same column results: {same}")
            finally:
                os.unlink(pre)
        if not args.no_recall:
            print("recall / precision on generated labelled cells (5000 rows):")
            for ent, (r, p) in recall_precision().items():
                print(f"  {ent:18s} recall {r:.4f}  precision {p:.4f}")
    finally:
        if tmp is not None:
            os.unlink(path)


if __name__ == "__main__":
    main()
