"""Rule load + lint of the ET Open set: citygov secmon vs suricataparser alone vs suricata-update alone.

    python benchmarks/secmon_rules.py [RULES_DIR]

Default RULES_DIR: $CITYGOV_SHARED_DATA/suricata/rules/et-open-2024-04-21 (or ../shared/data/...).
Prints seconds, rules/s and ratios measured in the same run. Never asserts on time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def shared() -> Path:
    return Path(os.environ.get("CITYGOV_SHARED_DATA") or ROOT / ".." / "shared" / "data").resolve()


CPU: dict[str, float] = {}


def timed(fn, repeat=3, label=None):
    """Best wall time of ``repeat`` runs (and the best CPU time, own process plus children, in CPU[label])."""
    import resource

    best = best_cpu = None
    result = None
    for _ in range(repeat):
        ch0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        c = time.process_time()
        t = time.perf_counter()
        result = fn()
        el = time.perf_counter() - t
        ch1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = time.process_time() - c + (ch1.ru_utime + ch1.ru_stime) - (ch0.ru_utime + ch0.ru_stime)
        best = el if best is None else min(best, el)
        best_cpu = cpu if best_cpu is None else min(best_cpu, cpu)
    if label:
        CPU[label] = best_cpu
    return best, result


def main() -> None:
    rules_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else shared() / "suricata" / "rules" / "et-open-2024-04-21"
    files = sorted(rules_dir.glob("*.rules"))
    if not files:
        sys.exit(f"no .rules files in {rules_dir}")
    from suricataparser import parse_file as sp_parse_file

    from secmon.lint import lint_ruleset
    from secmon.policy_files import build
    from secmon.rules import load_ruleset

    t_sp, sp_rules = timed(lambda: [r for f in files for r in sp_parse_file(f)], label="sp")
    n = len(sp_rules)
    t_load, rs = timed(lambda: load_ruleset([rules_dir], ignore=()), label="load")
    t_lint, findings = timed(lambda: lint_ruleset(rs), label="lint")
    t_build, res = timed(lambda: build(load_ruleset([rules_dir])), label="build")
    try:
        from suricata.update import rule as su_rule

        t_su_parse, su_rules = timed(lambda: [r for f in files for r in su_rule.parse_file(str(f), str(f))], label="su_parse")
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            (tmp / "empty.rules").write_text("")
            (tmp / "update.yaml").write_text("")
            cmd = [sys.executable, "-m", "suricata.update.main", "-q", "-c", str(tmp / "update.yaml"), "-D",
                   str(tmp / "d"), "-o", str(tmp / "o"), "--suricata-conf", str(tmp / "none"), "--url",
                   "file://" + str(tmp / "empty.rules"), "--no-test", "--no-reload", "--local", str(rules_dir),
                   "--disable-conf", str(tmp / "x"), "--enable-conf", str(tmp / "x"), "--drop-conf", str(tmp / "x"),
                   "--modify-conf", str(tmp / "x")]
            t_su_cli, _ = timed(lambda: subprocess.run(cmd, capture_output=True, check=True), repeat=2, label="su_cli")
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", "import suricata.update.main"], check=True)
            t_su_import = time.perf_counter() - t0
    except ImportError:
        t_su_parse = t_su_cli = t_su_import = None
        su_rules = []

    ours = t_load + t_lint
    print(f"ET Open rules dir: {rules_dir} ({len(files)} files)")
    print(f"rules parsed: suricataparser {n}, citygov {len(rs.rules)} ({rs.stats()['errors']} errors), "
          f"suricata-update {len(su_rules)}")
    print(f"suricataparser.parse_file alone     {t_sp:7.3f} s  {n / t_sp:9.0f} rules/s")
    if t_su_parse:
        print(f"suricata-update rule.parse_file      {t_su_parse:7.3f} s  {len(su_rules) / t_su_parse:9.0f} rules/s")
        print(f"suricata-update full run (CLI)       {t_su_cli:7.3f} s  (incl. ~{t_su_import:.2f} s interpreter start)")
    print(f"citygov load (tolerant wrapper)      {t_load:7.3f} s  {len(rs.rules) / t_load:9.0f} rules/s")
    print(f"citygov lint ({len(findings)} findings)           {t_lint:7.3f} s")
    print(f"citygov load + lint                  {ours:7.3f} s")
    print(f"citygov build (load+policy+flowbits) {t_build:7.3f} s  ({res.summary()['enabled']} enabled)")
    cpu_ours = CPU["load"] + CPU["lint"]
    print("CPU seconds (best of runs; less sensitive to other load on the machine):")
    print(f"  suricataparser {CPU['sp']:.3f}, citygov load {CPU['load']:.3f}, lint {CPU['lint']:.3f}, "
          f"load+lint {cpu_ours:.3f}, build {CPU['build']:.3f}"
          + (f", suricata-update parse {CPU['su_parse']:.3f}, suricata-update CLI {CPU['su_cli']:.3f}"
             if "su_parse" in CPU else ""))
    print(f"  CPU ratios: load/suricataparser {CPU['load'] / CPU['sp']:.2f}x, load+lint/suricataparser "
          f"{cpu_ours / CPU['sp']:.2f}x" + (f", load+lint/suricata-update parse {cpu_ours / CPU['su_parse']:.2f}x, "
                                             f"build/suricata-update CLI {CPU['build'] / CPU['su_cli']:.2f}x"
                                             if "su_parse" in CPU else ""))
    print("wall-clock ratios:")
    print(f"  citygov load / suricataparser            {t_load / t_sp:5.2f}x")
    print(f"  citygov load+lint / suricataparser       {ours / t_sp:5.2f}x")
    if t_su_parse:
        print(f"  citygov load+lint / suricata-update parse {ours / t_su_parse:5.2f}x")
        print(f"  citygov build / suricata-update CLI run  {t_build / t_su_cli:5.2f}x")


if __name__ == "__main__":
    main()
