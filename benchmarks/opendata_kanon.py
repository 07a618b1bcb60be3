"""k-anonymity on ARX's Adult (30,162 rows, 9 quasi-identifiers): lattice search time and nodes checked
beside ARX's published anonbench figures (CBMS 2014: Flash ≈27 ms / 115 checks for 5-anonymity, on a
3.1 GHz i5 with JVM 1.7 -- a different machine and language), and k/l measurement time beside pycanon
on the same data and quasi-identifiers.

    python benchmarks/opendata_kanon.py [--shared PATH]
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from opendata.anonymity import Encoded, load_hierarchies, measure, search  # noqa: E402

ANONBENCH_ADULT_K5 = {"Flash": (27, 115), "OLA": (64, 90), "DFS": (41, 172), "Incognito": (1090, 1302), "BFS": (2460, 4278)}


def main() -> None:
    ap = argparse.ArgumentParser()
    default = os.environ.get("CITYGOV_SHARED_DATA") or str(Path(__file__).resolve().parents[1] / ".." / "shared" / "data")
    ap.add_argument("--shared", default=default)
    args = ap.parse_args()
    d = Path(args.shared) / "k-anonymity" / "arx-adult"
    if not d.is_dir():
        sys.exit(f"shared data not found at {d}")
    with open(d / "adult.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh, delimiter=";"))
    hdr, data = rows[0], rows[1:]
    H = load_hierarchies(d, hdr)
    t0 = time.perf_counter()
    enc = Encoded.build(data, hdr, hdr, H)
    print(f"encode {len(data)} rows x {len(hdr)} QIs: {time.perf_counter() - t0:.2f}s")
    print(f"{'model':28s} {'transformation':28s} {'suppr':>6s} {'checked':>8s} {'lattice':>8s} {'time':>8s}")
    for k, sup in ((5, 0.0), (5, 0.04), (100, 0.0), (100, 0.04)):
        r = search(enc, k=k, suppression=sup)
        print(f"{f'{k}-anonymity, {sup:.0%} suppression':28s} {str(r.transformation):28s} {r.suppressed:6d} "
              f"{r.checked:8d} {r.lattice_size:8d} {r.seconds * 1000:7.0f}ms")
    qi = [a for a in hdr if a != "occupation"]
    enc2 = Encoded.build(data, hdr, qi, H, sensitive="occupation")
    for sup in (0.0, 0.04):
        r = search(enc2, k=1, l=5, suppression=sup)
        print(f"{f'entropy-5-diversity, {sup:.0%}':28s} {str(r.transformation):28s} {r.suppressed:6d} "
              f"{r.checked:8d} {r.lattice_size:8d} {r.seconds * 1000:7.0f}ms")
    print("ARX anonbench (Adult, 5-anonymity, published): " + ", ".join(
        f"{n} {ms} ms / {c} checks" for n, (ms, c) in ANONBENCH_ADULT_K5.items()))

    # measurement vs pycanon
    t0 = time.perf_counter()
    rep = measure(data, hdr, qi, "occupation")
    t_ours = time.perf_counter() - t0
    print(f"measure k/l/t (8 QIs + occupation): k={rep.k} l_distinct={rep.l_distinct} in {t_ours * 1000:.0f} ms")
    try:
        import pandas as pd
        from pycanon import anonymity as pc
    except ImportError:
        print("pycanon not installed: pip install pycanon")
        return
    df = pd.DataFrame(data, columns=hdr)
    t0 = time.perf_counter()
    k = pc.k_anonymity(df, qi)
    t_k = time.perf_counter() - t0
    t0 = time.perf_counter()
    l = pc.l_diversity(df, qi, ["occupation"])
    t_l = time.perf_counter() - t0
    print(f"pycanon k_anonymity: k={k} in {t_k * 1000:.0f} ms; l_diversity: l={l} in {t_l * 1000:.0f} ms; "
          f"agreement: {k == rep.k and l == rep.l_distinct}; ratio ours/pycanon(k+l) {t_ours / (t_k + t_l):.2f}")


if __name__ == "__main__":
    main()
