"""Canonical JSON: RFC 8785, the JSON Canonicalization Scheme (JCS).

Every audit leaf is the JCS serialisation of the event's public fields, so that anyone can rebuild the
exact leaf bytes from the event (export, public entries) with any RFC 8785 implementation.

What this module implements (RFC 8785 §3.2):

* objects: members sorted by the UTF-16 code units of their names (§3.2.3), no whitespace;
* strings: ``"`` and ``\\`` escaped, ``\\b \\t \\n \\f \\r`` as short escapes, other controls below
  U+0020 as ``\\u00xx`` (lower-case hex), everything else literal, output UTF-8 (§3.2.2.2); strings that
  are not valid Unicode (lone surrogates) are rejected;
* numbers: ECMAScript ``Number.prototype.toString`` of the IEEE-754 double (§3.2.2.3), e.g. ``1e+21``,
  ``1e-7``, ``0.000001``, ``4.5``, ``-0`` → ``0``. NaN and infinities are rejected.

Stricter than the RFC, on purpose: integers must lie within ±(2**53 - 1), the range in which every
implementation (JavaScript included) reads them exactly; larger values must be passed as strings.

The reference encoder (:func:`reference_canonical_bytes`) is plain Python: the scheme is short, and its two
subtle parts (number formatting and key order) are tested against the RFC's own examples in
``tests/audit/test_canonical.py``. The PyPI package ``rfc8785`` (Trail of Bits) produces the same bytes for
the values we accept and may be used by auditors.

:func:`canonical_bytes` is what the log uses: a fast path through ``orjson`` (``OPT_SORT_KEYS``,
``OPT_STRICT_INTEGER``) on the domain where the two are byte-for-byte identical, the reference encoder
everywhere else. The domain: values built only of exact ``dict`` (exact ``str`` keys), ``list``, ``tuple``,
``str``, ``int``, ``bool``, ``None`` and finite ``float`` — floats are pre-formatted by the reference number
formatter and embedded as ``orjson.Fragment`` — whose output holds no character outside the BMP (there
UTF-8 byte order, which orjson sorts keys by, and UTF-16 code-unit order, which RFC 8785 requires, agree).
Anything outside it (a subclass, an integer beyond ±(2**53-1), a lone surrogate, NaN, an astral character,
nesting orjson refuses) is handed to the reference encoder, which produces the bytes or the error. The
equivalence is checked by a hypothesis differential test (``tests/audit/test_canonical.py``).

:func:`normalize` turns the Python values services naturally hold (datetimes, enums, UUIDs, decimals,
tuples, sets of strings) into plain JSON values *before* hashing or storing; it is documented here because
an auditor recomputing a state digest must apply the same mapping.
"""

from __future__ import annotations

import base64
import enum
import json
import math
import re
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import orjson

__all__ = ["CanonicalizationError", "canonical_bytes", "normalize", "reference_canonical_bytes", "MAX_SAFE_INT"]

MAX_SAFE_INT = 2**53 - 1


class CanonicalizationError(ValueError):
    """The value cannot be represented as canonical JSON."""


_NEEDS_ESCAPE = re.compile('[\x00-\x1f"\\\\\ud800-\udfff]')


def _encode_string(value: str) -> str:
    if not _NEEDS_ESCAPE.search(value):
        return '"' + value + '"'  # fast path: nothing to escape, valid Unicode
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CanonicalizationError("string is not valid Unicode (lone surrogate)") from exc
    # json.dumps escapes exactly what RFC 8785 / ECMAScript JSON.stringify escape when ensure_ascii=False.
    return json.dumps(value, ensure_ascii=False)


def _encode_number(value: float) -> str:
    if not math.isfinite(value):
        raise CanonicalizationError("NaN and Infinity are not JSON numbers")
    if value == 0:
        return "0"
    sign = "-" if value < 0 else ""
    # repr() is the shortest round-tripping decimal, which is what ECMAScript requires too.
    _, digits_t, exp = Decimal(repr(abs(value))).as_tuple()
    digits = "".join(map(str, digits_t))
    stripped = digits.rstrip("0")
    exp += len(digits) - len(stripped)
    digits = stripped.lstrip("0") or "0"
    k = len(digits)
    n = exp + k  # value = 0.digits × 10**n
    if k <= n <= 21:
        out = digits + "0" * (n - k)
    elif 0 < n <= 21:
        out = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        out = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
        out = f"{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"
    return sign + out


