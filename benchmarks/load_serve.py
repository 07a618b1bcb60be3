"""Load test of a served instance: mixed reads at a fixed rate while EVE ingestion and proposals run.

    python benchmarks/load_serve.py                       # 100,000 projects, 200 req/s for 60 s
    python benchmarks/load_serve.py --quick               # 5,000 projects, 100 req/s for 15 s
    python benchmarks/load_serve.py --rate 300 --duration 120 --workers 2 --threads 4 --profile

What it does:

1. **Seed** (cached: ``tmp/benchmark/load_serve/seed-<N>p/``, rebuilt with ``--reseed``; the seeding time is
   not the measurement): ``citygov demo`` (the demo city), ``citygov projects import`` of N generated
   projects in their real states (``registry.generator``, the services' own import path: validation,
   transitions, audit events, the duplicate index), ``citygov secmon ingest`` of the T-Pot EVE set from
   ``$CITYGOV_SHARED_DATA`` (all but ``eve.json.17.gz``, which is pushed during the run), a signed audit
   checkpoint, a sensor for the HTTP push and API tokens (commission admin, a department submitter).
2. **Serve**: a copy of the seeded instance under ``citygov serve --workers N --threads T`` (waitress in N
   processes on one port; by default 2 × cores single-threaded workers), and the bare-library peer: a waitress server with T threads
   answering ``hello`` from a plain WSGI function. Both are subprocesses on loopback.
3. **Peer phase**: the bare ``hello`` endpoint at the same request rate (locust, same client settings).
4. **Main phase** (locust as a library, ``FastHttpUser``): the read mix at ``--rate`` requests/s — project
   list / search / detail / similar, standards list / show, audit checkpoint / inclusion / consistency
   proofs, monitoring views, the open-data list and catalog search (CKAN ``package_search``) — while one
   sensor pushes EVE batches of the T-Pot set to ``POST /api/v1/secmon/eve`` and one department submits
   proposals (``POST /api/v1/projects?submit=1``: pre-check and duplicate detection) concurrently.
5. **Report**: per endpoint the requests, throughput, latency p50 / p95 / p99 / max (client-side, from
   every request), errors (any non-2xx or transport error), the ratio of p50 / p99 to the bare peer's,
   the load average before and after each phase, and the targets (0 errors; reads p99 < 200 ms; reads
   that compute nothing p99 < 50 ms). ``--json FILE`` writes the figures; ``--profile`` samples the workers
   with py-spy during the main phase and prints where request threads spend their time.

The machine's load matters (the client, the server and anything else share the cores): the load average is
printed with every phase.
"""

from __future__ import annotations

# locust monkey-patches the standard library with gevent; it must come first
from gevent import monkey  # isort: skip

monkey.patch_all()

import argparse
import gzip
import itertools
import json
import os
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TPOT = "suricata/eve/tpot-honeypot-2023"
PUSHED = "eve.json.17.gz"  # pushed over HTTP during the run; every other T-Pot file is seeded
SEED_VERSION = 1  # bump when the seed's contents change


