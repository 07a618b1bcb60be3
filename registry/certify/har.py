"""HAR 1.2 traffic: safe loading and validation of every entry with openapi-core.

Each entry's request is matched to an operation of the vendor document by server URL and path template
(:mod:`registry.certify.matching`); request and response are validated against the vendor document and,
when the operation is one of the standard's, against the standard too. Every finding names the entry by
its 0-based index in ``log.entries`` (``entry``), the ``operation``, the ``part`` (``host``, ``path``,
``method``, ``query``, ``header``, ``cookie``, ``body``, ``status``, ``content type``, ``har``) and the
``reason``. Base64 bodies are decoded, gzip / deflate bodies decompressed (bounded), missing bodies are
reported as not recorded instead of being validated as empty.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import zlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import orjson

from registry.certify.matching import CompiledDocument, Match, NoMatch
from standards.loading import InputError, InputTooLarge

MAX_HAR_BYTES = int(os.environ.get("CITYGOV_CERTIFY_MAX_HAR_BYTES", str(64 * 1024 * 1024)))
MAX_ENTRIES = int(os.environ.get("CITYGOV_CERTIFY_MAX_HAR_ENTRIES", "200000"))
MAX_BODY_BYTES = int(os.environ.get("CITYGOV_CERTIFY_MAX_BODY_BYTES", str(8 * 1024 * 1024)))
MAX_FINDINGS = int(os.environ.get("CITYGOV_CERTIFY_MAX_FINDINGS", "5000"))


class HarError(InputError):
    code = "invalid_har"
    title = "Invalid HAR file"


# ------------------------------------------------------------------------------------------- loading


def load_har(data: bytes | str, *, name: str = "traffic.har", max_bytes: int | None = None) -> list[Any]:
    """The ``log.entries`` of a HAR file; refuses (before parsing) anything above the size limit."""
    limit = MAX_HAR_BYTES if max_bytes is None else max_bytes
    if len(data) > limit:
        raise InputTooLarge(f"{name} is {len(data)} bytes, above the HAR limit of {limit} bytes "
                            "(split the capture or raise CITYGOV_CERTIFY_MAX_HAR_BYTES)")
    if isinstance(data, bytes) and data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        pos = getattr(exc, "pos", None)
        line = text.count("\n", 0, pos) + 1 if isinstance(pos, int) else None
        hint = " (truncated?)" if isinstance(pos, int) and pos >= len(text.rstrip()) - 1 else ""
        raise HarError(f"{name} is not valid JSON{hint}: {exc.args[0] if exc.args else exc}"
                       + (f" (line {line})" if line else ""), errors=[{"file": name, "line": line}]) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("log"), dict):
        raise HarError(f"{name} is not a HAR file: no 'log' object")
    entries = doc["log"].get("entries")
    if not isinstance(entries, list):
        raise HarError(f"{name} is not a HAR file: 'log.entries' is not a list")
    version = doc["log"].get("version")
    if version is not None and not isinstance(version, str):
        raise HarError(f"{name}: 'log.version' must be a string")
    if len(entries) > MAX_ENTRIES:
        raise HarError(f"{name} has {len(entries)} entries, above the limit of {MAX_ENTRIES}")
    return entries


def read_har_file(path: str, *, max_bytes: int | None = None) -> tuple[str, list[Any]]:
    from pathlib import Path

    from standards.loading import read_path

    p = Path(path)
    limit = MAX_HAR_BYTES if max_bytes is None else max_bytes
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise HarError(f"cannot read {path}: {exc.strerror or exc}") from None
    if size > limit:
        raise InputTooLarge(f"{p.name} is {size} bytes, above the HAR limit of {limit} bytes "
                            "(split the capture or raise CITYGOV_CERTIFY_MAX_HAR_BYTES)")
    return p.name, load_har(read_path(p, max_bytes=limit), name=p.name, max_bytes=limit)


# ------------------------------------------------------------------------------------------- entries


class _Request:
    __slots__ = ("host_url", "path", "path_pattern", "method", "body", "content_type", "parameters",
                 "citygov_match")

    def __init__(self, host_url, path, method, body, content_type, parameters, match):
        self.host_url, self.path, self.path_pattern, self.method = host_url, path, None, method
        self.body, self.content_type, self.parameters, self.citygov_match = body, content_type, parameters, match


class _Response:
    __slots__ = ("data", "status_code", "headers", "content_type")

    def __init__(self, data, status_code, headers, content_type):
        self.data, self.status_code, self.headers, self.content_type = data, status_code, headers, content_type


@dataclass
class Entry:
    index: int
    method: str
    url: str
    query: Any
    headers: Any
    cookies: Any
    body: bytes | None
    content_type: str
    status: int | None
    resp_headers: Any
    resp_body: bytes | None
    resp_content_type: str
    notes: list[dict[str, Any]] = field(default_factory=list)


def _headers(raw: Any):
    from werkzeug.datastructures import Headers

    h = Headers()
    if isinstance(raw, list):
        for item in raw:
            if isinstance(item, dict) and isinstance(item.get("name"), str) and not item["name"].startswith(":"):
                value = item.get("value")
                h.add(item["name"], value if isinstance(value, str) else str(value if value is not None else ""))
    return h


def _decompress(data: bytes, encoding: str) -> bytes:
    enc = encoding.lower().strip()
    if enc in ("gzip", "x-gzip"):
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif enc == "deflate":
        d = zlib.decompressobj()
    else:
        raise ValueError(f"content encoding {encoding!r} cannot be decoded")
    out = d.decompress(data, MAX_BODY_BYTES + 1)
    if len(out) > MAX_BODY_BYTES or d.unconsumed_tail:
        raise ValueError(f"decompressed body exceeds {MAX_BODY_BYTES} bytes")
    return out


def _body(container: Any, headers, entry: Entry, which: str) -> bytes | None:
    """Decoded body bytes, or None when the HAR did not record it (a note is added)."""
    if not isinstance(container, dict):
        return None
    text = container.get("text")
    if text is None and which == "request" and isinstance(container.get("params"), list):
        pairs = [(p.get("name", ""), p.get("value", "")) for p in container["params"] if isinstance(p, dict)]
        return urlencode(pairs).encode()
    if text is None:
        size = container.get("size")
        if which == "response" and isinstance(size, int) and size > 0:
            entry.notes.append({"part": "body", "level": "info", "side": which,
                                "reason": f"{which} body ({size} bytes) was not recorded in the HAR: not validated"})
        return None
    if not isinstance(text, str):
        entry.notes.append({"part": "har", "level": "error", "side": which,
                            "reason": f"{which} body text is not a string"})
        return None
    if container.get("encoding") == "base64":
        try:
            data = base64.b64decode(text, validate=False)
        except (binascii.Error, ValueError):
            entry.notes.append({"part": "body", "level": "error", "side": which,
                                "reason": f"{which} body is marked base64 but does not decode"})
            return None
    elif container.get("encoding") not in (None, ""):
        entry.notes.append({"part": "har", "level": "warning", "side": which,
                            "reason": f"unknown body encoding {container.get('encoding')!r}: body not validated"})
        return None
    else:
        data = text.encode("utf-8", "surrogatepass")
    if len(data) > MAX_BODY_BYTES:
        entry.notes.append({"part": "body", "level": "warning", "side": which,
                            "reason": f"{which} body is {len(data)} bytes, above {MAX_BODY_BYTES}: not validated"})
        return None
    # HAR text is normally decoded already; a still-compressed body starts with the gzip magic or the
    # recorder marks it as such (Content-Encoding kept with the raw bytes).
    enc = headers.get("Content-Encoding", "") if headers is not None else ""
    if data[:2] == b"\x1f\x8b" or (enc and enc.lower() not in ("identity",) and container.get("encoding") == "base64"
                                   and not _looks_text(data)):
        try:
            data = _decompress(data, "gzip" if data[:2] == b"\x1f\x8b" else enc)
        except (ValueError, zlib.error) as exc:
            entry.notes.append({"part": "body", "level": "warning", "side": which,
                                "reason": f"compressed {which} body could not be decoded ({exc}): not validated"})
            return None
    return data


def _looks_text(data: bytes) -> bool:
    try:
        data[:512].decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def parse_entry(index: int, raw: Any) -> Entry | dict[str, Any]:
    """An :class:`Entry`, or a finding dict when the entry itself is malformed."""
    def bad(reason: str) -> dict[str, Any]:
        return {"entry": index, "operation": None, "part": "har", "reason": reason}

    if not isinstance(raw, dict):
        return bad("entry is not an object")
    req, resp = raw.get("request"), raw.get("response")
    if not isinstance(req, dict):
        return bad("entry has no 'request' object")
    method, url = req.get("method"), req.get("url")
    if not isinstance(method, str) or not re.fullmatch(r"[A-Za-z]{1,16}", method):
        return bad(f"request.method {method!r} is not an HTTP method")
    if not isinstance(url, str) or not url or len(url) > 16384:
        return bad("request.url is missing or not a string")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return bad(f"request.url {url[:200]!r} is not an absolute http(s) URL")
    from werkzeug.datastructures import ImmutableMultiDict

    headers = _headers(req.get("headers"))
    cookies = ImmutableMultiDict([(c.get("name"), c.get("value", "")) for c in (req.get("cookies") or [])
                                  if isinstance(c, dict) and isinstance(c.get("name"), str)])
    query = ImmutableMultiDict(parse_qsl(parts.query, keep_blank_values=True))
    entry = Entry(index, method.lower(), url, query, headers, cookies, None, "", None, None, None, "")
    post = req.get("postData")
    entry.body = _body(post, headers, entry, "request")
    entry.content_type = (headers.get("Content-Type") or (post.get("mimeType") if isinstance(post, dict) else "")
                          or "")
    if isinstance(resp, dict):
        status = resp.get("status")
        if isinstance(status, int) and not isinstance(status, bool) and 100 <= status <= 599:
            entry.status = status
        elif status in (0, None):
            entry.notes.append({"part": "status", "level": "warning", "side": "response",
                                "reason": "no response was recorded (status 0: aborted or blocked): response not validated"})
        else:
            entry.notes.append({"part": "har", "level": "error", "side": "response",
                                "reason": f"response.status {status!r} is not an HTTP status"})
        entry.resp_headers = _headers(resp.get("headers"))
        content = resp.get("content")
        entry.resp_body = _body(content, entry.resp_headers, entry, "response")
        entry.resp_content_type = (entry.resp_headers.get("Content-Type")
                                   or (content.get("mimeType") if isinstance(content, dict) else "") or "")
    else:
        entry.notes.append({"part": "har", "level": "warning", "side": "response",
                            "reason": "entry has no 'response' object: response not validated"})
    return entry


# ----------------------------------------------------------------------------------------- findings


def _schema_errors(exc: BaseException) -> str:
    seen = exc
    for _ in range(4):
        errs = getattr(seen, "schema_errors", None)
        if errs:
            msgs = []
            for e in list(errs)[:5]:
                where = "/".join(str(p) for p in getattr(e, "absolute_path", []) or [])
                msgs.append((f"/{where}: " if where else "") + str(getattr(e, "message", e))[:300])
            return "; ".join(msgs)
        nxt = seen.__cause__ or seen.__context__
        if nxt is None:
            break
        seen = nxt
    cause = exc.__cause__
    return str(cause)[:300] if cause is not None and str(cause) else ""


def _part_of(exc: BaseException, side: str) -> str:
    from openapi_core.templating.media_types.exceptions import MediaTypeNotFound
    from openapi_core.templating.responses.exceptions import ResponseFinderError
    from openapi_core.validation.request.exceptions import ParameterValidationError, SecurityValidationError
    from openapi_core.validation.response.exceptions import HeaderValidationError

    if isinstance(exc, ParameterValidationError):
        return {"path": "path", "query": "query", "header": "header", "cookie": "cookie"}.get(exc.location, "query")
    if isinstance(exc, SecurityValidationError):
        return "header"
    if isinstance(exc, ResponseFinderError):
        return "status"
    if isinstance(exc, HeaderValidationError):
        return "header"
    if isinstance(exc, MediaTypeNotFound) or isinstance(exc.__cause__, MediaTypeNotFound):
        return "content type"
    return "body"


def _reason(exc: BaseException) -> str:
    from openapi_core.validation.request.exceptions import SecurityValidationError

    from openapi_core.validation.request.exceptions import InvalidRequestBody
    from openapi_core.validation.response.exceptions import InvalidData

    head = str(exc) or type(exc).__name__
    if isinstance(exc, SecurityValidationError):
        head = "security requirement not met (no accepted credentials in the request)"
    detail = _schema_errors(exc)
    if isinstance(exc, InvalidData) and detail:
        head = "response body does not match its schema"
    elif isinstance(exc, InvalidRequestBody) and detail:
        head = "request body does not match its schema"
    if detail and detail not in head:
        head = f"{head}: {detail}"
    return head[:1000]


def _bare_mimetype(ct: str) -> str:
    return ct.split(";", 1)[0].strip().lower()


class TrafficValidator:
    """Validates HAR entries against the vendor document and (for its operations) the standard."""

    def __init__(self, vendor: CompiledDocument, standard: CompiledDocument | None = None, *,
                 vendor_label: str = "vendor", standard_label: str = "standard"):
        self.vendor, self.standard = vendor, standard
        self.vendor_label, self.standard_label = vendor_label, standard_label
        self._std_ops = {}
        if standard is not None:
            for m, t in standard.index.operations():
                self._std_ops[(m, _shape(t))] = t

    def standard_operation(self, match: Match) -> str | None:
        t = self._std_ops.get((match.method, _shape(match.template)))
        return f"{match.method.upper()} {t}" if t else None

    def validate(self, entry: Entry, relative_path: str | None = None
                 ) -> tuple[Match | None, str | None, list[dict[str, Any]]]:
        """``(vendor match, standard operation or None, findings)`` of one entry (matched by server URL and
        path template, or by ``relative_path`` alone for probe requests sent to another base URL)."""
        findings: list[dict[str, Any]] = []
        base = {"entry": entry.index}
        try:
            if relative_path is not None:
                match = self.vendor.index.match_relative(entry.method, relative_path)
            else:
                match = self.vendor.index.match(entry.method, entry.url)
        except NoMatch as exc:
            findings.append({**base, "operation": None, "part": exc.part, "document": self.vendor_label,
                             "reason": f"{entry.method.upper()} {entry.url[:300]}: {exc.reason}"})
            return None, None, findings
        op = match.operation
        for n in entry.notes:
            findings.append({**base, "operation": op, "part": n["part"], "level": n["level"],
                             "document": None, "reason": n["reason"]})
        findings += self._check(self.vendor, match, entry, op, self.vendor_label)
        std_op = None
        if self.standard is not None:
            std_op = self.standard_operation(match)
            if std_op is not None:
                try:
                    smatch = self.standard.index.match_relative(entry.method, match.relative_path)
                except NoMatch as exc:
                    findings.append({**base, "operation": std_op, "part": exc.part, "document": self.standard_label,
                                     "reason": exc.reason})
                else:
                    findings += self._check(self.standard, smatch, entry, std_op, self.standard_label)
        return match, std_op, findings

    def _check(self, doc: CompiledDocument, match: Match, entry: Entry, op: str, label: str) -> list[dict[str, Any]]:
        from openapi_core.datatypes import RequestParameters
        from openapi_core.validation.response.exceptions import MissingData

        out = []
        pos = doc.path_operation_server(match)
        params = RequestParameters(path=dict(match.variables), query=entry.query, header=entry.headers,
                                   cookie=entry.cookies)
        req = _Request("http://citygov.invalid", match.relative_path, entry.method, entry.body,
                       _bare_mimetype(entry.content_type) if entry.body is not None else entry.content_type,
                       params, pos)
        try:
            errors = list(doc.api.request_validator.iter_errors(req))
        except Exception as exc:  # noqa: BLE001 - openapi-core raising on odd input is a finding, not a crash
            errors = [exc]
        for exc in errors:
            if _absent_optional(exc, entry.query):
                continue
            out.append({"entry": entry.index, "operation": op, "part": _part_of(exc, "request"), "side": "request",
                        "document": label, "reason": _reason(exc)})
        if entry.status is None:
            return out
        resp = _Response(entry.resp_body or b"", entry.status, entry.resp_headers,
                         _bare_mimetype(entry.resp_content_type) if entry.resp_content_type else "")
        try:
            rerrors = list(doc.api.response_validator.iter_errors(req, resp))
        except Exception as exc:  # noqa: BLE001
            rerrors = [exc]
        for exc in rerrors:
            if isinstance(exc, MissingData) and entry.resp_body is None:
                continue  # not recorded (noted above), not missing
            out.append({"entry": entry.index, "operation": op, "part": _part_of(exc, "response"), "side": "response",
                        "document": label, "reason": _reason(exc)})
        return out


def _absent_optional(exc: BaseException, query) -> bool:
    """openapi-core 0.23 reports an *absent optional* ``deepObject`` query parameter as an error (a KeyError
    from the style deserialiser): not a finding."""
    from openapi_core.validation.request.exceptions import MissingRequiredParameter, ParameterValidationError

    if not isinstance(exc, ParameterValidationError) or isinstance(exc, MissingRequiredParameter):
        return False
    if exc.location != "query" or type(exc.__cause__).__name__ not in ("KeyError", "DeserializeError"):
        return False
    name = exc.name
    return not any(k == name or k.startswith(name + "[") for k in query.keys())


def _shape(template: str) -> str:
    return re.sub(r"\{[^{}/]+\}", "{}", template.rstrip("/") or "/")


def entry_from_probe(i: int, res) -> Entry:
    """An :class:`Entry` for one live probe exchange (validated like a recorded one)."""
    from werkzeug.datastructures import Headers, ImmutableMultiDict

    req = res.request
    rh = Headers()
    for k, v in res.headers or []:
        rh.add(k, v)
    return Entry(i, req.method, res.url, ImmutableMultiDict(), Headers(req.headers), ImmutableMultiDict(),
                 req.body, req.content_type, res.status, rh, res.body if res.body else None,
                 rh.get("Content-Type", ""))
