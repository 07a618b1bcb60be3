"""Streaming EVE JSON reading (framework-free): files, ``.gz`` (by magic), rotated series, directories, stdin.

Every physical line becomes either an event row or a quarantine entry (source, line number, byte offset,
reason). Offsets are byte offsets in the decompressed stream, so ``eve.json.1`` and ``eve.json.1.gz`` have
the same offsets; a source's identity is the SHA-256 of its first line (up to 4 KiB), which survives
rotation and compression.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO

import orjson

MAX_LINE = 16 * 1024 * 1024
IDENTITY_BYTES = 4096
#: bytes of a stream's head that identify an EVE source (see secmon.ingest)
HEAD_BYTES = 64 * 1024
EXCERPT = 2000

#: the columns of secmon_event bound once per source (as SQL literals): the sensor, the source, the engine version
EVENT_SOURCE_COLUMNS = ("sensor_id", "source_id", "engine_version")
#: the columns of a secmon_event row as :func:`event_row` returns them
EVENT_ROW_COLUMNS = (
    "line_offset", "line_no", "day",
    "ts", "event_type", "flow_id", "src_ip", "src_port", "dest_ip", "dest_port", "proto", "app_proto",
    "schema_status", "schema_error", "dns_rrname", "dns_rrtype", "dns_rcode", "raw", "community_id", "dns_answers",
)
EVENT_COLUMNS = EVENT_SOURCE_COLUMNS + EVENT_ROW_COLUMNS
#: per-type tables: (source_id, line_offset) + these columns, in the order of :func:`event_row`'s extras
TYPE_COLUMNS = {
    "secmon_alert": ("sensor_id", "ts", "src_ip", "dest_ip", "signature", "gid", "sid", "rev", "category", "severity",
                     "action", "metadata_json"),
    "secmon_http": ("hostname", "url", "method", "status", "user_agent"),
    "secmon_tls": ("sni", "version", "subject", "ja3"),
    "secmon_fileinfo": ("filename", "size", "sha256"),
    "secmon_flow": ("pkts_toserver", "pkts_toclient", "bytes_toserver", "bytes_toclient", "state"),
    "secmon_anomaly": ("type", "event", "layer"),
    "secmon_stats": ("sensor_id", "ts", "uptime", "kernel_packets", "kernel_drops", "decoder_errors"),
}


@dataclass(slots=True)
class RawLine:
    line_no: int
    offset: int
    data: bytes | None  # None when the line could not be read (oversized, corrupt stream)
    length: int
    error: str | None = None


class SourceError(Exception):
    pass


def open_stream(path: str | os.PathLike | BinaryIO) -> tuple[BinaryIO, str]:
    """A binary stream of the decompressed content and a display name. ``-`` is stdin."""
    if not isinstance(path, (str, os.PathLike)):
        return path, getattr(path, "name", "<stream>")
    if str(path) == "-":
        import sys

        return sys.stdin.buffer, "<stdin>"
    p = Path(path)
    if not p.is_file():
        raise SourceError(f"not a file: {p}")
    fh = open(p, "rb")
    magic = fh.read(2)
    fh.seek(0)
    if magic == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=fh, mode="rb"), str(p)
    return fh, str(p)


_READ_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile, OSError)


class Unterminated(list):
    """The last line of a stream when it has no final newline (a one-element batch: its length has no ``\\n``)."""

    __slots__ = ()


def iter_line_batches(fh: BinaryIO, max_line: int | None = None, chunk_size: int = 1 << 20,
                      chunk_marks: bool = False) -> Iterator[list[bytes] | RawLine | None]:
    """The physical lines of a stream in batches, for consumers that track line numbers and offsets themselves.

    Yields, in stream order: a ``list`` of complete lines (bytes without their ``\\n``; each one takes
    ``len(line) + 1`` bytes of the stream and one line number), an :class:`Unterminated` (a list of the one
    last line without a final newline: ``len(line)`` bytes), a :class:`RawLine` with an ``error`` for a line
    that could not be read (oversized, corrupt or truncated compressed stream; its ``line_no`` and ``offset``
    are absolute and the next line starts at ``offset + length``), and with ``chunk_marks`` a ``None`` after
    every chunk read. Reads with ``read1`` (returns what is available: streaming-friendly for stdin and keeps
    every byte decompressed before a gzip stream breaks); errors are reported, never raised."""
    if max_line is None:
        max_line = MAX_LINE
    read = getattr(fh, "read1", None) or fh.read
    offset = 0
    line_no = 0
    buf = b""
    skipping = False  # inside an oversized line
    skip_head = b""
    skip_len = 0
    skip_offset = 0
    while True:
        try:
            chunk = read(chunk_size)
        except _READ_ERRORS as exc:
            error = f"truncated or corrupt compressed stream: {exc}"
            chunk = None
        else:
            error = None
        if chunk:
            if skipping:
                nl = chunk.find(b"\n")
                if nl < 0:
                    skip_len += len(chunk)
                    continue
                skip_len += nl + 1
                line_no += 1
                yield RawLine(line_no, skip_offset, skip_head, skip_len, f"line longer than {max_line} bytes")
                offset = skip_offset + skip_len
                skipping = False
                chunk = chunk[nl + 1 :]
            data = buf + chunk if buf else chunk
            parts = data.split(b"\n")
            buf = parts.pop()
            if len(data) <= max_line + 1:  # no line of this chunk can be oversized
                if parts:
                    line_no += len(parts)
                    offset += len(data) - len(buf)
                    yield parts
            else:
                run: list[bytes] = []
                for part in parts:
                    line_no += 1
                    n = len(part) + 1
                    if n > max_line + 1:
                        if run:
                            yield run
                            run = []
                        yield RawLine(line_no, offset, part[:EXCERPT], n, f"line longer than {max_line} bytes")
                    else:
                        run.append(part)
                    offset += n
                if run:
                    yield run
            if len(buf) > max_line:
                skipping, skip_head, skip_len, skip_offset = True, buf[:EXCERPT], len(buf), offset
                buf = b""
            if chunk_marks:
                yield None
            continue
        # end of stream or error
        if skipping:
            line_no += 1
            yield RawLine(line_no, skip_offset, skip_head, skip_len, f"line longer than {max_line} bytes")
            offset = skip_offset + skip_len
        elif buf:
            line_no += 1
            yield Unterminated((buf,))
            offset += len(buf)
        if error:
            line_no += 1
            yield RawLine(line_no, offset, None, 0, error)
        return


def iter_raw_lines(fh: BinaryIO, max_line: int | None = None, chunk_size: int = 1 << 20,
                   chunk_marks: bool = False) -> Iterator[RawLine | None]:
    """Physical lines with their 1-based number and byte offset (data with its ``\\n``), one by one; see
    :func:`iter_line_batches`. A last line without a final newline is still a line. With ``chunk_marks`` a
    ``None`` follows every chunk read, so that a streaming consumer can commit what it has before blocking."""
    line_no = offset = 0
    for item in iter_line_batches(fh, max_line, chunk_size, chunk_marks):
        if item is None:
            yield None
        elif type(item) is list:
            for part in item:
                line_no += 1
                n = len(part) + 1
                yield RawLine(line_no, offset, part + b"\n", n)
                offset += n
        elif type(item) is Unterminated:
            line_no += 1
            yield RawLine(line_no, offset, item[0], len(item[0]))
            offset += len(item[0])
        else:
            line_no, offset = item.line_no, item.offset + item.length
            yield item


def identity_of(first_line: bytes) -> str:
    return hashlib.sha256(first_line[:IDENTITY_BYTES]).hexdigest()


_ROT = re.compile(r"\.(\d+)(?:\.gz)?$")


def rotation_key(p: Path) -> tuple:
    """Oldest first: ``eve.json.17.gz`` … ``eve.json.1.gz``, then ``eve.json``."""
    m = _ROT.search(p.name)
    base = _ROT.sub("", p.name)
    return (str(p.parent), base, -(int(m.group(1)) if m else 0))


def expand_sources(paths) -> list[str]:
    out: list[str] = []
    for p in paths:
        if str(p) == "-":
            out.append("-")
            continue
        p = Path(p)
        if p.is_dir():
            files = [x for x in p.iterdir() if x.is_file() and (".json" in x.name or x.name.endswith(".eve"))]
            out.extend(str(x) for x in sorted(files, key=rotation_key))
        elif p.is_file():
            out.append(str(p))
        else:
            raise SourceError(f"no such file or directory: {p}")
    return out


# ------------------------------------------------------------------------------------ event → row


def parse_ts(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return None
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def detect_engine_version(events: list[dict]) -> str:
    """``8`` (``ip_v``), ``7`` (``pkt_src``) or ``6`` (older output) from a sample of events."""
    has7 = False
    for ev in events:
        if "ip_v" in ev:
            return "8"
        if "pkt_src" in ev:
            has7 = True
    return "7" if has7 else "6"


SCHEMA_FILES = {"8": "suricata-eve-schema-suricata-8.0.6.json", "7": "suricata-eve-schema-main-7.0.x.json"}


@lru_cache(maxsize=8)
def schema_validator(schema_dir: str, version: str):
    name = SCHEMA_FILES.get(version)
    if not name:
        return None
    path = Path(schema_dir) / name
    if not path.is_file():
        return None
    import jsonschema

    schema = json.loads(path.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    return SchemaCheck(cls(schema), schema)


class SchemaCheck:
    """fastjsonschema (compiled, formats not asserted, like jsonschema's default) for the yes/no answer;
    jsonschema for the message of the first error when an event fails."""

    def __init__(self, validator, schema: dict):
        import fastjsonschema

        self.validator = validator
        self._exc = fastjsonschema.JsonSchemaException
        self._fast = fastjsonschema.compile(schema, use_formats=False)

    def first_error(self, event: dict) -> str | None:
        try:
            self._fast(event)
            return None
        except self._exc:
            pass
        except Exception:  # noqa: BLE001 - fall back to the reference validator
            pass
        err = next(iter(self.validator.iter_errors(event)), None)
        if err is None:
            return None
        where = "/".join(str(p) for p in err.absolute_path)
        return (f"{where}: " if where else "") + err.message[:500]


def default_schema_dir() -> str | None:
    env = os.environ.get("CITYGOV_EVE_SCHEMA_DIR")
    if env:
        return env
    shared = os.environ.get("CITYGOV_SHARED_DATA")
    cand = Path(shared) / "suricata" / "eve-schema" if shared else \
        Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "suricata" / "eve-schema"
    return str(cand.resolve()) if cand.is_dir() else None


def _int(v: Any) -> int | None:
    return v if type(v) is int else None


def _str(v: Any) -> str | None:
    """A text column value; NUL (decoded from ``\\u0000``, not storable in PostgreSQL) is shown escaped."""
    if v is None:
        return None
    if type(v) is not str:
        v = str(v)
    return v if "\x00" not in v else v.replace("\x00", "\\x00")


def _flatten_sum(d: Any, keys: tuple[str, ...]) -> int | None:
    cur = d
    for k in keys:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(k)
    return cur if type(cur) is int else None


def _decoder_errors(stats: dict) -> int | None:
    dec = stats.get("decoder")
    if not isinstance(dec, dict):
        return None
    total = 0
    found = False
    inv = dec.get("invalid")
    if type(inv) is int:
        total += inv
        found = True
    ev = dec.get("event")
    if isinstance(ev, dict):
        for proto in ev.values():
            if isinstance(proto, dict):
                for v in proto.values():
                    if type(v) is int:
                        total += v
                        found = True
    return total if found else None


def _http(h: Any) -> tuple | None:
    if not isinstance(h, dict):
        return None
    return (_str(h.get("hostname")), _str(h.get("url")), _str(h.get("http_method")), _int(h.get("status")),
            _str(h.get("http_user_agent")))


def _tls(t: Any) -> tuple | None:
    if not isinstance(t, dict):
        return None
    ja3 = t.get("ja3")
    return (_str(t.get("sni")), _str(t.get("version")), _str(t.get("subject")),
            _str(ja3.get("hash")) if isinstance(ja3, dict) else None)


def _type_rows(ev: dict, et: str, ts_value: Any, sensor_id: str) -> list[tuple[str, tuple]]:
    """The per-type rows of a non-DNS event: ``[(table, columns after (source_id, line_offset))]``."""
    g = ev.get
    extras: list[tuple[str, tuple]] = []
    if et == "alert":
        al = g("alert")
        if isinstance(al, dict):
            md = al.get("metadata")
            gid = al.get("gid")
            extras.append(("secmon_alert", (
                sensor_id, ts_value, _str(g("src_ip")), _str(g("dest_ip")), _str(al.get("signature")),
                gid if type(gid) is int else 1, _int(al.get("signature_id")), _int(al.get("rev")),
                _str(al.get("category")), _int(al.get("severity")), _str(al.get("action")),
                orjson.dumps(md).decode() if md is not None else None)))
    elif et == "stats":
        st = g("stats")
        if isinstance(st, dict):
            extras.append(("secmon_stats", (
                sensor_id, ts_value, _int(st.get("uptime")), _flatten_sum(st, ("capture", "kernel_packets")),
                _flatten_sum(st, ("capture", "kernel_drops")), _decoder_errors(st))))
    elif et == "flow":
        fl = g("flow")
        if isinstance(fl, dict):
            extras.append(("secmon_flow", (_int(fl.get("pkts_toserver")), _int(fl.get("pkts_toclient")),
                                           _int(fl.get("bytes_toserver")), _int(fl.get("bytes_toclient")),
                                           _str(fl.get("state")))))
    elif et == "anomaly":
        an = g("anomaly")
        if isinstance(an, dict):
            extras.append(("secmon_anomaly", (_str(an.get("type")), _str(an.get("event")), _str(an.get("layer")))))
    elif et == "fileinfo":
        fi = g("fileinfo")
        if isinstance(fi, dict):
            extras.append(("secmon_fileinfo", (_str(fi.get("filename")), _int(fi.get("size")),
                                               _str(fi.get("sha256")))))
    if et == "http" or et == "alert" or et == "fileinfo":
        h = _http(g("http"))
        if h is not None:
            extras.append(("secmon_http", h))
    if et == "tls" or et == "alert":
        t = _tls(g("tls"))
        if t is not None:
            extras.append(("secmon_tls", t))
    return extras


def _dns_answers(d: dict) -> str | None:
    """The answers' rdata of a DNS event, space-separated (EVE v2/v3 ``answers`` list, v1 ``rdata``)."""
    answers = d.get("answers")
    if type(answers) is list:
        out = [a.get("rdata") for a in answers if type(a) is dict and type(a.get("rdata")) is str]
        return " ".join(out)[:4000] or None
    rdata = d.get("rdata")
    return rdata[:4000] if type(rdata) is str else None


_NO_EXTRAS: list = []  # shared, never appended to


def event_row(ev: dict, offset: int, line_no: int, day: Any, ts_value: Any, schema_status: str,
              schema_error: str | None, raw: str, sensor_id: str = "", clean: bool = False
              ) -> tuple[tuple, list[tuple[str, tuple]]]:
    """One event's secmon_event row (the columns of EVENT_ROW_COLUMNS) and its per-type rows
    ``[(table, columns after (source_id, line_offset))]``. ``event_type`` must be a string.

    ``clean``: the caller knows that no string of the event holds NUL (its line has no ``\\u0000``: JSON
    cannot carry a raw NUL inside a string), so strings pass without the per-field NUL escaping check."""
    g = ev.get
    et = g("event_type")
    if et == "dns":  # the bulk of most sensors' output: columns of secmon_event, no per-type row
        extras = _NO_EXTRAS
        d = g("dns")
        if type(d) is dict:
            q = d.get("queries")
            src = q[0] if type(q) is list and q and type(q[0]) is dict else d  # DNS v3 (Suricata 8) groups queries
            dns_rrname, dns_rrtype, dns_rcode = src.get("rrname"), src.get("rrtype"), d.get("rcode")
            dns_answers = _dns_answers(d)
            if clean:
                if not (dns_rrname is None or type(dns_rrname) is str):
                    dns_rrname = _str(dns_rrname)
                if not (dns_rrtype is None or type(dns_rrtype) is str):
                    dns_rrtype = _str(dns_rrtype)
                if not (dns_rcode is None or type(dns_rcode) is str):
                    dns_rcode = _str(dns_rcode)
            else:
                dns_rrname, dns_rrtype, dns_rcode = _str(dns_rrname), _str(dns_rrtype), _str(dns_rcode)
        else:
            dns_rrname = dns_rrtype = dns_rcode = dns_answers = None
    else:
        dns_rrname = dns_rrtype = dns_rcode = dns_answers = None
        extras = _type_rows(ev, et, ts_value, sensor_id)
    community_id = g("community_id")
    if community_id is not None and (type(community_id) is not str or len(community_id) > 64):
        community_id = (_str(community_id) or "")[:64]
    src_ip, dest_ip, proto, app_proto = g("src_ip"), g("dest_ip"), g("proto"), g("app_proto")
    flow_id, src_port, dest_port = g("flow_id"), g("src_port"), g("dest_port")
    if clean:  # strings (and None) pass as they are
        return (
            offset, line_no, day, ts_value, et,
            flow_id if type(flow_id) is int else None,
            src_ip if src_ip is None or type(src_ip) is str else _str(src_ip),
            src_port if type(src_port) is int else None,
            dest_ip if dest_ip is None or type(dest_ip) is str else _str(dest_ip),
            dest_port if type(dest_port) is int else None,
            proto if proto is None or type(proto) is str else _str(proto),
            app_proto if app_proto is None or type(app_proto) is str else _str(app_proto),
            schema_status, schema_error if schema_error is None else _str(schema_error),
            dns_rrname, dns_rrtype, dns_rcode, raw, community_id, dns_answers,
        ), extras
    return (
        offset, line_no, day, ts_value, _str(et), flow_id if type(flow_id) is int else None,
        _str(src_ip), src_port if type(src_port) is int else None,
        _str(dest_ip), dest_port if type(dest_port) is int else None,
        _str(proto), _str(app_proto),
        schema_status, schema_error if schema_error is None else _str(schema_error),
        dns_rrname, dns_rrtype, dns_rcode, raw, community_id, dns_answers,
    ), extras


def excerpt(data: bytes | None) -> str:
    if not data:
        return ""
    # NUL is not storable in PostgreSQL text: show it (and other C0 controls but tab/newline) escaped
    text = data[:EXCERPT].decode("utf-8", errors="backslashreplace")
    return _CTRL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


_CTRL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")



def decode_line(data: bytes) -> tuple[dict | None, str | None]:
    """(event, None) or (None, reason)."""
    try:
        ev = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if not data.strip():
            return None, "blank line"
        msg = str(exc)
        if "utf-8" in msg.lower() or "surrogate" in msg.lower():
            return None, f"invalid UTF-8: {msg}"
        return None, f"invalid JSON: {msg}"
    if not isinstance(ev, dict):
        return None, f"not a JSON object ({type(ev).__name__})"
    if not isinstance(ev.get("event_type"), str):
        return None, "not an EVE event (no event_type)"
    return ev, None


__all__ = ["EVENT_COLUMNS", "EVENT_ROW_COLUMNS", "EVENT_SOURCE_COLUMNS", "TYPE_COLUMNS", "RawLine",
           "Unterminated", "SourceError", "decode_line", "detect_engine_version", "event_row",
           "expand_sources", "identity_of", "iter_line_batches", "iter_raw_lines", "open_stream", "parse_ts", "schema_validator"]

_ = io  # keep io importable for callers passing BytesIO
