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

No third-party library is used: the scheme is short, and its two subtle parts (number formatting and key
order) are tested against the RFC's own examples in ``tests/audit/test_canonical.py``. The PyPI package
``rfc8785`` (Trail of Bits) produces the same bytes for the values we accept and may be used by auditors.

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

__all__ = ["CanonicalizationError", "canonical_bytes", "normalize", "MAX_SAFE_INT"]

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


def canonical_bytes(value: Any) -> bytes:
    """The RFC 8785 canonical UTF-8 serialisation of a JSON value (dict, list, str, int, float, bool, None)."""
    out: list[str] = []
    _encode(value, out)
    return "".join(out).encode("utf-8")


def normalize(value: Any) -> Any:
    """Map common Python values to plain JSON values (a new structure; the input is not modified).

    * ``datetime`` → RFC 3339 UTC with microseconds and ``Z`` (naive datetimes are taken as UTC);
      ``date`` → ``YYYY-MM-DD``;
    * ``Enum`` → its value; ``UUID`` → canonical string; ``Decimal`` → its string (exact, no float);
    * ``bytes`` → standard base64; tuples → lists; sets/frozensets → sorted lists;
    * dict keys must already be strings; anything else raises :class:`CanonicalizationError`.
    """
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
