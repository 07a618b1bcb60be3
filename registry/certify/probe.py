"""Live probe: requests generated from the vendor's document (:mod:`registry.certify.generation`, Schemathesis as
the engine) — positive and negative ones for every operation — sent to the vendor's base URL; responses are
validated like recorded traffic and each check is reported by its Schemathesis name.

Safety first: the target host must be on the commission's allowlist (default: loopback only) and is
checked — name *and* every resolved address — before any connection is made. The probe is bounded in
number of requests, in total time, per request (connect / each read) and in response size, so a target
that hangs or trickles bytes ends the probe with a finding instead of hanging it.
"""

from __future__ import annotations

import fnmatch
import http.client
import ipaddress
import os
import socket
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from kernel.errors import BadRequest
from standards import oaswalk

DEFAULT_ALLOWLIST = ("loopback",)
MAX_REQUESTS = int(os.environ.get("CITYGOV_CERTIFY_PROBE_MAX_REQUESTS", "200"))
MAX_SECONDS = float(os.environ.get("CITYGOV_CERTIFY_PROBE_MAX_SECONDS", "60"))
REQUEST_TIMEOUT = float(os.environ.get("CITYGOV_CERTIFY_PROBE_TIMEOUT", "5"))
MAX_RESPONSE_BYTES = 2 * 1024 * 1024
MAX_RESPONSE_MS = float(os.environ.get("CITYGOV_CERTIFY_PROBE_MAX_RESPONSE_MS", "2000"))


class ProbeRefused(BadRequest):
    code = "probe_refused"
    title = "Probe target refused"


def allowlist_from_env() -> tuple[str, ...]:
    raw = os.environ.get("CITYGOV_CERTIFY_PROBE_ALLOWLIST")
    if not raw:
        return DEFAULT_ALLOWLIST
    return tuple(x.strip() for x in raw.split(",") if x.strip())


def allowlist_from_config(configured: Any) -> tuple[str, ...]:
    """The allowlist from the app's ``CERTIFY_PROBE_ALLOWLIST`` (list or comma-separated), else the env."""
    if configured:
        return tuple(configured) if not isinstance(configured, str) else tuple(
            x.strip() for x in configured.split(",") if x.strip())
    return allowlist_from_env()


def _addresses(host: str, port: int) -> list[str]:
    try:
        return sorted({ai[4][0] for ai in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)})
    except (socket.gaierror, UnicodeError, OSError) as exc:
        raise ProbeRefused(f"cannot resolve probe host {host!r}: {exc}") from None


def _ip_allowed(ip: str, entry: str) -> bool:
    try:
        addr = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return False
    if entry == "loopback":
        return addr.is_loopback or (addr.version == 6 and addr.ipv4_mapped is not None and addr.ipv4_mapped.is_loopback)
    try:
        return addr in ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return False


def check_target(base_url: str, allowlist: tuple[str, ...] | list[str] | None = None) -> tuple[str, str, int, str, str]:
    """``(scheme, host, port, base path, connect address)`` or :class:`ProbeRefused` — no connection made.

    Allowlist entries: ``loopback``; an IP address or CIDR network; a host name or ``*.pattern`` (the
    name must match and — unless the entry is a name pattern the commission chose — its addresses too).
    """
    allow = tuple(allowlist) if allowlist else DEFAULT_ALLOWLIST
    if not isinstance(base_url, str) or len(base_url) > 2000:
        raise ProbeRefused("base URL must be a string")
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ProbeRefused(f"base URL {base_url!r} must be an absolute http(s) URL")
    if parts.username or parts.password:
        raise ProbeRefused("base URL must not carry credentials")
    host = parts.hostname.lower()
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ProbeRefused(f"base URL {base_url!r} has an invalid port") from None
    name_entries = [e for e in allow if e != "loopback" and not _is_ip_entry(e)]
    ip_entries = [e for e in allow if e == "loopback" or _is_ip_entry(e)]
    by_name = any(fnmatch.fnmatchcase(host, e.lower()) for e in name_entries)
    if not by_name and not (_is_literal_ip(host) or host == "localhost"):
        # never even resolve a name the commission did not list
        raise ProbeRefused(f"host {host!r} is not on the probe allowlist ({', '.join(allow)})")
    if not by_name and not ip_entries:
        raise ProbeRefused(f"host {host!r} is not on the probe allowlist ({', '.join(allow)})")
    # a literal address is checked as written: no resolver call for a host the commission did not list
    addresses = [host.strip("[]")] if _is_literal_ip(host) else _addresses(host, port)
    if not by_name:
        bad = [a for a in addresses if not any(_ip_allowed(a, e) for e in ip_entries)]
        if bad or not addresses:
            raise ProbeRefused(f"host {host!r} resolves to {', '.join(bad or ['nothing'])}, which is not on the "
                               f"probe allowlist ({', '.join(allow)})")
    return parts.scheme, host, port, parts.path.rstrip("/"), addresses[0]


