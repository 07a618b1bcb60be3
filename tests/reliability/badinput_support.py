"""Machinery of the hostile-input corpus (``tests/reliability/badinputs/manifest.yaml``).

The manifest is data: each case names its module, its input (a committed seed file or a generator from
``badinputs/generate.py``), how it is fed (a CLI command and an API operation), the expected outcome of
each (exit code / HTTP status, problem+json, a message fragment), a time bound and what it may write
(nothing, by default). This module turns a case into runs and checks:

- **network**: an audit hook (``sys.addaudithook``) sees every ``socket.connect`` / ``socket.getaddrinfo``
  of the process; while a case runs, each non-loopback attempt is counted *and refused*. Remote references
  in the corpus point at a loopback trap server that counts every connection it accepts, which also catches
  fetches made by C libraries (libxml2, libyaml) that never pass through Python's socket module.
- **hangs**: the run is interrupted by ``SIGALRM`` past its bound (plus grace), and its time is asserted.
- **memory**: the process's peak RSS may grow by at most the case's ``max_rss_growth_mb``.
- **partial writes**: the row count of every table (the audit log included), and the files under the
  instance folder and the case's output folder, are compared before and after.
"""

from __future__ import annotations

import ipaddress
import json
import re
import resource
import signal
import socket
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "badinputs"
MANIFEST = CORPUS / "manifest.yaml"
GRACE_S = 5.0


# --------------------------------------------------------------------------- manifest


def load_manifest() -> dict:
    with MANIFEST.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def cases() -> list[dict]:
    doc = load_manifest()
    defaults = doc.get("defaults", {})
    out = []
    for case in doc["cases"]:
        merged = {**defaults, **case}
        out.append(merged)
    return out


# --------------------------------------------------------------------------- network guard


class NetGuard:
    """Counts (and refuses) every outbound, non-loopback connection attempt of this process while armed."""

    _installed = False
    armed = False
    attempts: list[tuple[str, Any]] = []

    @classmethod
    def install(cls) -> None:
        if not cls._installed:
            sys.addaudithook(cls._hook)
            cls._installed = True

    @staticmethod
    def _loopback_host(host: Any) -> bool:
        if host is None:
            return True
        if isinstance(host, bytes):
            host = host.decode("ascii", "replace")
        host = str(host).strip("[]").split("%", 1)[0]
        if host in ("localhost", ""):
            return True
        try:
            addr = ipaddress.ip_address(host)
        except ValueError:
            return False
        return addr.is_loopback or (addr.version == 6 and addr.ipv4_mapped is not None and addr.ipv4_mapped.is_loopback)

    @classmethod
    def _hook(cls, event: str, args: tuple) -> None:
        if not cls.armed:
            return
        if event == "socket.connect":
            address = args[1]
            if isinstance(address, tuple) and not cls._loopback_host(address[0]):
                cls.attempts.append((event, address))
                raise ConnectionRefusedError(f"outbound connection to {address!r} blocked by the hostile-input test")
        elif event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex"):
            host = args[0]
            if not cls._loopback_host(host):
                cls.attempts.append((event, host))
                raise socket.gaierror(socket.EAI_NONAME, f"name lookup of {host!r} blocked by the hostile-input test")
        elif event == "socket.sendto":
            address = args[1]
            if isinstance(address, tuple) and not cls._loopback_host(address[0]):
                cls.attempts.append((event, address))
                raise ConnectionRefusedError("outbound datagram blocked by the hostile-input test")

    @classmethod
    @contextmanager
    def watching(cls):
        cls.install()
        cls.attempts = []
        cls.armed = True
        try:
            yield cls.attempts
        finally:
            cls.armed = False


class Trap:
    """A loopback TCP listener standing for every remote host the corpus names: counts connections."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.hits = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="badinput-trap", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            self.hits += 1
            try:
                conn.close()
            except OSError:
                pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()


# --------------------------------------------------------------------------- hangs and memory


class Hang(Exception):
    pass


@contextmanager
def deadline(seconds: float):
    """Interrupt the main thread with :class:`Hang` after ``seconds`` (SIGALRM; Python code only)."""

    def on_alarm(signum, frame):
        raise Hang(f"still running after {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


# --------------------------------------------------------------------------- partial writes


def _all_tables(conn) -> list[str]:
    """Every table of the schema (PostgreSQL partitions are counted through their parent). SQLite's full-text
    indexes (FTS5 virtual tables and their shadow tables) are index structures kept by triggers, not data: the
    rows they index are counted."""
    if conn.dialect.name == "postgresql":
        names = conn.execute(sa.text(
            "SELECT c.relname FROM pg_class c WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition "
            "AND c.relnamespace = current_schema()::regnamespace")).scalars().all()
        virtual: list[str] = []
    else:
        names = sa.inspect(conn).get_table_names()
        virtual = list(conn.execute(sa.text(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'")).scalars())
    return sorted(n for n in names if n != "alembic_version"
                  and not any(n == v or n.startswith(v + "_") for v in virtual))


def row_counts(session) -> dict[str, int]:
    conn = session.connection()
    out = {}
    for name in _all_tables(conn):
        out[name] = conn.execute(sa.text(f'SELECT count(*) FROM "{name}"')).scalar_one()
    return out


def files_under(*roots: Path) -> dict[str, int]:
    out = {}
    for root in roots:
        if not root.exists():
            continue
        for p in sorted(root.rglob("*")):
            if p.is_file():
                out[str(p)] = p.stat().st_size
    return out


def count_deltas(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after.get(k, 0) - before.get(k, 0) for k in sorted(set(before) | set(after))
            if after.get(k, 0) != before.get(k, 0)}


# --------------------------------------------------------------------------- feeding a case


@dataclass
class Outcome:
    channel: str
    seconds: float
    code: int | None = None
    text: str = ""
    problem: dict | None = None
    content_type: str = ""
    crashed: str | None = None
    extra: dict = field(default_factory=dict)


def substitute(value: Any, env: dict[str, str]) -> Any:
    """``{name}`` placeholders in strings (recursively in lists and mappings)."""
    if isinstance(value, str):
        return re.sub(r"\{(\w+)\}", lambda m: env.get(m.group(1), m.group(0)), value)
    if isinstance(value, list):
        return [substitute(v, env) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, env) for k, v in value.items()}
    return value


def json_with_raw(template: Any, raw: dict[str, bytes]) -> bytes:
    """JSON bytes of ``template`` where the string ``"@name"`` stands for the bytes of input ``name`` placed
    verbatim inside a JSON string — only ``"``, ``\\`` and control characters escaped, so invalid UTF-8 and
    NUL characters reach the server as a careless client would send them."""
    marks = {}
    def walk(v):
        if isinstance(v, str) and v.startswith("@") and v[1:] in raw:
            mark = f"\x00MARK{len(marks)}\x00"
            marks[mark] = raw[v[1:]]
            return mark
        if isinstance(v, list):
            return [walk(x) for x in v]
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        return v
    text = json.dumps(walk(template), ensure_ascii=True).encode("ascii")
    for mark, data in marks.items():
        escaped = json.dumps(mark, ensure_ascii=True).encode("ascii")[1:-1]
        text = text.replace(escaped, _escape_json_bytes(data))
    return text


def _escape_json_bytes(data: bytes) -> bytes:
    data = data.replace(b"\\", b"\\\\").replace(b'"', b'\\"')
    return re.sub(rb"[\x00-\x1f]", lambda m: b"\\u%04x" % m.group(0)[0], data)
