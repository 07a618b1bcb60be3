"""NDJSON validation throughput: citygov's streaming validator vs a bare, pre-compiled jsonschema validator.

Both validate the same generated file against the same schema (one record per line, ~10 % invalid).
The bare loop is the floor: ``for line in f: v.iter_errors(json.loads(line))`` with the validator built
once. citygov adds per-record error objects (pointer, line, rule), counts per rule and example capping.
Prints records/s for each and the ratio (citygov time / bare time; the issue's budget is <= 1.25).
Also prints peak memory for two file sizes (streaming: flat in file size).

    python benchmarks/standards_ndjson.py [records]
"""

from __future__ import annotations

import json
import os
import random
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from jsonschema import Draft202012Validator  # noqa: E402

from standards.documents import validate_ndjson  # noqa: E402
from standards.jsonschema_engine import compile_schema  # noqa: E402

SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["id", "name", "district", "born", "household"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "pattern": "^[0-9]{17}[0-9X]$"},
        "name": {"type": "string", "minLength": 1, "maxLength": 50},
        "district": {"enum": ["东城", "西城", "朝阳", "海淀", "丰台", "石景山"]},
        "born": {"type": "integer", "minimum": 1900, "maximum": 2026},
        "household": {"type": "object", "required": ["size"], "properties": {
            "size": {"type": "integer", "minimum": 1}, "members": {"type": "array", "items": {"type": "string"}}}},
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 5},
    },
}


def make_file(path: Path, n: int) -> None:
    rnd = random.Random(42)
    districts = SCHEMA["properties"]["district"]["enum"]
    with path.open("w", encoding="utf-8") as fh:
        for i in range(n):
            rec = {"id": f"{rnd.randrange(10**16, 10**17)}{rnd.randrange(10)}", "name": f"居民{i}",
                   "district": rnd.choice(districts), "born": rnd.randrange(1920, 2025),
                   "household": {"size": rnd.randrange(1, 6), "members": [f"m{j}" for j in range(rnd.randrange(0, 4))]},
                   "tags": ["a", "b"]}
            if i % 10 == 0:
                rec["born"] = "unknown" if i % 20 == 0 else 1800
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")


def bare(path: Path) -> int:
    v = Draft202012Validator(SCHEMA)
    errors = 0
    with path.open("rb") as fh:
        for line in fh:
            for _ in v.iter_errors(json.loads(line)):
                errors += 1
    return errors


def ours(path: Path) -> int:
    compiled = compile_schema(SCHEMA)
    with path.open("rb") as fh:
        rep = validate_ndjson(compiled, fh, filename=path.name)
    return rep.total


def best_of(fn, path, repeat=3):
    best = None
    result = None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn(path)
        dt = time.perf_counter() - t
        best = dt if best is None else min(best, dt)
    return best, result


def peak_memory(fn, path) -> int:
    tracemalloc.start()
    fn(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "data.ndjson"
        make_file(path, n)
        size = os.path.getsize(path)
        tb, eb = best_of(bare, path)
        to, eo = best_of(ours, path)
        assert eb == eo, (eb, eo)
        print(f"records: {n}  file: {size / 1e6:.1f} MB  errors: {eo}")
        print(f"bare jsonschema (json.loads + iter_errors): {tb:.3f} s  {n / tb:,.0f} records/s")
        print(f"citygov validate_ndjson:                    {to:.3f} s  {n / to:,.0f} records/s")
        print(f"ratio citygov / bare: {to / tb:.3f}  (budget <= 1.25)")
        small = Path(d) / "small.ndjson"
        make_file(small, max(1, n // 10))
        m_small, m_big = peak_memory(ours, small), peak_memory(ours, path)
        print(f"peak traced memory: {n // 10} records {m_small / 1e6:.2f} MB, {n} records {m_big / 1e6:.2f} MB "
              f"(ratio {m_big / max(m_small, 1):.2f}; flat ≈ 1)")


if __name__ == "__main__":
    main()