def shared_data() -> Path:
    path = Path(os.environ.get("CITYGOV_SHARED_DATA") or ROOT.parent / "shared" / "data")
    if not (path / TPOT).is_dir():
        raise SystemExit(f"the T-Pot EVE set is missing: set CITYGOV_SHARED_DATA (looked in {path / TPOT})")
    return path


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:  # not Linux
        return "n/a"


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (psutil comes with locust)."""
    import psutil

    t = psutil.Process(pid).cpu_times()
    return t.user + t.system


def own_cpu_seconds() -> float:
    """User + system CPU seconds of this process (the load generator) so far."""
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine so far (Linux ``/proc/stat``; zeros elsewhere)."""
    try:
        fields = [float(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return 0.0, 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)
    return sum(fields) - idle, sum(fields)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------------------------------------ seed


def _env(instance: Path) -> dict[str, str]:
    env = dict(os.environ, CITYGOV_INSTANCE_PATH=str(instance), CITYGOV_ENV="production",
               CITYGOV_DATABASE_URL=f"sqlite:///{instance / 'citygov.sqlite'}", CITYGOV_LOG_LEVEL="WARNING",
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("CITYGOV_SECRET_KEY", None)  # the instance's config.py (written by the demo) has one
    return env


def _cli(env: dict[str, str], *args: str) -> dict | list | str:
    cmd = [sys.executable, "-c", "from portal.cli import main; main()", *args]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT, check=False)
    if r.returncode != 0:
        raise SystemExit(f"citygov {' '.join(args[:3])} failed ({r.returncode}):\n{r.stderr[-3000:]}\n{r.stdout[-2000:]}")
    out = r.stdout.strip()
    return json.loads(out) if out[:1] in "[{" else out


def _library_rows(n: int, seed: int):
    """N generated proposals, each in a real lifecycle state with the dates it requires."""
    from registry import generator

    rng = random.Random(seed)
    steps = {"submitted": ["submitted_on"], "approved": ["submitted_on", "approved_on"],
             "in_construction": ["submitted_on", "approved_on", "started_on"],
             "completed": ["submitted_on", "approved_on", "started_on", "completed_on"],
             "evaluated": ["submitted_on", "approved_on", "started_on", "completed_on", "evaluated_on"]}
    for i, doc in enumerate(generator.iter_library(n, seed=seed)):
        state = rng.choices(list(steps), [10, 35, 30, 15, 10])[0]
        year = 2017 + i % 6
        row = dict(doc, title=f"{doc['title']}·{i}", state=state)
        for j, field in enumerate(steps[state]):
            row[field] = f"{year + j}-0{1 + j}-1{j}"
        if state != "submitted":
            row["decision_ref"] = f"深发改〔{year}〕{i}号"
        yield row


def seed(workdir: Path, projects: int, *, reseed: bool) -> Path:
    """The seeded instance folder (built once per project count and seed version)."""
    target = workdir / f"seed-{projects}p"
    meta_path = target / "meta.json"
    if meta_path.exists() and not reseed:
        meta = json.loads(meta_path.read_text())
        if meta.get("version") == SEED_VERSION:
            print(f"seed: cached {target} ({meta['projects']:,} projects, {meta['eve_events']:,} EVE events seeded)")
            t0 = time.perf_counter()
            _cli(_env(target / "inst"), "db", "upgrade")  # migrations added since the seed was built
            print(f"seed: schema at heads ({time.perf_counter() - t0:.0f} s)", flush=True)
            return target
    shutil.rmtree(target, ignore_errors=True)
    building = workdir / f"seed-{projects}p.building"
    shutil.rmtree(building, ignore_errors=True)
    instance = building / "inst"
    instance.mkdir(parents=True)
    env = _env(instance)
    data = shared_data()
    t0 = time.perf_counter()
    print(f"seed: building {target} (demo city + {projects:,} projects + T-Pot EVE) …", flush=True)
    _cli(env, "demo")
    print(f"seed:   demo city {time.perf_counter() - t0:.0f} s", flush=True)
    lib = building / "library.ndjson"
    with lib.open("w", encoding="utf-8") as fh:
        for row in _library_rows(projects, seed=15):
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    t1 = time.perf_counter()
    imported = _cli(env, "projects", "import", str(lib), "--create-organisations", "--format", "json")
    print(f"seed:   {len(imported['ids']):,} projects imported {time.perf_counter() - t1:.0f} s", flush=True)
    lib.unlink()
    t1 = time.perf_counter()
    files = sorted(str(p) for p in (data / TPOT).glob("eve.json*") if p.name != PUSHED)
    ingested = _cli(env, "secmon", "ingest", "--sensor", "tpot", "--format", "json", *files)
    print(f"seed:   {ingested.get('events', 0):,} EVE events ingested {time.perf_counter() - t1:.0f} s", flush=True)
    _cli(env, "audit", "checkpoint", "sign")
    sensor = _cli(env, "secmon", "sensor-register", "tpot-push", "--format", "json")
    admin = _cli(env, "token", "create", "--user", "admin", "--name", "load", "--days", "366", "--format", "json")
    dept = _cli(env, "token", "create", "--user", "psb.submitter", "--name", "load", "--days", "366",
                "--format", "json")
    con = sqlite3.connect(instance / "citygov.sqlite")
    try:
        ids = [r[0] for r in con.execute("SELECT id FROM registry_project ORDER BY random() LIMIT 500")]
        standards = [r[0] for r in con.execute("SELECT name FROM standards_standard ORDER BY name")]
        datasets = [r[0] for r in con.execute("SELECT name FROM opendata_dataset ORDER BY name")]
        size = con.execute("SELECT count(*) FROM audit_event").fetchone()[0]
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        con.close()
    meta = {"version": SEED_VERSION, "projects": len(imported["ids"]), "eve_events": ingested.get("events", 0),
            "project_ids": ids, "standards": standards, "datasets": datasets, "audit_size": size,
            "sensor": sensor["sensor"], "sensor_token": sensor["token"], "admin_token": admin["token"],
            "dept_token": dept["token"], "seconds": round(time.perf_counter() - t0, 1)}
    (building / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1))
    building.rename(target)
    print(f"seed: done in {meta['seconds']:.0f} s", flush=True)
    return target



# ----------------------------------------------------------------------------------------------- serve

HELLO = """
import sys
from waitress import serve

def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
    return [b"hello"]

serve(app, host="127.0.0.1", port=int(sys.argv[1]), threads=int(sys.argv[2]), ident="hello")
"""