def _is_ip_entry(e: str) -> bool:
    try:
        ipaddress.ip_network(e, strict=False)
        return True
    except ValueError:
        return False


def _is_literal_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return False


# ---------------------------------------------------------------------------------------- generation


def _resolve(spec: dict, node: Any, depth: int = 0) -> Any:
    return oaswalk.deref(spec, node)[0]


def sample(spec: dict, schema: Any, depth: int = 0) -> Any:
    """A value valid for simple schemas: example / default / enum / const first, else built from the type."""
    schema = _resolve(spec, schema)
    if not isinstance(schema, dict) or depth > 8:
        return None
    for key in ("example", "default", "const"):
        if key in schema:
            return schema[key]
    if isinstance(schema.get("examples"), list) and schema["examples"]:
        return schema["examples"][0]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    for key in ("allOf",):
        if isinstance(schema.get(key), list):
            out: dict = {}
            for sub in schema[key]:
                v = sample(spec, sub, depth + 1)
                if isinstance(v, dict):
                    out.update(v)
            return out
    for key in ("oneOf", "anyOf"):
        if isinstance(schema.get(key), list) and schema[key]:
            return sample(spec, schema[key][0], depth + 1)
    t = schema.get("type")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), "null")
    if t == "object" or (t is None and "properties" in schema):
        props = schema.get("properties") or {}
        return {k: sample(spec, props.get(k, {}), depth + 1) for k in (schema.get("required") or []) if k in props}
    if t == "array":
        n = max(int(schema.get("minItems", 1) or 0), 1) if schema.get("minItems") else 1
        return [sample(spec, schema.get("items", {}), depth + 1) for _ in range(min(n, 3))]
    if t == "integer":
        return int(schema.get("minimum", 1)) if isinstance(schema.get("minimum"), (int, float)) else 1
    if t == "number":
        return float(schema.get("minimum", 1.0)) if isinstance(schema.get("minimum"), (int, float)) else 1.0
    if t == "boolean":
        return True
    if t == "string":
        fmt = schema.get("format")
        value = {"date-time": "2026-01-01T00:00:00Z", "date": "2026-01-01", "email": "probe@example.org",
                 "uuid": "00000000-0000-4000-8000-000000000000", "uri": "https://example.org/"}.get(fmt, "probe")
        min_len = schema.get("minLength")
        if isinstance(min_len, int) and len(value) < min_len:
            value = value + "x" * (min_len - len(value))
        return value
    return None


from registry.certify.generation import ProbeRequest  # noqa: E402 - re-exported


# -------------------------------------------------------------------------------------------- sending


@dataclass
class ProbeResult:
    request: ProbeRequest
    url: str
    status: int | None = None
    headers: list[tuple[str, str]] | None = None
    body: bytes | None = None
    error: str | None = None
    seconds: float = 0.0


