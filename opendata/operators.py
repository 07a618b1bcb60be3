"""Desensitization operators. Each ``build_*`` returns a function ``str | None -> str | None``.

Keys are always passed in by the caller (the portal passes the instance key); opendata never reads
configuration or knows Flask. Pseudonyms are keyed HMAC-SHA256 (never a plain or public-salt hash,
which is brute-forceable for IDs and phone numbers); encryption is AES-GCM with a random nonce and the
column name as associated data.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import hmac
import ipaddress
import math
import os
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from opendata.recognizers import Detector, default_detector

__all__ = [
    "OperatorError",
    "Keys",
    "build_operator",
    "mask",
    "pseudonym",
    "format_token",
    "encrypt_value",
    "decrypt_value",
    "OPERATOR_TYPES",
]

OPERATOR_TYPES = ("keep", "drop", "suppress", "mask", "pseudonymize", "token", "encrypt", "generalize", "redact")
Op = Callable[[str | None], str | None]


class OperatorError(ValueError):
    pass


@dataclass
class Keys:
    """Secrets for keyed operators. ``pseudonym`` keys HMAC pseudonyms and tokens; ``encryption``
    maps key ids to 16/24/32-byte AES keys (``"default"`` is used when the policy names none)."""

    pseudonym: bytes | None = None
    encryption: dict[str, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.pseudonym is not None and len(self.pseudonym) < 16:
            raise OperatorError("the pseudonymisation key must be at least 16 bytes")
        for kid, k in self.encryption.items():
            if len(k) not in (16, 24, 32):
                raise OperatorError(f"encryption key {kid!r} must be 16, 24 or 32 bytes")


# -- mask ------------------------------------------------------------------------------------------
def mask(value: str, *, keep_first: int = 0, keep_last: int = 0, char: str = "*", until: str | None = None) -> str:
    """Mask all but the first/last characters (of the part before ``until`` if given: e-mail local part)."""
    if until and until in value:
        head, sep, tail = value.partition(until)
        return mask(head, keep_first=keep_first, keep_last=keep_last, char=char) + sep + tail
    n = len(value)
    if keep_first + keep_last >= n:
        # too short to keep anything and still hide something: mask everything but the first char
        keep_first, keep_last = (1 if n > 2 else 0), 0
    return value[:keep_first] + char * (n - keep_first - keep_last) + (value[n - keep_last :] if keep_last else "")


def presidio_mask(value: str, *, chars_to_mask: int, from_end: bool, char: str = "*") -> str:
    """Presidio's mask semantics (``chars_to_mask`` from the start or the end)."""
    k = max(0, min(chars_to_mask, len(value)))
    if from_end:
        return value[: len(value) - k] + char * k
    return char * k + value[k:]


# -- keyed pseudonyms and tokens -------------------------------------------------------------------
def pseudonym(value: str, key: bytes, *, domain: str = "", length: int = 32, prefix: str = "") -> str:
    """HMAC-SHA256(key, domain || 0x00 || value), hex, truncated to ``length`` characters. Equal
    values give equal pseudonyms across datasets with the same key and domain, so joins still work."""
    mac = hmac.new(key, domain.encode("utf-8") + b"\x00" + value.encode("utf-8"), hashlib.sha256).hexdigest()
    return prefix + mac[:length]


_DIGITS = "0123456789"
_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LOWER = "abcdefghijklmnopqrstuvwxyz"


def _stream(key: bytes, domain: str, value: str, n: int) -> bytes:
    out = b""
    counter = 0
    seed = domain.encode("utf-8") + b"\x00" + value.encode("utf-8")
    while len(out) < n * 2:
        out += hmac.new(key, seed + counter.to_bytes(4, "big"), hashlib.sha256).digest()
        counter += 1
    return out


def format_token(value: str, key: bytes, *, domain: str = "", keep_first: int = 0, keep_last: int = 0) -> str:
    """Deterministic keyed token with the same shape: digits stay digits, letters letters (same case),
    Han characters Han characters, separators unchanged. Not reversible (use ``encrypt`` for that)."""
    n = len(value)
    ks = _stream(key, domain, value, n)
    out = []
    for i, ch in enumerate(value):
        if i < keep_first or i >= n - keep_last:
            out.append(ch)
            continue
        r = int.from_bytes(ks[2 * i : 2 * i + 2], "big")
        if ch.isdigit() and ch.isascii():
            out.append(_DIGITS[r % 10])
        elif "A" <= ch <= "Z":
            out.append(_UPPER[r % 26])
        elif "a" <= ch <= "z":
            out.append(_LOWER[r % 26])
        elif "\u4e00" <= ch <= "\u9fa5":
            out.append(chr(0x4E00 + r % (0x9FA5 - 0x4E00 + 1)))
        else:
            out.append(ch)
    return "".join(out)