def _wait(url: str, proc: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    import urllib.request

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise SystemExit(f"server exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"server did not answer {url} within {timeout} s:\n{log.read_text()[-3000:]}")


class Servers:
    """``citygov serve --workers N`` on a fresh copy of the seeded instance, and the bare waitress peer."""

    def __init__(self, seeded: Path, run_dir: Path, threads: int, workers: int = 1):
        import psutil

        shutil.rmtree(run_dir, ignore_errors=True)
        shutil.copytree(seeded / "inst", run_dir / "inst")
        if hasattr(os, "sync"):  # the copy (~1 GB) on disk before the run: its write-back is not the server's
            os.sync()
        self.env = _env(run_dir / "inst")
        self.port, self.hello_port = free_port(), free_port()
        self.log = run_dir / "serve.log"
        with self.log.open("w") as log:
            self.serve = subprocess.Popen(
                [sys.executable, "-c", "from portal.cli import main; main()", "serve", "--port", str(self.port),
                 "--threads", str(threads), "--workers", str(workers)],
                env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
            self.hello = subprocess.Popen([sys.executable, "-c", HELLO, str(self.hello_port), str(threads)],
                                          cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        self.procs = [self.serve, self.hello]
        _wait(f"http://127.0.0.1:{self.port}/healthz", self.serve, self.log)
        _wait(f"http://127.0.0.1:{self.hello_port}/", self.hello, self.log)
        #: the processes that serve: the workers (with one worker, the serve process itself); with several, the
        #: background process (jobs, queued pushes) is the one child that runs at a lower priority
        children = psutil.Process(self.serve.pid).children() if workers > 1 else []
        self.background = [p for p in children if p.nice() > 0]
        self.serving = [p for p in children if p.nice() <= 0] or [psutil.Process(self.serve.pid)]

    def cpu_seconds(self) -> list[float]:
        """CPU seconds of each serving process so far."""
        return [cpu_seconds(p.pid) for p in self.serving]

    def background_cpu_seconds(self) -> float:
        return sum(cpu_seconds(p.pid) for p in self.background)

    def close(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


# ------------------------------------------------------------------------------------------------ load

#: endpoint name -> kind: "plain" (reads one page of rows, computes nothing), "compute" (ranks, aggregates,
#: searches or proves), "write"
KINDS: dict[str, str] = {}
READ_MIX = [  # (weight, name, kind)
    (14, "GET /api/v1/projects", "plain"),
    (8, "GET /api/v1/projects?q=", "compute"),
    (8, "GET /api/v1/projects/{id}", "plain"),
    (6, "GET /api/v1/projects/{id}/similar", "compute"),
    (8, "GET /api/v1/standards", "plain"),
    (6, "GET /api/v1/standards/{name}", "plain"),
    (8, "GET /api/v1/audit/checkpoint", "plain"),
    (8, "GET /api/v1/audit/proof/inclusion", "compute"),
    (4, "GET /api/v1/audit/proof/consistency", "compute"),
    (5, "GET /api/v1/secmon/alerts/timeline", "compute"),
    (5, "GET /api/v1/secmon/alerts/top", "compute"),
    (4, "GET /api/v1/secmon/sensors/health", "compute"),
    (6, "GET /api/v1/opendata/datasets", "plain"),
    (10, "GET /api/3/action/package_search", "compute"),
]
WORDS = ["视频监控", "政务服务", "数据共享", "物联感知", "网格化治理", "交通运行", "安全运营", "医疗健康", "5G",
         "数字孪生", "电子证照", "应急指挥"]
CKAN_Q = ["交通", "医疗", "数据", "population", "traffic", "公共", "health", ""]


class Recorder:
    """Every request's latency, per endpoint name (locust's own percentiles are bucketed)."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {}
        self.errors: dict[str, int] = {}
        self.samples: dict[str, str] = {}

    def __call__(self, request_type, name, response_time, response_length, exception=None, response=None, **_kw):
        self.times.setdefault(name, []).append(response_time)
        if exception is not None:
            self.errors[name] = self.errors.get(name, 0) + 1
            self.samples.setdefault(name, f"{exception!r}"[:300])


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, int(round(p / 100 * len(s) + 0.5)) - 1))]


def run_phase(host: str, user_classes: list, users: int, duration: float, recorder: Recorder) -> float:
    """Run locust users for ``duration`` seconds; the wall time of the phase."""
    import gevent
    from locust.env import Environment

    env = Environment(user_classes=user_classes, host=host)
    env.events.request.add_listener(recorder)
    runner = env.create_local_runner()
    t0 = time.perf_counter()
    runner.start(users, spawn_rate=min(users, 100))
    gevent.sleep(duration)
    runner.quit()
    return time.perf_counter() - t0


def poisson_arrivals(rate: float):
    """A locust ``wait_time`` under which each user starts requests as a Poisson process of ``rate`` a second
    (exponential gaps between starts, whatever each request took), so that the readers together arrive as
    independent users do. locust's ``constant_throughput`` keeps each user at the phase it started with, and
    the local runner starts them all in the same instant: measured, 95 % of the 40 readers' requests started
    within 0.5 ms of another, a burst of 40 requests every 200 ms, and every request waited behind its burst
    (one endpoint that takes 1.5 ms: p50 21.7 ms under the bursts, 2.2 ms from evenly spread clients)."""
    def wait_time(user) -> float:
        now = time.monotonic()
        # from the previous start; a user that fell more than a second behind does not fire a catch-up burst
        user.next_start = max(getattr(user, "next_start", now), now - 1.0) + random.expovariate(rate)
        return max(0.0, user.next_start - now)

    return wait_time


def desynchronize(user, rate: float) -> None:
    """A user's first request at a random moment of its first second (all users are started at once)."""
    import gevent

    user.next_start = time.monotonic() + random.expovariate(rate)
    gevent.sleep(user.next_start - time.monotonic())


def make_users(meta: dict, args):
    from urllib.parse import quote

    from locust import FastHttpUser, constant_throughput, task

    rng = random.Random(7)
    admin = {"Authorization": f"Bearer {meta['admin_token']}"}
    ids, standards = meta["project_ids"], meta["standards"] or ["x"]
    size = int(meta["audit_size"])
    n_readers = max(4, int(args.rate // 5))  # 5 requests/s each
    weights = [w for w, _n, _k in READ_MIX]
    for _w, name, kind in READ_MIX:
        KINDS[name] = kind

    def url_of(name: str) -> str:
        if name == "GET /api/v1/projects":
            return f"/api/v1/projects?per_page=50&page={rng.randint(1, 20)}" + rng.choice(
                ["", "&state=approved", "&area=public_safety", "&order=title", "&order=-budget", "&state=in_construction"])
        if name == "GET /api/v1/projects?q=":
            return f"/api/v1/projects?per_page=20&q={quote(rng.choice(WORDS))}"
        if name == "GET /api/v1/projects/{id}":
            return f"/api/v1/projects/{rng.choice(ids)}"
        if name == "GET /api/v1/projects/{id}/similar":
            return f"/api/v1/projects/{rng.choice(ids)}/similar?top=5"
        if name == "GET /api/v1/standards":
            return "/api/v1/standards"
        if name == "GET /api/v1/standards/{name}":
            return f"/api/v1/standards/{rng.choice(standards)}"
        if name == "GET /api/v1/audit/checkpoint":
            return "/api/v1/audit/checkpoint"
        if name == "GET /api/v1/audit/proof/inclusion":
            return f"/api/v1/audit/proof/inclusion?index={rng.randrange(size)}&size={size}"
        if name == "GET /api/v1/audit/proof/consistency":
            return f"/api/v1/audit/proof/consistency?first={rng.randint(1, size)}&second={size}"
        if name == "GET /api/v1/secmon/alerts/timeline":
            return "/api/v1/secmon/alerts/timeline?bucket=" + rng.choice(["hour", "day"])
        if name == "GET /api/v1/secmon/alerts/top":
            return "/api/v1/secmon/alerts/top?by=" + rng.choice(["signature", "src_ip", "dest_ip", "sid"])
        if name == "GET /api/v1/secmon/sensors/health":
            return "/api/v1/secmon/sensors/health"
        if name == "GET /api/v1/opendata/datasets":
            return "/api/v1/opendata/datasets"
        if name == "GET /api/3/action/package_search":
            return f"/api/3/action/package_search?rows=10&q={quote(rng.choice(CKAN_Q))}"
        raise KeyError(name)

    per_user = args.rate / n_readers

    class Reader(FastHttpUser):
        wait_time = poisson_arrivals(per_user) if args.arrivals == "poisson" else constant_throughput(per_user)

        def on_start(self):
            if args.arrivals == "poisson":
                desynchronize(self, per_user)

        @task
        def read(self):
            name = rng.choices(READ_MIX, weights)[0][1]
            with self.client.get(url_of(name), name=name, headers=admin, catch_response=True) as r:
                if r.status_code != 200:
                    r.failure(f"{r.status_code} {(r.text or '')[:200]}")

    Reader.fixed_count = n_readers

    lines = eve_lines()

    class Sensor(FastHttpUser):
        wait_time = constant_throughput(1.0 / args.eve_every) if args.eve_every > 0 else constant_throughput(0.001)
        weight = 1
        headers = {"X-Sensor-Token": meta["sensor_token"], "Content-Type": "application/x-ndjson"}
        if args.eve_mode == "async":
            headers["Prefer"] = "respond-async"
        expect = {"async": 202, "sync": 200}[args.eve_mode]

        @task
        def push(self):
            if args.eve_batch <= 0:
                return
            body = "".join(next(lines) for _ in range(args.eve_batch))
            with self.client.post(f"/api/v1/secmon/eve?sensor={meta['sensor']}", data=body.encode("utf-8"),
                                  headers=self.headers, name="POST /api/v1/secmon/eve", catch_response=True) as r:
                if r.status_code != self.expect:
                    r.failure(f"{r.status_code} {(r.text or '')[:200]}")

    KINDS["POST /api/v1/secmon/eve"] = "write"
    dept = {"Authorization": f"Bearer {meta['dept_token']}"}
    docs = proposal_docs()

    class Submitter(FastHttpUser):
        wait_time = constant_throughput(args.proposals) if args.proposals > 0 else constant_throughput(0.001)
        weight = 1

        @task
        def submit(self):
            if args.proposals <= 0:
                return
            with self.client.post("/api/v1/projects?submit=1", json=next(docs), headers=dept,
                                  name="POST /api/v1/projects?submit=1", catch_response=True) as r:
                if r.status_code != 201:
                    r.failure(f"{r.status_code} {(r.text or '')[:200]}")

    KINDS["POST /api/v1/projects?submit=1"] = "write"
    Sensor.fixed_count = Submitter.fixed_count = 1
    return [Reader, Sensor, Submitter], n_readers + 2, url_of


def eve_lines():
    """The pushed T-Pot file's lines, over and over (re-pushed events are counted as duplicates)."""
    path = shared_data() / TPOT / PUSHED
    while True:
        with gzip.open(path, "rt", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.strip():
                    yield line if line.endswith("\n") else line + "\n"


def proposal_docs():
    from registry import generator

    for i in itertools.count():
        doc = next(iter(generator.iter_library(1, seed=1000 + i)))
        doc["organisation"] = "SZ-PSB"  # the submitter's own department (psb.submitter)
        doc["title"] = f"{doc['title']}（负载{i}）"
        yield doc


def hello_users(rate: float):
    from locust import FastHttpUser, task

    n = max(4, int(rate // 5))

    class Hello(FastHttpUser):
        wait_time = poisson_arrivals(rate / n)

        def on_start(self):
            desynchronize(self, rate / n)

        @task
        def hello(self):
            with self.client.get("/", name="GET / (bare waitress hello)", catch_response=True) as r:
                if r.status_code != 200:
                    r.failure(str(r.status_code))

    return [Hello], n


# ---------------------------------------------------------------------------------------------- report


def push_backlog(base: str, meta: dict, timeout: float = 120) -> dict:
    """The queue of asynchronous pushes when the run ends, how long it takes to drain after it, and each
    push's lag from received to ingested (the background process must keep up with the sensors)."""
    import urllib.request
    from datetime import datetime

    def get(path: str) -> dict:
        req = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {meta['admin_token']}"})
        return json.loads(urllib.request.urlopen(req, timeout=60).read())

    at_end = get("/api/v1/secmon/eve/pushes?limit=1")
    t0 = time.monotonic()
    q = at_end
    while q["counts"]["queued"] + q["counts"]["running"] and time.monotonic() - t0 < timeout:
        time.sleep(0.25)
        q = get("/api/v1/secmon/eve/pushes?limit=1")
    drained = round(time.monotonic() - t0, 1)
    lags = []
    offset = 0
    while True:
        page = get(f"/api/v1/secmon/eve/pushes?state=done&limit=500&offset={offset}")
        for item in page["items"]:
            lags.append((datetime.fromisoformat(item["finished_at"].replace("Z", "+00:00"))
                         - datetime.fromisoformat(item["received_at"].replace("Z", "+00:00"))).total_seconds())
        offset += len(page["items"])
        if not page["items"] or offset >= page["total"]:
            break
    lags.sort()
    return {"at_end": {k: at_end[k] for k in ("counts", "oldest_waiting_seconds")}, "drained_after_s": drained,
            "failed": q["counts"]["failed"], "done": q["counts"]["done"],
            "lag_p50_s": round(lags[len(lags) // 2], 2) if lags else None,
            "lag_max_s": round(lags[-1], 2) if lags else None}


def cpu_per_endpoint(base: str, meta: dict, servers: Servers, url_of, samples: int) -> dict[str, float]:
    """Server CPU ms per request of each read endpoint, one request at a time (no concurrency): the cost
    of the work itself, which a busy machine does not inflate the way it inflates latency."""
    import urllib.request

    headers = {"Authorization": f"Bearer {meta['admin_token']}"}
    out = {}
    for _w, name, _k in READ_MIX:
        for _ in range(2):  # warm
            urllib.request.urlopen(urllib.request.Request(base + url_of(name), headers=headers), timeout=120).read()
        c0 = sum(servers.cpu_seconds())
        for _ in range(samples):
            urllib.request.urlopen(urllib.request.Request(base + url_of(name), headers=headers), timeout=120).read()
        out[name] = 1000 * (sum(servers.cpu_seconds()) - c0) / samples
    return out


def report(main: Recorder, main_wall: float, peer: Recorder, peer_wall: float, args, loads: dict,
           cpu_ms: dict[str, float]) -> dict:
    hello_name = next(iter(peer.times))
    h = peer.times[hello_name]
    h50, h99 = _pct(h, 50), _pct(h, 99)
    rows = []
    order = [n for _w, n, _k in READ_MIX] + ["POST /api/v1/secmon/eve", "POST /api/v1/projects?submit=1"]
    for name in order:
        t = main.times.get(name, [])
        if not t:
            continue
        kind = KINDS.get(name, "?")
        p99 = _pct(t, 99)
        target = 50 if kind == "plain" else 200 if kind == "compute" else None
        rows.append({"endpoint": name, "kind": kind, "requests": len(t), "rps": len(t) / main_wall,
                     "cpu_ms": cpu_ms.get(name),
                     "p50": _pct(t, 50), "p95": _pct(t, 95), "p99": p99, "max": max(t),
                     "errors": main.errors.get(name, 0), "p50_ratio": _pct(t, 50) / h50 if h50 else None,
                     "p99_ratio": p99 / h99 if h99 else None, "target_p99": target,
                     "met": (p99 < target and not main.errors.get(name)) if target else not main.errors.get(name)})
    reads = [x for n, ts in main.times.items() if KINDS.get(n) in ("plain", "compute") for x in ts]
    read_errors = sum(e for n, e in main.errors.items() if KINDS.get(n) in ("plain", "compute"))
    total = {"endpoint": "all reads", "kind": "", "requests": len(reads), "rps": len(reads) / main_wall,
             "p50": _pct(reads, 50), "p95": _pct(reads, 95), "p99": _pct(reads, 99), "max": max(reads or [0]),
             "errors": read_errors, "p50_ratio": _pct(reads, 50) / h50, "p99_ratio": _pct(reads, 99) / h99}
    peer_row = {"endpoint": hello_name, "kind": "peer", "requests": len(h), "rps": len(h) / peer_wall,
                "p50": h50, "p95": _pct(h, 95), "p99": h99, "max": max(h), "errors": sum(peer.errors.values()),
                "p50_ratio": 1.0, "p99_ratio": 1.0}

    def line(r):
        ratio = (f"{r['p50_ratio']:6.1f}x {r['p99_ratio']:6.1f}x" if r.get("p50_ratio") else " " * 15)
        cpu = f"{r['cpu_ms']:7.1f}" if r.get("cpu_ms") is not None else " " * 7
        return (f"{r['endpoint']:<38} {r['kind']:<8} {cpu} {r['requests']:>7} {r['rps']:>7.1f} {r['p50']:>7.1f} "
                f"{r['p95']:>7.1f} {r['p99']:>7.1f} {r['max']:>8.1f} {r['errors']:>6}  {ratio}"
                + (f"  p99<{r['target_p99']}: {'yes' if r['met'] else 'NO'}" if r.get("target_p99") else ""))

    print()
    print(f"{'endpoint':<38} {'kind':<8} {'CPU ms':>7} {'reqs':>7} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} "
          f"{'max ms':>8} {'errors':>6}  {'p50/peer':>7} {'p99/peer':>7}")
    for r in rows:
        print(line(r))
    print(line(total))
    print(line(peer_row))
    errors = sum(main.errors.values())
    for name, sample in main.samples.items():
        print(f"  first error of {name}: {sample}")
    plain_ok = all(r["met"] for r in rows if r["kind"] == "plain")
    compute_ok = all(r["met"] for r in rows if r["kind"] == "compute")
    print(f"\noffered {args.rate:g} req/s of reads for {args.duration:g} s; achieved {total['rps']:.1f} req/s "
          f"(peer {peer_row['rps']:.1f} req/s at the same offered rate); "
          f"EVE pushed {len(main.times.get('POST /api/v1/secmon/eve', []))} batches of {args.eve_batch}, "
          f"{len(main.times.get('POST /api/v1/projects?submit=1', []))} proposals submitted")
    print(f"targets: errors 0 -> {'met' if errors == 0 else f'NOT met ({errors})'}; reads p99 < 200 ms -> "
          f"{'met' if total['p99'] < 200 and compute_ok else 'NOT met'}; plain reads p99 < 50 ms -> "
          f"{'met' if plain_ok else 'NOT met'}")
    print("load average (1/5/15 min): " + "; ".join(f"{k} {v}" for k, v in loads.items()) + f"; cores {os.cpu_count()}")
    return {"rows": rows, "all_reads": total, "peer": peer_row, "errors": errors, "loadavg": loads,
            "rate": args.rate, "duration": args.duration, "threads": args.threads}


def profile_summary(raw: Path, top: int = 25) -> None:
    """Where the server's request threads were (py-spy --idle samples): own frames, inclusive."""
    from collections import Counter

    incl: Counter = Counter()
    leaf: Counter = Counter()
    total = 0
    for row in raw.read_text().splitlines():
        stack, _, n = row.rpartition(" ")
        frames = stack.split(";")
        if not any("Flask.wsgi_app" in f for f in frames):
            continue
        total += int(n)
        leaf[frames[-1]] += int(n)
        for f in set(frames):
            if not any(lib in f for lib in ("threading.py", "flask/", "werkzeug/", "waitress/", "sqlalchemy/",
                                            "sqlmodel/", "locust", "<string>")):
                incl[f] += int(n)
    if not total:
        print("profile: no request samples")
        return
    print(f"\nprofile (py-spy, request threads, {total} samples incl. waiting): leaf frames")
    for f, n in leaf.most_common(10):
        print(f"  {100 * n / total:5.1f}%  {f[:130]}")
    print("inclusive (citygov and standard-library frames):")
    for f, n in incl.most_common(top):
        print(f"  {100 * n / total:5.1f}%  {f[:130]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--projects", type=int, default=100_000, help="generated projects on top of the demo city")
    ap.add_argument("--rate", type=float, default=200, help="read requests per second offered")
    ap.add_argument("--duration", type=float, default=60, help="seconds of the main phase")
    ap.add_argument("--peer-duration", type=float, default=None, help="seconds of the bare-waitress phase")
    ap.add_argument("--threads", type=int, default=2, help="waitress threads per worker (citygov serve --threads)")
    ap.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1),
                    help="worker processes (citygov serve --workers; default: 2 × cores, the README's advice)")
    ap.add_argument("--eve-batch", type=int, default=500, help="EVE events per push (0: no ingestion)")
    ap.add_argument("--eve-every", type=float, default=1.0, help="seconds between pushes")
    ap.add_argument("--arrivals", choices=("poisson", "locked"), default="poisson",
                    help="readers' requests as independent Poisson arrivals, or locust's constant_throughput "
                         "(all readers in phase: a burst of every reader's request at once; earlier figures)")
    ap.add_argument("--eve-mode", choices=("async", "sync"), default="async",
                    help="pushes with Prefer: respond-async (ingested by the background process) or ingested "
                         "before the answer")
    ap.add_argument("--proposals", type=float, default=1.0, help="proposal submissions per second (0: none)")
    ap.add_argument("--quick", action="store_true", help="5,000 projects, 100 req/s for 15 s")
    ap.add_argument("--workdir", type=Path, default=ROOT / "tmp" / "benchmark" / "load_serve")
    ap.add_argument("--reseed", action="store_true", help="rebuild the cached seed")
    ap.add_argument("--profile", action="store_true", help="sample the server with py-spy during the main phase")
    ap.add_argument("--json", type=Path, help="write the figures to this file")
    ap.add_argument("--cpu-samples", type=int, default=20, help="sequential requests per endpoint for CPU ms")
    args = ap.parse_args()
    if args.quick:
        args.projects, args.rate, args.duration = 5_000, 100, 15
    peer_duration = args.peer_duration or max(10.0, args.duration / 4)
    seeded = seed(args.workdir, args.projects, reseed=args.reseed)
    meta = json.loads((seeded / "meta.json").read_text())
    servers = Servers(seeded, args.workdir / "run", args.threads, args.workers)
    loads: dict[str, str] = {}
    try:
        import urllib.request

        base = f"http://127.0.0.1:{servers.port}"
        warm = ["/api/v1/projects?per_page=1", f"/api/v1/projects/{meta['project_ids'][0]}/similar?top=5",
                "/api/v1/secmon/alerts/top", "/api/3/action/package_search?q="]
        # warm-up (index loads) of every worker: each request is a new connection, which the kernel hands to any
        # worker; 8 requests a path per worker leave a worker cold with a chance of (1 - 1/n)^(8n) < e^-8
        for path in warm * (8 * args.workers):
            req = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {meta['admin_token']}"})
            urllib.request.urlopen(req, timeout=600).read()
        loads["before peer"] = loadavg()
        peer = Recorder()
        users, n = hello_users(args.rate)
        print(f"peer phase: bare waitress hello, {args.rate:g} req/s for {peer_duration:g} s …", flush=True)
        cpu0 = cpu_seconds(servers.hello.pid)
        peer_wall = run_phase(f"http://127.0.0.1:{servers.hello_port}", users, n, peer_duration, peer)
        cpu_peer = cpu_seconds(servers.hello.pid) - cpu0
        loads["before main"] = loadavg()
        classes, n, url_of = make_users(meta, args)
        cpu_ms = cpu_per_endpoint(base, meta, servers, url_of, args.cpu_samples)
        print(f"main phase: {args.rate:g} req/s of reads for {args.duration:g} s with EVE pushes "
              f"({args.eve_batch} events every {args.eve_every:g} s) and {args.proposals:g} proposals/s, "
              f"{meta['projects']:,} projects, {args.workers} worker process(es) × {args.threads} threads …", flush=True)
        spy = None
        if args.profile:
            spy_out = args.workdir / "run" / "py-spy.raw"
            spy = subprocess.Popen(["py-spy", "record", "--pid", str(servers.serve.pid), "--subprocesses", "--idle", "--rate", "100",
                                    "--duration", str(int(args.duration)), "--format", "raw", "-o", str(spy_out)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        main_rec = Recorder()
        bg0 = servers.background_cpu_seconds()
        cpu0s = servers.cpu_seconds()
        cpu0 = sum(cpu0s)
        gen0, machine0 = own_cpu_seconds(), machine_cpu()
        main_wall = run_phase(f"http://127.0.0.1:{servers.port}", classes, n, args.duration, main_rec)
        per_server = [c1 - c0 for c1, c0 in zip(servers.cpu_seconds(), cpu0s)]
        bg_cpu = servers.background_cpu_seconds() - bg0
        backlog = push_backlog(base, meta)
        cpu_main = sum(per_server)
        gen_cpu, machine1 = own_cpu_seconds() - gen0, machine_cpu()
        busy = (machine1[0] - machine0[0]) / max(machine1[1] - machine0[1], 1.0)
        loads["after main"] = loadavg()
        figures = report(main_rec, main_wall, peer, peer_wall, args, loads, cpu_ms)
        n_main = sum(len(t) for t in main_rec.times.values())
        n_peer = sum(len(t) for t in peer.times.values())
        figures["server_cpu"] = {"citygov_s": round(cpu_main, 2), "citygov_ms_per_request": round(1000 * cpu_main / max(n_main, 1), 2),
                                 "citygov_cores": round(cpu_main / main_wall, 2),
                                 "cores_per_server": [round(c / main_wall, 2) for c in per_server], "peer_s": round(cpu_peer, 2),
                                 "peer_ms_per_request": round(1000 * cpu_peer / max(n_peer, 1), 3),
                                 "generator_ms_per_request": round(1000 * gen_cpu / max(n_main, 1), 2),
                                 "machine_busy": round(busy, 3)}
        figures["server_cpu"]["background_s"] = round(bg_cpu, 2)
        figures["pushes"] = backlog
        c = figures["server_cpu"]
        print(f"server CPU: citygov {c['citygov_s']} s = {c['citygov_ms_per_request']} ms per request "
              f"({c['citygov_cores']} cores busy: {' + '.join(map(str, c['cores_per_server']))} by worker; reads and writes together); bare peer {c['peer_ms_per_request']} ms "
              f"per request — CPU time does not depend on how busy the machine is, latency does")
        if servers.background:
            print(f"background process (jobs, queued pushes; nice {servers.background[0].nice()}): "
                  f"{c['background_s']} s of CPU = {bg_cpu / main_wall:.2f} cores")
        if args.eve_mode == "async":
            print(f"queued pushes at the end of the run: {backlog['at_end']['counts']} (oldest waiting "
                  f"{backlog['at_end']['oldest_waiting_seconds']} s); all ingested {backlog['drained_after_s']} s "
                  f"after the run; ingestion lag (received → ingested) p50 {backlog['lag_p50_s']} s, "
                  f"max {backlog['lag_max_s']} s")
        print(f"load generator CPU: {c['generator_ms_per_request']} ms per request; the machine's cores were "
              f"{100 * c['machine_busy']:.0f} % busy during the main phase")
        figures["projects"] = meta["projects"]
        wal = args.workdir / "run" / "inst" / "citygov.sqlite-wal"
        figures["wal_mb"] = round(wal.stat().st_size / 1e6, 1) if wal.exists() else 0.0
        print(f"SQLite WAL after the run: {figures['wal_mb']} MB (checkpoints keep up when it stays small)")
        if spy is not None:
            spy.wait(60)
            if spy_out.exists():
                profile_summary(spy_out)
        if args.json:
            args.json.write_text(json.dumps(figures, ensure_ascii=False, indent=1))
    finally:
        servers.close()


if __name__ == "__main__":
    main()
