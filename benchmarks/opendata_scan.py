"""Scan throughput of opendata's column classifier on a generated mixed CSV, beside the bare rate of
Python's ``re`` running the same recogniser patterns over the same bytes (no CSV parsing, no validation).

    python benchmarks/opendata_scan.py [--size-mb 50] [--file PATH]

Also prints recall / precision per identifier type on a generated labelled sample.
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

from opendata.generate import COLUMNS, Generator, write_csv  # noqa: E402
from opendata.recognizers import default_detector  # noqa: E402
from opendata.scan import scan_table  # noqa: E402
from opendata.tabular import open_table  # noqa: E402


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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mb", type=float, default=50.0, help="size of the generated CSV (the issue's target: 1024)")
    ap.add_argument("--file", help="scan this CSV instead of generating one")
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
        write_csv(path, size_mb=args.size_mb)
        print(f"generated {path.stat().st_size / 1e6:.1f} MB in {time.perf_counter() - t0:.1f}s")
    try:
        size = path.stat().st_size / 1e6
        t_re, hits = bare_re(path, det)
        t0 = time.perf_counter()
        rep = scan_table(open_table(path), detector=det, sample_rows=None)
        t_scan = time.perf_counter() - t0
        print(f"bare re ({len(det.recognizers)} patterns, finditer, no validation): {size / t_re:8.1f} MB/s  ({hits} raw hits)")
        print(f"opendata full scan (CSV parse + validate + classify):  {size / t_scan:8.1f} MB/s  "
              f"({rep.rows_scanned} rows, {t_scan:.1f}s)")
        print(f"ratio opendata / bare re: {t_re / t_scan:.2f}")
        for c in rep.columns:
            print(f"  {c.name:10s} {c.entity or '-':18s} {c.confidence:.2f}")
        print("recall / precision on generated labelled cells (5000 rows):")
        for ent, (r, p) in recall_precision().items():
            print(f"  {ent:18s} recall {r:.4f}  precision {p:.4f}")
    finally:
        if tmp is not None:
            os.unlink(path)


if __name__ == "__main__":
    main()
