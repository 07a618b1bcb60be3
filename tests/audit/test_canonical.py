"""RFC 8785 (JCS) canonical JSON: the RFC's own examples and the strictness rules."""

from __future__ import annotations

import enum
import math
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from audit.canonical import CanonicalizationError, canonical_bytes, normalize


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # RFC 8785 Appendix B (IEEE-754 → ECMAScript), a selection incl. every formatting branch
        (0.0, "0"),
        (-0.0, "0"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (9007199254740992.0, "9007199254740992"),
        (-9007199254740992.0, "-9007199254740992"),
        (295147905179352830000.0, "295147905179352830000"),
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (1e-7, "1e-7"),
        (1e-6, "0.000001"),
        (0.000001, "0.000001"),
        (4.5, "4.5"),
        (2e-3, "0.002"),
        (333333333.3333333, "333333333.3333333"),
        (1e23, "1e+23"),
        (9.999999999999997e22, "9.999999999999997e+22"),
        (1.0, "1"),
        (-1.5, "-1.5"),
        (123456789012.5, "123456789012.5"),
        (1.2345e-10, "1.2345e-10"),
    ],
)
def test_numbers(value, expected):
    assert canonical_bytes(value) == expected.encode()


def test_rfc8785_example_object():
    # RFC 8785 §3.2.2 example input (numbers, literals, string escapes)
    value = {
        "numbers": [333333333.33333329, 1e30, 4.50, 2e-3, 0.000000000000000000000000001],
        "string": "\u20ac$\u000f\u000aA'\u0042\u0022\u005c\\\"/",
        "literals": [None, True, False],
    }
    expected = (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )
    assert canonical_bytes(value) == expected.encode("utf-8")


def test_key_order_is_utf16_code_units():
    # RFC 8785 §3.2.3 sorting example
    value = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    keys = [k for k in __import__("json").loads(canonical_bytes(value))]
    assert keys == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]


def test_whitespace_and_nesting():
    assert canonical_bytes({"b": [1, {"d": 2, "c": None}], "a": "x"}) == b'{"a":"x","b":[1,{"c":null,"d":2}]}'


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, 2**53, -(2**53), "\ud800", {1: "x"}, object(), b"x"])
def test_rejects(bad):
    with pytest.raises(CanonicalizationError):
        canonical_bytes(bad)


def test_safe_integer_bounds_accepted():
    assert canonical_bytes(2**53 - 1) == b"9007199254740991"
    assert canonical_bytes(True) == b"true"


def test_normalize():
    class Colour(enum.Enum):
        RED = "red"

    u = uuid.UUID("12345678-1234-5678-1234-567812345678")
    value = {
        "when": datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=timezone(timedelta(hours=8))),
        "naive": datetime(2026, 1, 2, 3, 4, 5),
        "day": date(2026, 1, 2),
        "c": Colour.RED,
        "u": u,
        "d": Decimal("1.10"),
        "t": (1, 2),
        "s": {"b", "a"},
        "raw": b"\x00\x01",
    }
    assert normalize(value) == {
        "when": "2026-01-01T19:04:05.000006Z",
        "naive": "2026-01-02T03:04:05.000000Z",
        "day": "2026-01-02",
        "c": "red",
        "u": str(u),
        "d": "1.10",
        "t": [1, 2],
        "s": ["a", "b"],
        "raw": "AAE=",
    }
    with pytest.raises(CanonicalizationError):
        normalize({"x": object()})
    assert normalize(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01T00:00:00.000000Z"