# -- AES-GCM ---------------------------------------------------------------------------------------
def encrypt_value(value: str, key: bytes, *, aad: str = "") -> str:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(12)
    ct = AESGCM(key).encrypt(nonce, value.encode("utf-8"), aad.encode("utf-8"))
    return "gcm1:" + base64.urlsafe_b64encode(nonce + ct).decode("ascii").rstrip("=")


def decrypt_value(token: str, key: bytes, *, aad: str = "") -> str:
    """Authorised re-identification of an ``encrypt`` output (``aad`` = the column name)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if not token.startswith("gcm1:"):
        raise OperatorError("not an opendata AES-GCM token")
    raw = base64.urlsafe_b64decode(token[5:] + "=" * (-len(token[5:]) % 4))
    return AESGCM(key).decrypt(raw[:12], raw[12:], aad.encode("utf-8")).decode("utf-8")


# -- generalisation --------------------------------------------------------------------------------
_DATE = re.compile(r"^\s*(\d{4})[-/.年]?(\d{1,2})?[-/.月]?(\d{1,2})?日?(?:[ T].*)?$")


def _num(v: str) -> float | None:
    try:
        x = float(v.replace(",", "").strip())
    except ValueError:
        return None
    return x if math.isfinite(x) else None


def _fmt_num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(x)


def age_band(v: str, *, width: int = 10, top: int | None = None, bottom: int | None = None) -> str | None:
    x = _num(v)
    if x is None or x < 0:
        return None
    a = int(x)
    if top is not None and a >= top:
        return f">={top}"
    if bottom is not None and a < bottom:
        return f"<{bottom}"
    lo = a // width * width
    return f"{lo}-{lo + width - 1}" if width > 1 else str(lo)


def date_general(v: str, *, granularity: str = "year") -> str | None:
    m = _DATE.match(v)
    if not m:
        return None
    y = m.group(1)
    mo = int(m.group(2)) if m.group(2) else None
    if granularity == "year" or mo is None:
        return y
    if not 1 <= mo <= 12:
        return None
    if granularity == "quarter":
        return f"{y}-Q{(mo - 1) // 3 + 1}"
    return f"{y}-{mo:02d}"


_DISTRICT_CUT = [
    ("province", re.compile(r"^.*?(?:省|自治区|特别行政区|北京市|天津市|上海市|重庆市)")),
    ("city", re.compile(r"^.*?(?:省|自治区)?.*?(?:市|自治州|地区|盟)")),
    ("district", re.compile(r"^(?:.*?(?:省|自治区))?(?:.*?(?:市|自治州|地区|盟))?.*?(?:区|县|旗|市)")),
]


def address_district(v: str, *, level: str = "district") -> str | None:
    v = v.strip()
    for name, rx in _DISTRICT_CUT:
        if name != level:
            continue
        m = rx.match(v)
        if m and len(m.group(0)) >= 2:
            return m.group(0)
    if level == "district":
        return address_district(v, level="city")
    return None


def id_region_birth_year(v: str, detector: Detector, *, level: str = "city", birth: str = "year") -> str | None:
    chk = detector.validate("CN_RESIDENT_ID", v.strip())
    if not chk.ok and len(v.strip()) == 15:
        chk = detector.validate("CN_RESIDENT_ID_15", v.strip())
    if not chk.ok or "area_code" not in chk.info:
        return None
    area = chk.info["area_code"]
    region = {"province": area[:2] + "0000", "city": area[:4] + "00", "county": area}[level]
    year = int(chk.info["birth_date"][:4])
    if birth == "none":
        return region
    if birth == "decade":
        return f"{region}|{year // 10 * 10}s"
    return f"{region}|{year}"


def top_bottom(v: str, *, lower: float | None = None, upper: float | None = None, labels: bool = True) -> str | None:
    x = _num(v)
    if x is None:
        return None
    if upper is not None and x > upper:
        return f">{_fmt_num(upper)}" if labels else _fmt_num(upper)
    if lower is not None and x < lower:
        return f"<{_fmt_num(lower)}" if labels else _fmt_num(lower)
    return v


def round_to(v: str, *, base: float) -> str | None:
    x = _num(v)
    if x is None:
        return None
    return _fmt_num(round(x / base) * base)


def numeric_band(v: str, *, width: float) -> str | None:
    x = _num(v)
    if x is None:
        return None
    lo = math.floor(x / width) * width
    return f"[{_fmt_num(lo)},{_fmt_num(lo + width)})"


def ip_prefix(v: str, *, v4_prefix: int = 24, v6_prefix: int = 48) -> str | None:
    try:
        addr = ipaddress.ip_address(v.strip().split("%")[0])
    except ValueError:
        return None
    plen = v4_prefix if addr.version == 4 else v6_prefix
    return str(ipaddress.ip_network(f"{addr}/{plen}", strict=False))


# -- building ----------------------------------------------------------------------------------------
@dataclass
class OpStats:
    applied: int = 0
    invalid: int = 0  # values the operator could not interpret (suppressed)


def build_operator(
    spec: dict[str, Any],
    *,
    column: str,
    keys: Keys | None = None,
    detector: Detector | None = None,
    stats: OpStats | None = None,
    suppressed: str = "*",
) -> Op | None:
    """A callable for one column, or ``None`` for ``drop``. Invalid values (an age that is not a
    number, an ID that does not validate) are suppressed and counted in ``stats.invalid``."""
    t = spec["type"]
    keys = keys or Keys()
    det = detector or default_detector()
    st = stats if stats is not None else OpStats()

    def wrap(fn: Callable[[str], str | None]) -> Op:
        def op(v: str | None) -> str | None:
            if v is None or v == "":
                return v
            st.applied += 1
            out = fn(v)
            if out is None:
                st.invalid += 1
                return suppressed
            return out

        return op

    if t == "drop":
        return None
    if t == "keep":
        return lambda v: v
    if t == "suppress":
        rep = spec.get("replacement", suppressed)
        return wrap(lambda v: rep if rep is not None else "")
    if t == "mask":
        ch = spec.get("char", "*")
        if "chars_to_mask" in spec:
            k, fe = spec["chars_to_mask"], bool(spec.get("from_end", False))
            return wrap(lambda v: presidio_mask(v, chars_to_mask=k, from_end=fe, char=ch))
        kf, kl, until = spec.get("keep_first", 0), spec.get("keep_last", 0), spec.get("until")
        return wrap(lambda v: mask(v, keep_first=kf, keep_last=kl, char=ch, until=until))
    if t in ("pseudonymize", "token"):
        if keys.pseudonym is None:
            raise OperatorError(f"column {column!r}: operator {t!r} needs a pseudonymisation key")
        key, domain = keys.pseudonym, spec.get("domain", "")
        if t == "token":
            kf, kl = spec.get("keep_first", 0), spec.get("keep_last", 0)
            return wrap(lambda v: format_token(v, key, domain=domain, keep_first=kf, keep_last=kl))
        length, prefix, norm = spec.get("length", 32), spec.get("prefix", ""), spec.get("normalize", True)

        def pseudo(v: str) -> str:
            if norm:
                v = re.sub(r"[\s\-]", "", v).upper()
            return pseudonym(v, key, domain=domain, length=length, prefix=prefix)

        return wrap(pseudo)
    if t == "encrypt":
        kid = spec.get("key_id", "default")
        if kid not in keys.encryption:
            raise OperatorError(f"column {column!r}: no encryption key {kid!r}")
        ek = keys.encryption[kid]
        return wrap(lambda v: encrypt_value(v, ek, aad=column))
    if t == "redact":
        ents = set(spec["entities"]) if spec.get("entities") else None
        tmpl = spec.get("replacement", "<{entity}>")

        def redact(v: str) -> str:
            out, last = [], 0
            for f in det.analyze(v, entities=ents, cell=True):
                out.append(v[last : f.start])
                out.append(tmpl.replace("{entity}", f.entity))
                last = f.end
            out.append(v[last:])
            return "".join(out)

        return wrap(redact)
    if t == "generalize":
        m = spec["method"]
        p = {k: v for k, v in spec.items() if k not in ("type", "method")}
        fns: dict[str, Callable[[str], str | None]] = {
            "age_band": lambda v: age_band(v, **p),
            "date": lambda v: date_general(v, **p),
            "id_region_birth_year": lambda v: id_region_birth_year(v, det, **p),
            "address_district": lambda v: address_district(v, **p),
            "top_bottom": lambda v: top_bottom(v, **p),
            "round": lambda v: round_to(v, **p),
            "numeric_band": lambda v: numeric_band(v, **p),
            "ip_prefix": lambda v: ip_prefix(v, **p),
        }
        if m not in fns:
            raise OperatorError(f"column {column!r}: unknown generalisation method {m!r}")
        return wrap(fns[m])
    raise OperatorError(f"column {column!r}: unknown operator {t!r}")