def send(target: tuple[str, str, int, str, str], req: ProbeRequest, *, timeout: float, deadline: float) -> ProbeResult:
    scheme, host, port, base, address = target
    qs = urlencode({k: v if not isinstance(v, bool) else str(v).lower() for k, v in req.query.items()}, doseq=True)
    path = base + req.path + (f"?{qs}" if qs else "")
    url = f"{scheme}://{host}{'' if port in (80, 443) else f':{port}'}{path}"
    res = ProbeResult(req, url)
    started = time.monotonic()
    per_request_end = min(deadline, started + timeout)
    left = per_request_end - started
    if left <= 0:
        res.error = "probe time budget exhausted"
        return res
    # connect to the address that was checked against the allowlist (no second resolution)
    cls = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
    conn = cls(address, port, timeout=left)
    try:
        headers = {"Host": host if port in (80, 443) else f"{host}:{port}", "User-Agent": "citygov-certify-probe/1",
                   "Accept": "application/json, */*;q=0.5", **req.headers}
        if req.body is not None:
            headers["Content-Type"] = req.content_type
        conn.request(req.method.upper(), path, body=req.body, headers=headers)
        resp = conn.getresponse()
        chunks, total = [], 0
        while True:
            remaining = per_request_end - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"response not complete within {timeout:g} s (slow or trickling server)")
            if conn.sock is not None:
                conn.sock.settimeout(remaining)
            chunk = resp.read1(65536) if hasattr(resp, "read1") else resp.read(65536)
            if not chunk:
                break
            total += len(chunk)
            if total > MAX_RESPONSE_BYTES:
                raise ValueError(f"response larger than {MAX_RESPONSE_BYTES} bytes")
            chunks.append(chunk)
        res.status = resp.status
        res.headers = list(resp.getheaders())
        res.body = b"".join(chunks)
    except (TimeoutError, socket.timeout) as exc:
        res.error = f"timeout: {exc}" if str(exc) else f"timeout after {timeout:g} s"
    except (OSError, http.client.HTTPException, ValueError) as exc:
        res.error = f"{type(exc).__name__}: {exc}"
    finally:
        conn.close()
        res.seconds = time.monotonic() - started
    return res


def is_third_party(target: tuple[str, str, int, str, str]) -> bool:
    """A target that is not this machine: read-only (safe methods only) unless the run says otherwise."""
    try:
        return not ipaddress.ip_address(target[4].split("%", 1)[0]).is_loopback
    except ValueError:
        return True


def run_probe(base_url: str, spec: dict, operations: list[tuple[str, str]] | None = None, *,
              allowlist=None, max_requests: int | None = None, max_seconds: float | None = None,
              timeout: float | None = None, headers: dict[str, str] | None = None, read_only: bool | None = None,
              per_operation: int = 3, negative: bool = True,
              max_response_ms: float | None = None) -> tuple[list[ProbeResult], dict[str, Any]]:
    """Check the target (refusing before any connection), then send bounded requests generated from ``spec``
    (the vendor's document): positive and negative ones for every operation (or ``operations``). ``headers``
    (authentication) go on every request and are never reported; ``read_only`` (default: on for a host that
    is not this machine) sends only safe methods."""
    from registry.certify.generation import generate

    target = check_target(base_url, allowlist)
    limit = max(0, min(max_requests if max_requests is not None else MAX_REQUESTS, 10000))
    budget = max_seconds if max_seconds is not None else MAX_SECONDS
    per = timeout if timeout is not None else REQUEST_TIMEOUT
    ro = is_third_party(target) if read_only is None else bool(read_only)
    auth = {}
    for k, v in (headers or {}).items():
        if not isinstance(k, str) or not isinstance(v, str) or not k.isascii() or "\n" in v or "\r" in v:
            raise ProbeRefused(f"probe header {k!r} is not a valid HTTP header")
        auth[k] = v
    started = time.monotonic()
    deadline = started + budget
    results = []
    stopped = None
    requests = generate(spec, per_op=max(1, min(per_operation, 50)), negative=negative, read_only=ro,
                        operations=operations)
    # positives of every operation first, then negatives, within the count bound
    for req in requests[:limit]:
        if time.monotonic() >= deadline:
            stopped = f"time budget of {budget:g} s reached"
            break
        if auth:
            req.headers = {**req.headers, **auth}
        results.append(send(target, req, timeout=per, deadline=deadline))
    if len(requests) > limit and stopped is None:
        stopped = f"request limit of {limit} reached ({len(requests)} generated)"
    meta = {"base_url": base_url, "requests": len(results), "generated": len(requests), "max_requests": limit,
            "max_seconds": budget, "timeout": per, "seconds": round(time.monotonic() - started, 3),
            "stopped": stopped, "read_only": ro, "auth_headers": sorted(auth), "negative": negative,
            "max_response_ms": max_response_ms if max_response_ms is not None else MAX_RESPONSE_MS}
    return results, meta