def _encode(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, str):
        out.append(_encode_string(value))
    elif isinstance(value, int):
        if abs(value) > MAX_SAFE_INT:
            raise CanonicalizationError(f"integer {value} is outside ±(2**53-1); pass it as a string")
        out.append(str(int(value)))
    elif isinstance(value, float):
        out.append(_encode_number(value))
    elif isinstance(value, dict):
        for key in value:
            if not isinstance(key, str):
                raise CanonicalizationError(f"object keys must be strings, not {type(key).__name__}")
        out.append("{")
        first = True
        for key in sorted(value, key=lambda k: k.encode("utf-16-be", "surrogatepass")):
            if not first:
                out.append(",")
            first = False
            out.append(_encode_string(key))
            out.append(":")
            _encode(value[key], out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _encode(item, out)
        out.append("]")
    else:
        raise CanonicalizationError(f"{type(value).__name__} is not a JSON value")


def reference_canonical_bytes(value: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 serialisation of a JSON value: the reference encoder (pure Python)."""
    out: list[str] = []
    _encode(value, out)
    return "".join(out).encode("utf-8")


_SCALARS = frozenset({str, int, bool, type(None)})
_FLOAT = float
_Fragment = orjson.Fragment
_ORJSON_OPTS = orjson.OPT_SORT_KEYS | orjson.OPT_STRICT_INTEGER
_ASTRAL = re.compile(rb"[\xf0-\xff]")  # lead byte of a 4-byte UTF-8 sequence
_isfinite = math.isfinite


class _Outside(Exception):
    """The value is outside the fast path's domain (the reference encoder decides)."""


def _prepare(value: Any) -> Any:
    """``value`` itself if it holds no float, a copy with floats as pre-formatted fragments otherwise;
    raises :class:`_Outside` for anything but exact JSON types and finite floats."""
    t = type(value)
    if t in _SCALARS:
        return value
    if t is dict:
        copy = None
        for k, v in value.items():
            if type(k) is not str:
                raise _Outside
            tv = type(v)
            if tv in _SCALARS:
                continue
            nv = _prepare(v)
            if nv is not v:
                if copy is None:
                    copy = dict(value)
                copy[k] = nv
        return value if copy is None else copy
    if t is list or t is tuple:
        copy = None
        for i, v in enumerate(value):
            if type(v) in _SCALARS:
                continue
            nv = _prepare(v)
            if nv is not v:
                if copy is None:
                    copy = list(value)
                copy[i] = nv
        return value if copy is None else copy
    if t is _FLOAT:
        if not _isfinite(value):
            raise _Outside
        return _Fragment(_fast_number(value))
    raise _Outside


def _fast_number(value: float) -> str:
    """:func:`_encode_number` for finite floats, skipping the decimal round trip when ``repr`` has no
    exponent (then both are the shortest round-tripping digits in plain notation; only ``.0`` differs)."""
    if value == 0:
        return "0"
    r = repr(value)
    if "e" in r:
        return _encode_number(value)
    return r[:-2] if r.endswith(".0") else r


def canonical_bytes(value: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 serialisation of a JSON value (dict, list, str, int, float, bool, None).

    Byte-for-byte :func:`reference_canonical_bytes` (same bytes, same errors); faster on the common domain
    described in the module docstring.
    """
    try:
        prepared = _prepare(value)
        out = orjson.dumps(prepared, option=_ORJSON_OPTS)
    except (_Outside, orjson.JSONEncodeError, RecursionError):
        return reference_canonical_bytes(value)
    if out.isascii() or not _ASTRAL.search(out):
        return out
    return reference_canonical_bytes(value)


def normalize(value: Any) -> Any:
    """Map common Python values to plain JSON values (a new structure; the input is not modified).

    * ``datetime`` → RFC 3339 UTC with microseconds and ``Z`` (naive datetimes are taken as UTC);
      ``date`` → ``YYYY-MM-DD``;
    * ``Enum`` → its value; ``UUID`` → canonical string; ``Decimal`` → its string (exact, no float);
    * ``bytes`` → standard base64; tuples → lists; sets/frozensets → sorted lists;
    * dict keys must already be strings; anything else raises :class:`CanonicalizationError`.
    """
    t = type(value)
    if t in _SCALARS:
        return value
    if t is dict:
        result = {}
        for key, item in value.items():
            if type(key) is not str:
                key = _normalize_key(key)
            result[key] = item if type(item) in _SCALARS else normalize(item)
        return result
    if t is list or t is tuple:
        return [item if type(item) in _SCALARS else normalize(item) for item in value]
    return _normalize_general(value)


def _normalize_key(key: Any) -> str:
    if isinstance(key, enum.Enum):
        key = key.value
    if not isinstance(key, str):
        raise CanonicalizationError(f"object keys must be strings, not {type(key).__name__}")
    return key


def _normalize_general(value: Any) -> Any:
    """:func:`normalize` for everything but exact ``str/int/bool/None/dict/list/tuple`` (and their
    subclasses when reached from here): the original, type-by-type mapping."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, enum.Enum):
        return normalize(value.value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CanonicalizationError("NaN and Infinity are not JSON numbers")
        return value
    if isinstance(value, datetime):
        v = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return v.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            if isinstance(key, enum.Enum):
                key = key.value
            if not isinstance(key, str):
                raise CanonicalizationError(f"object keys must be strings, not {type(key).__name__}")
            result[key] = normalize(item)
        return result
    if isinstance(value, list | tuple):
        return [normalize(item) for item in value]
    if isinstance(value, set | frozenset):
        items = [normalize(item) for item in value]
        try:
            return sorted(items)
        except TypeError as exc:
            raise CanonicalizationError("sets must hold mutually comparable values") from exc
    raise CanonicalizationError(f"{type(value).__name__} is not a JSON value")
