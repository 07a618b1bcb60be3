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


# --------------------------------------------------------------------------------------------------
# The orjson fast path of canonical_bytes() against the reference encoder (differential, hypothesis).

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from audit.canonical import MAX_SAFE_INT, _fast_number, _encode_number, reference_canonical_bytes  # noqa: E402

# Characters that exercise every escaping and ordering rule: controls (short and \u00xx escapes), quote,
# backslash, DEL, the line/paragraph separators, BMP code points around the surrogate block, astral code
# points (whose UTF-16 order differs from code-point order), lone surrogates (invalid Unicode).
_SPECIAL = st.sampled_from(
    ["\x00", "\x01", "\x08", "\t", "\n", "\x0b", "\x0c", "\r", "\x1f", " ", '"', "\\", "/", "\x7f", "\x80",
     "\u00e9", "\u2028", "\u2029", "\ud7ff", "\ue000", "\uffff", "\ufb33", "\u20ac", "\u4e2d",
     "\U00010000", "\U0001f600", "\U0010ffff", "\ud800", "\udfff", "\udc00"]
)
_CHARS = st.one_of(_SPECIAL, st.characters(codec=None), st.characters(max_codepoint=0x7F))
_TEXT = st.text(_CHARS, max_size=12)
_KEYS = st.one_of(_TEXT, st.sampled_from(["a", "b", "aa", "\u00e9", "\ufb33", "\U0001f600", "\ue000", "1", "A"]))
_INTS = st.one_of(
    st.integers(min_value=-MAX_SAFE_INT, max_value=MAX_SAFE_INT),
    st.sampled_from([MAX_SAFE_INT, -MAX_SAFE_INT, MAX_SAFE_INT + 1, -MAX_SAFE_INT - 1, 2**63, -(2**63) - 1, 2**64]),
    st.integers(),
)
_FLOATS = st.one_of(
    st.floats(),  # NaN and infinities included: both must reject them
    st.sampled_from([0.0, -0.0, 1e21, 1e-7, 1e-6, 1e16, 1e15, 123e-20, 5e-324, 1.7976931348623157e308, 100.0,
                     0.1, 1e-5, 1e-4, 9007199254740993.0, 295147905179352830000.0]),
)


class _Str(str):
    pass


class _Dict(dict):
    pass


_SCALARS = st.one_of(st.none(), st.booleans(), _INTS, _FLOATS, _TEXT, _TEXT.map(_Str))
_JSON = st.recursive(
    _SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.lists(children, max_size=3).map(tuple),
        st.dictionaries(_KEYS, children, max_size=5),
        st.dictionaries(_KEYS, children, max_size=3).map(_Dict),
        st.dictionaries(st.one_of(_KEYS, st.integers(0, 3)), children, max_size=3),  # non-str keys
    ),
    max_leaves=25,
)


def _outcome(fn, value):
    try:
        return "ok", fn(value)
    except CanonicalizationError as exc:
        return "error", str(exc)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_JSON)
def test_fast_path_is_byte_identical_to_the_reference(value):
    """Same bytes, or the same CanonicalizationError, for any JSON-ish value (in the fast path's domain or
    not: outside it canonical_bytes must defer to the reference)."""
    assert _outcome(canonical_bytes, value) == _outcome(reference_canonical_bytes, value)


@settings(max_examples=1000, deadline=None)
@given(st.dictionaries(st.text(st.characters(max_codepoint=0xFFFF, exclude_categories=["Cs"]), max_size=6),
                       st.one_of(st.integers(-MAX_SAFE_INT, MAX_SAFE_INT), st.text(max_size=6), st.booleans(),
                                 st.floats(allow_nan=False, allow_infinity=False)), max_size=12))
def test_fast_path_domain_bmp_objects(value):
    """The common case (BMP keys, safe integers, finite floats): equal to the reference."""
    assert canonical_bytes(value) == reference_canonical_bytes(value)


@settings(max_examples=2000, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_fast_number_matches_reference_formatting(x):
    assert _fast_number(x) == _encode_number(x)


def test_fast_path_examples():
    # key order by UTF-16 code units (RFC 8785 §3.2.3): U+1F600 sorts *before* U+E000 / U+FB33 there,
    # after them by code point — the astral case must come from the reference encoder.
    value = {"\ufb33": 1, "\U0001f600": 2, "\ue000": 3, "a": 4}
    assert canonical_bytes(value) == reference_canonical_bytes(value)
    assert canonical_bytes(value).startswith(b'{"a":4,"\xf0\x9f\x98\x80":2')
    assert canonical_bytes({"x": [1e21, 100.0, -0.0, 0.5]}) == b'{"x":[1e+21,100,0,0.5]}'
    with pytest.raises(CanonicalizationError):
        canonical_bytes({"n": 2**53})
    with pytest.raises(CanonicalizationError):
        canonical_bytes({"s": "\ud800"})
