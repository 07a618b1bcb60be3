"""Start-up cost of the ``citygov`` command, against bare Python and bare Flask measured in the same run.

A cold ``citygov projects similar --id X`` is mostly process start: the interpreter, Flask and SQLModel, the
app factory (config, 60 SQLModel tables, ~200 routes, every package's policies) and whatever the command
imports. This script measures, each in fresh processes (median of ``--runs``; CPU = user + system of the
child, wall = elapsed; the machine is shared, so CPU is the figure to compare):

* peers: ``python -c pass``, ``python -c "import flask"`` and bare ``flask --help`` (Flask's own CLI with no
  app), and ``python -c "import sqlmodel, flask, flask_babel, flask_wtf"`` (the libraries citygov is built on);
* citygov: ``--help`` (no app), ``projects list`` (app + one query), ``projects similar --id`` (app + the
  persisted index mapped + one ranking) on a fresh instance holding ``--n`` imported projects;
* optionally the same citygov commands from another checkout (``--before /path/to/checkout``: e.g. the main
  branch before the lazy imports) in the same run;

and lists which heavy libraries each citygov command loaded (numpy, scipy, matplotlib, weasyprint, rdflib,
pyshacl, openapi-core, schemathesis, openpyxl, jsonschema, yaml, cryptography).

Bytecode: the script gives the children a private bytecode cache (``PYTHONPYCACHEPREFIX``) and warms it, as an
installed package has compiled ``.pyc`` files; ``--no-bytecode`` measures with compilation on every start
(what ``PYTHONDONTWRITEBYTECODE=1`` does to a source checkout).

    python benchmarks/cli_startup.py                       # 2,000 projects, 7 runs each
    python benchmarks/cli_startup.py --before /work/main   # also the other checkout, same instance
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("numpy", "scipy", "matplotlib", "weasyprint", "rdflib", "pyshacl", "openapi_core", "schemathesis",
         "openpyxl", "jsonschema", "yaml", "cryptography", "pandas")
PROBE = ("import atexit, sys\n"
         "atexit.register(lambda: sys.stderr.write('\\nHEAVY ' + ','.join(m for m in {heavy!r} if m in sys.modules)"
         " + '\\n'))\n"
         "sys.argv = ['citygov'] + {args!r}\n"
         "from portal.cli import main\n"
         "main()\n")


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str, str]:
    c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tempfile.gettempdir(), check=False)
    wall = time.perf_counter() - t0
    c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (c1.ru_utime + c1.ru_stime) - (c0.ru_utime + c0.ru_stime)
    return cpu, wall, r.stdout, r.stderr + ("" if r.returncode in (0, 2) or "--help" in cmd else f"\nexit {r.returncode}")


def measure(label: str, cmd: list[str], env: dict[str, str], runs: int, rows: list) -> dict:
    run(cmd, env)  # warm the bytecode cache and the page cache
    cpus, walls, heavy = [], [], ""
    for _ in range(runs):
        cpu, wall, _out, err = run(cmd, env)
        cpus.append(cpu)
        walls.append(wall)
        for line in err.splitlines():
            if line.startswith("HEAVY"):
                heavy = line[6:] or "-"
    row = {"label": label, "cpu": statistics.median(cpus), "wall": statistics.median(walls), "heavy": heavy}
    rows.append(row)
    print(f"  {label:<58} CPU {row['cpu']:6.3f} s   wall {row['wall']:6.3f} s"
          + (f"   heavy: {heavy}" if heavy else ""), flush=True)
    return row


def citygov(args: list[str], checkout: Path) -> tuple[list[str], dict]:
    return [sys.executable, "-c", PROBE.format(heavy=HEAVY, args=args)], {"PYTHONPATH": str(checkout)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=2000, help="projects imported into the instance (default 2,000)")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--before", type=Path, help="another checkout to measure the same citygov commands from")
    ap.add_argument("--no-bytecode", action="store_true", help="compile on every start (no .pyc cache)")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="citygov-startup-"))
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CITYGOV_", "FLASK_", "PYTHON"))}
    base.update(CITYGOV_INSTANCE_PATH=str(tmp / "inst"), CITYGOV_ENV="development",
                CITYGOV_SECRET_KEY="startup-" + "x" * 40, CITYGOV_DATABASE_URL=f"sqlite:///{tmp / 'db.sqlite'}",
                CITYGOV_LOG_LEVEL="WARNING")
    if args.no_bytecode:
        base["PYTHONDONTWRITEBYTECODE"] = "1"
    else:
        base["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
    try:
        sys.path.insert(0, str(ROOT))
        from registry import generator

        setup = dict(base, PYTHONPATH=str(ROOT))
        cli = [sys.executable, "-c", "from portal.cli import main; main()"]
        subprocess.run([*cli, "db", "upgrade"], env=setup, check=True, capture_output=True)
        lib = tmp / "library.ndjson"
        with lib.open("w", encoding="utf-8") as fh:
            for i, d in enumerate(generator.iter_library(args.n, seed=11)):
                fh.write(json.dumps(dict(d, title=f"{d['title']}·{i}", state="approved", approved_on="2024-03-01",
                                         decision_ref=f"深发改〔2024〕{i}号"), ensure_ascii=False) + "\n")
        r = subprocess.run([*cli, "projects", "import", str(lib), "--create-organisations", "--format", "json"],
                           env=setup, check=True, capture_output=True, text=True)
        target = json.loads(r.stdout)["ids"][args.n // 2]

        load = os.getloadavg()
        print(f"citygov start-up, {args.runs} runs each (median), instance with {args.n:,} imported projects, "
              f"bytecode {'compiled on every start' if args.no_bytecode else 'cached'}; "
              f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        rows: list[dict] = []
        peers = [("python -c pass", [sys.executable, "-c", "pass"]),
                 ("python -c 'import flask'", [sys.executable, "-c", "import flask"]),
                 ("flask --help (bare Flask CLI, no app)", [str(Path(sys.executable).with_name("flask")), "--help"]),
                 ("import sqlmodel, flask, flask_babel, flask_wtf",
                  [sys.executable, "-c", "import sqlmodel, flask, flask_babel, flask_wtf"])]
        for label, cmd in peers:
            measure(label, cmd, base, args.runs, rows)
        commands = [("--help", ["--help"]), ("projects list", ["projects", "list", "--per-page", "1"]),
                    ("projects similar --id", ["projects", "similar", "--id", target, "--format", "json"])]
        checkouts = [("", ROOT)] + ([(" [before]", args.before.resolve())] if args.before else [])
        for suffix, checkout in checkouts:
            for label, cargs in commands:
                cmd, extra = citygov(cargs, checkout)
                measure(f"citygov {label}{suffix}", cmd, dict(base, **extra), args.runs, rows)
        by = {r["label"]: r for r in rows}
        flask_cpu = by["flask --help (bare Flask CLI, no app)"]["cpu"]
        libs_cpu = by["import sqlmodel, flask, flask_babel, flask_wtf"]["cpu"]
        sim = by["citygov projects similar --id"]
        lst = by["citygov projects list"]
        print(f"  ratios: projects list / bare flask --help {lst['cpu'] / flask_cpu:.1f}x, "
              f"/ the libraries' own import {lst['cpu'] / libs_cpu:.1f}x; app + command beyond the libraries "
              f"{lst['cpu'] - libs_cpu:.2f} s CPU; similar --id adds {sim['cpu'] - lst['cpu']:.2f} s CPU to list")
        if args.before:
            for label, _ in commands:
                a, b = by[f"citygov {label}"], by[f"citygov {label} [before]"]
                print(f"  {label:<24} before {b['cpu']:.3f} s CPU -> now {a['cpu']:.3f} s CPU "
                      f"({b['cpu'] / max(a['cpu'], 1e-9):.2f}x)")
        print(f"  target: cold `citygov projects similar --id` < 1 s -> CPU {sim['cpu']:.2f} s, wall {sim['wall']:.2f} s: "
              f"{'met' if min(sim['cpu'], sim['wall']) < 1.0 else 'NOT met'}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
