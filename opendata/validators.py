"""Check-character and component validation for the identifiers opendata recognises.

Pure functions, no I/O except :meth:`AreaCodes.load`. Every validator takes the raw candidate string
and returns a :class:`Check` (``ok`` plus the normalised value, a reason when it fails and any facts
it could extract, e.g. birth date and area code of a resident ID).
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import operator
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "AreaCodes",
    "Check",
    "PROVINCE_CODES",
    "cn_resident_id",
    "cn_resident_id_15",
    "cn_uscc",
    "luhn_ok",
    "bank_card",
    "cn_mobile",
    "cn_landline",
    "cn_licence_plate",
    "ip_address",
    "resident_id_check_char",
    "uscc_check_char",
    "VALIDATORS",
]


@dataclass
class Check:
    ok: bool
    normalized: str = ""
    reason: str = ""
    info: dict[str, Any] = field(default_factory=dict)
    #: multiplier applied to the recogniser's base score (evidence such as Luhn raises or lowers it)
    weight: float = 1.0
    #: entity override (an 18-digit number with prefix 81/82/83 is a residence permit, not a resident ID)
    entity: str | None = None
    #: characters of the candidate's tail that are not part of the value (a sentence's full stop)
    end_trim: int = 0

    def __bool__(self) -> bool:  # pragma: no cover - convenience
        return self.ok


# GB/T 2260 province-level prefixes (incl. 71 Taiwan, 81 Hong Kong, 82 Macau; 83 is only used by the
# Taiwan residence permit prefix 830000).
PROVINCE_CODES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82".split()
)
PERMIT_PREFIXES = {"810000": "CN_HK_RESIDENCE_PERMIT", "820000": "CN_MO_RESIDENCE_PERMIT", "830000": "CN_TW_RESIDENCE_PERMIT"}

_RIC_WEIGHTS = [pow(2, 17 - i, 11) for i in range(17)]
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {c: i for i, c in enumerate(_USCC_ALPHABET)}
_USCC_WEIGHTS = [pow(3, i, 31) for i in range(17)]
_STRIP = re.compile(r"[\s\-]")


class AreaCodes:
    """Administrative division codes with validity years (python-stdnum ``loc.dat`` format).

    ``lookup(code)`` returns a list of ``(name, first_year | None, last_year | None)`` periods.
    """

    _PERIOD = re.compile(r"^\[(\d{4})?-(\d{4})?\](.*)$")

    def __init__(self, table: dict[str, list[tuple[str, int | None, int | None]]], provinces: dict[str, str]):
        self.table = table
        self.provinces = provinces

    @classmethod
    def load(cls, path: str | Path) -> "AreaCodes":
        table: dict[str, list[tuple[str, int | None, int | None]]] = {}
        provinces: dict[str, str] = {}
        prefix = ""
        attr = re.compile(r'(\w+)="([^"]*)"')
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if not line.strip() or line.startswith("#"):
                    continue
                attrs = dict(attr.findall(line))
                if not line.startswith(" "):
                    prefix = line.split()[0]
                    provinces[prefix] = attrs.get("province", "")
                    continue
                code = prefix + line.split()[0]
                name = attrs.get("county", "")
                m = cls._PERIOD.match(name)
                first = last = None
                if m:
                    first = int(m.group(1)) if m.group(1) else None
                    last = int(m.group(2)) if m.group(2) else None
                    name = m.group(3)
                table.setdefault(code, []).append((name, first, last))
        return cls(table, provinces)

    def lookup(self, code: str) -> list[tuple[str, int | None, int | None]]:
        return self.table.get(code, [])

    def exists(self, code: str) -> bool:
        return code in self.table

    def valid_in(self, code: str, year: int) -> bool:
        for _name, first, last in self.lookup(code):
            if (first is None or first <= year) and (last is None or year <= last):
                return True
        return False

    def describe(self, code: str, year: int | None = None) -> list[str]:
        """Province / prefecture / county names for a 6-digit code, as they were in ``year``
        (the last known names when no year is given or no period covers it)."""
        out = []
        for c in (code[:2] + "0000", code[:4] + "00", code):
            periods = self.lookup(c)
            if periods:
                name = periods[-1][0]
                if year is not None:
                    for n, first, last in periods:
                        if (first is None or first <= year) and (last is None or year <= last):
                            name = n
                            break
                if not out or out[-1] != name:
                    out.append(name)
        return out


def resident_id_check_char(body17: str) -> str:
    total = sum(map(operator.mul, map(int, body17), _RIC_WEIGHTS))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def _date(y: int, m: int, d: int) -> _dt.date | None:
    try:
        return _dt.date(y, m, d)
    except ValueError:
        return None


def cn_resident_id(
    value: str,
    *,
    area_codes: AreaCodes | None = None,
    strict: bool = False,
    today: _dt.date | None = None,
) -> Check:
    """GB 11643-1999 citizen identity number, 18 characters (also HK/Macau/Taiwan residence permits).

    Checks format, ISO 7064 MOD 11-2 check character, birth date (a real date, not in the future, not
    before 1800), province prefix; with ``area_codes`` the 6-digit area code must exist in the table
    (at any time), with ``strict`` also be valid in the birth year.
    """
    v = value if len(value) == 18 else _STRIP.sub("", value)
    v = v.upper()
    if len(v) != 18:
        return Check(False, v, "InvalidLength")
    if not (v[:17].isdigit() and (v[17].isdigit() or v[17] == "X")) or not v.isascii():
        return Check(False, v, "InvalidFormat")
    birth = _date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    today = today or _dt.date.today()
    if birth is None or birth > today or birth.year < 1800:
        return Check(False, v, "InvalidComponent", {"component": "birth_date"})
    area = v[:6]
    entity = PERMIT_PREFIXES.get(area)
    if entity is None:
        if area[:2] not in PROVINCE_CODES:
            return Check(False, v, "InvalidComponent", {"component": "area_code"})
        if area_codes is not None:
            if not area_codes.exists(area):
                return Check(False, v, "InvalidComponent", {"component": "area_code"})
            if strict and not area_codes.valid_in(area, birth.year):
                return Check(False, v, "InvalidComponent", {"component": "area_code_period"})
    if resident_id_check_char(v[:17]) != v[17]:
        return Check(False, v, "InvalidChecksum")
    info = {
        "area_code": area,
        "birth_date": birth.isoformat(),
        "sex": "male" if int(v[16]) % 2 else "female",
    }
    if area_codes is not None and entity is None:
        info["area"] = area_codes.describe(area, birth.year)
    return Check(True, v, info=info, entity=entity)


def cn_resident_id_15(value: str, *, area_codes: AreaCodes | None = None, strict: bool = False) -> Check:
    """First-generation 15-digit ID: area + YYMMDD (19YY) + 3-digit sequence, no check digit."""
    v = _STRIP.sub("", value)
    if len(v) != 15:
        return Check(False, v, "InvalidLength")
    if not (v.isdigit() and v.isascii()):
        return Check(False, v, "InvalidFormat")
    birth = _date(1900 + int(v[6:8]), int(v[8:10]), int(v[10:12]))
    if birth is None:
        return Check(False, v, "InvalidComponent", {"component": "birth_date"})
    area = v[:6]
    if area[:2] not in PROVINCE_CODES:
        return Check(False, v, "InvalidComponent", {"component": "area_code"})
    if area_codes is not None:
        if not area_codes.exists(area):
            return Check(False, v, "InvalidComponent", {"component": "area_code"})
        if strict and not area_codes.valid_in(area, birth.year):
            return Check(False, v, "InvalidComponent", {"component": "area_code_period"})
    return Check(
        True, v, info={"area_code": area, "birth_date": birth.isoformat(), "sex": "male" if int(v[14]) % 2 else "female"}
    )


def uscc_check_char(body17: str) -> str:
    total = sum(map(operator.mul, map(_USCC_VALUE.__getitem__, body17), _USCC_WEIGHTS))
    return _USCC_ALPHABET[(31 - total % 31) % 31]


def looks_like_resident_id(v: str) -> bool:
    """18 digits with a province prefix and a real birth date at positions 7-14 (checksum not considered):
    when such a number fails the MOD 11-2 check it is more likely a mistyped ID than a card or credit code."""
    if len(v) != 18 or not v[:17].isdigit() or v[:2] not in PROVINCE_CODES:
        return False
    y = int(v[6:10])
    return 1900 <= y <= 2100 and _date(y, int(v[10:12]), int(v[12:14])) is not None


#: GB 32100-2015: registration authority -> organisation type codes it issues
USCC_ORG_TYPES = {"1": "1239", "2": "19", "3": "123459", "4": "19", "5": "1239", "6": "129", "7": "1239", "8": "19",
                  "9": "123", "A": "19", "N": "1239", "Y": "1"}


def uscc_structure_ok(v: str) -> bool:
    """Registration authority, organisation type and the area code (a province's code, or 100000 for
    organisations registered at national level)."""
    return (v[1] in USCC_ORG_TYPES.get(v[0], "")) and (v[2:4] in PROVINCE_CODES or v[2:8] == "100000")


def cn_uscc(value: str, **_: Any) -> Check:
    """Unified social credit code (GB 32100-2015): alphabet, registration authority / organisation type,
    area code, check character."""
    v = _STRIP.sub("", value).upper()
    if len(v) != 18:
        return Check(False, v, "InvalidLength")
    if v.strip(_USCC_ALPHABET) or not v[2:8].isdigit():
        return Check(False, v, "InvalidFormat")
    if not uscc_structure_ok(v):
        return Check(False, v, "InvalidComponent", {"component": "authority_type_area"})
    if uscc_check_char(v[:17]) != v[17]:
        return Check(False, v, "InvalidChecksum")
    if v.isdigit() and looks_like_resident_id(v):
        return Check(True, v, info={"resident_id_lookalike": True}, weight=0.4)
    return Check(True, v, info={"registration_authority": v[0], "org_type": v[1], "area_code": v[2:8]})


_LUHN_DOUBLE = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


def luhn_ok(digits: str) -> bool:
    total = sum(map(int, digits[-1::-2])) + sum(map(_LUHN_DOUBLE.__getitem__, map(int, digits[-2::-2])))
    return total % 10 == 0


#: payment card issuer ranges (first four digits) and the lengths their cards have: UnionPay 62 and
#: the Chinese domestic 60 range 16-19 digits; Visa 4 (16); Mastercard 51-55 and 2221-2720 (16);
#: American Express 34/37 (15); JCB 3528-3589 (16); Discover 644-649 / 65 (16-19); Diners 36 / 300-305
#: (14); Dankort / Maestro 50 and 67 (16, 16-19); UATP 1 (15). Numbers outside these (date-prefixed order numbers, 15-digit IMEIs and legacy IDs, 12-13
#: digit courier numbers) are not card numbers whatever their Luhn digit.
_CARD_RANGES = (
    (6200, 6299, range(16, 20)), (6000, 6099, range(16, 20)), (4000, 4999, (16,)), (5100, 5599, (16,)),
    (2221, 2720, (16,)), (3400, 3499, (15,)), (3700, 3799, (15,)), (3528, 3589, (16,)),
    (6440, 6499, range(16, 20)), (6500, 6599, range(16, 20)), (3600, 3699, (14,)), (3000, 3059, (14,)),
    (5000, 5099, (16,)), (6700, 6799, range(16, 20)), (1000, 1999, (15,)),
)


def _card_table() -> list[bytearray]:
    t = [bytearray(10000) for _ in range(20)]
    for lo, hi, lengths in _CARD_RANGES:
        for n in lengths:
            t[n][lo : hi + 1] = b"\x01" * (hi - lo + 1)
    return t


#: CARD_ISSUER[length][first four digits] -> 1 when some issuer has cards of that length there
CARD_ISSUER = _card_table()


def bank_card(value: str, **_: Any) -> Check:
    """Payment card number: an issuer range of that length (:data:`CARD_ISSUER`), then Luhn as
    evidence: Luhn-valid numbers get full weight, others (some Chinese debit cards are reported not to
    be Luhn-valid) only a low weight when they carry the UnionPay 62 prefix, and are rejected
    otherwise. 15-digit numbers that are valid first-generation resident IDs are not cards."""
    v = _STRIP.sub("", value)
    if not (v.isdigit() and v.isascii()) or not 13 <= len(v) <= 19:
        return Check(False, v, "InvalidFormat")
    if not CARD_ISSUER[len(v)][int(v[:4])]:
        return Check(False, v, "UnknownIssuer")
    if len(set(v)) == 1:
        return Check(False, v, "InvalidFormat")
    if len(v) == 15 and cn_resident_id_15(v).ok:
        return Check(False, v, "LegacyResidentId")
    if looks_like_resident_id(v):
        return Check(True, v, info={"luhn": luhn_ok(v), "resident_id_lookalike": True}, weight=0.4)
    if luhn_ok(v):
        return Check(True, v, info={"luhn": True})
    if v.startswith("62") and len(v) >= 16:
        return Check(True, v, info={"luhn": False}, weight=0.45)
    return Check(False, v, "InvalidChecksum")


#: IMEI reporting-body identifiers (first two digits of the type allocation code) in use
IMEI_RBI = frozenset({"00", "01", "10", "30", "33", "35", "44", "45", "49", "50", "51", "52", "53", "54", "86",
                      "91", "98", "99"})


def imei(value: str, **_: Any) -> Check:
    """15-digit IMEI: a reporting-body prefix and the Luhn check digit. A number that is also a valid
    first-generation resident ID (province code, real date) is ambiguous: it gets the weight that makes
    its score below the threshold (0.45), so it is reported only where the column header or nearby
    words say IMEI (legacy IDs likewise need their context: they carry no check digit)."""
    v = _STRIP.sub("", value)
    if len(v) != 15 or not (v.isdigit() and v.isascii()):
        return Check(False, v, "InvalidFormat")
    if v[:2] not in IMEI_RBI or len(set(v)) == 1:
        return Check(False, v, "InvalidComponent", {"component": "reporting_body"})
    if not luhn_ok(v):
        return Check(False, v, "InvalidChecksum")
    if cn_resident_id_15(v).ok:
        return Check(True, v, info={"tac": v[:8], "legacy_id_lookalike": True}, weight=0.45 / 0.85)
    return Check(True, v, info={"tac": v[:8]})


_MOBILE_PREFIX = re.compile(r"^1(?:3\d|4[5-9]|5[0-35-9]|6[2567]|7[0-8]|8\d|9[0-35-9])")


_MOBILE_STRIP = re.compile(r"[\s\-()]")
_LANDLINE_STRIP = re.compile(r"[\s()\uff08\uff09]")
_LANDLINE = re.compile(r"(?:\+?86-?)?(0\d{2,3})-?(\d{7,8})(?:-(\d{1,6}))?")


def cn_mobile(value: str, **_: Any) -> Check:
    v = _MOBILE_STRIP.sub("", value)
    if v.startswith("+86"):
        v = v[3:]
    elif v.startswith("0086"):
        v = v[4:]
    elif v.startswith("86") and len(v) == 13:
        v = v[2:]
    if len(v) != 11 or not v.isdigit():
        return Check(False, v, "InvalidFormat")
    if not _MOBILE_PREFIX.match(v):
        return Check(True, v, "UnknownPrefix", weight=0.6)
    return Check(True, v)


def cn_landline(value: str, **_: Any) -> Check:
    v = _LANDLINE_STRIP.sub("", value)
    m = _LANDLINE.fullmatch(v)
    if not m:
        return Check(False, v, "InvalidFormat")
    area, local = m.group(1), m.group(2)
    if area[1] == "0" or (len(area) == 3 and area[1] not in "12"):
        return Check(False, v, "InvalidComponent")
    if local[0] == "0":
        return Check(False, v, "InvalidComponent")
    return Check(True, v, info={"area": area})


_PLATE_NEV = re.compile(r"^.[A-HJ-NP-Z](?:[DF][A-HJ-NP-Z0-9]\d{4}|\d{5}[DF])$")


def cn_licence_plate(value: str, **_: Any) -> Check:
    v = value.replace("·", "").replace(" ", "").upper()
    if len(v) == 8:
        if not _PLATE_NEV.match(v):
            return Check(False, v, "InvalidFormat")
        return Check(True, v, info={"new_energy": True})
    if len(v) == 7:
        return Check(True, v, info={"new_energy": False})
    return Check(False, v, "InvalidLength")


def ip_address(value: str, **_: Any) -> Check:
    v = value.rstrip(".")
    try:
        addr = ipaddress.ip_address(v)
    except ValueError:
        return Check(False, v, "InvalidFormat")
    return Check(
        True,
        v,
        info={"version": addr.version},
        entity="IPV4" if addr.version == 4 else "IPV6",
        end_trim=len(value) - len(v),
    )


VALIDATORS = {
    "imei": imei,
    "cn_resident_id": cn_resident_id,
    "cn_resident_id_15": cn_resident_id_15,
    "cn_uscc": cn_uscc,
    "bank_card": bank_card,
    "cn_mobile": cn_mobile,
    "cn_landline": cn_landline,
    "cn_licence_plate": cn_licence_plate,
    "ip_address": ip_address,
}


# ---------------------------------------------------------------------------------------------
# Lower-confidence recognisers: names and addresses
_DATA = Path(__file__).with_name("data")
_SURNAMES: tuple[frozenset[str], frozenset[str]] | None = None
_NOT_NAME_SUFFIX = tuple("省市区县镇乡村路街道局委会司厅院部所处科队站馆校园店厂行社组")
_NOT_NAME_WORDS = frozenset(
    "男 女 未知 其他 无 是 否 汉族 已婚 未婚 离异 丧偶 北京 上海 天津 重庆 中国 全国 合计 小计 总计 备注 正常 异常".split()
)


def surnames() -> tuple[frozenset[str], frozenset[str]]:
    """(single-character surnames, compound surnames) from ``data/surnames.txt``."""
    global _SURNAMES
    if _SURNAMES is None:
        single, compound = set(), set()
        for line in (_DATA / "surnames.txt").read_text(encoding="utf-8").splitlines():
            if line.startswith("#"):
                continue
            for w in line.split():
                (single if len(w) == 1 else compound).add(w)
        _SURNAMES = (frozenset(single), frozenset(compound))
    return _SURNAMES


def cn_name(value: str, **_: Any) -> Check:
    """A Chinese personal name: 2–4 Han characters starting with a known surname (compound surnames
    allowed), or a transliterated name with the middle dot. Evidence only — callers combine it with
    header hints or context words."""
    v = value.strip()
    if "·" in v:
        parts = v.split("·")
        if all(parts) and 4 <= len(v) <= 20:
            return Check(True, v, weight=0.6, info={"transliterated": True})
        return Check(False, v, "InvalidFormat")
    if not 2 <= len(v) <= 4 or v in _NOT_NAME_WORDS or v.endswith(_NOT_NAME_SUFFIX):
        return Check(False, v, "InvalidFormat")
    single, compound = surnames()
    if v[:2] in compound and len(v) >= 3:
        return Check(True, v, info={"surname": v[:2]})
    if v[0] in single:
        return Check(True, v, info={"surname": v[0]}, weight=1.0 if len(v) <= 3 else 0.7)
    if len(v) <= 3 and all("\u4e00" <= ch <= "\u9fa5" for ch in v):
        # a rare surname the list lacks: weak evidence, reported only where the header says 'name'
        return Check(True, v, info={"surname": v[0], "unknown_surname": True}, weight=0.5)
    return Check(False, v, "UnknownSurname")


_ADDR_LEVELS = [
    re.compile(r"省|自治区|特别行政区"),
    re.compile(r"市|自治州|地区|盟"),
    re.compile(r"区|县|旗"),
    re.compile(r"街道|镇|乡|路|街|巷|弄|胡同|村"),
    re.compile(r"号|栋|幢|单元|室|楼|小区|大厦|花园"),
]


def cn_address(value: str, **_: Any) -> Check:
    v = value.strip()
    levels = sum(1 for p in _ADDR_LEVELS if p.search(v))
    if levels < 2 or len(v) < 5:
        return Check(False, v, "InvalidFormat")
    return Check(True, v, weight=min(1.0, 0.5 + 0.15 * levels), info={"levels": levels})


VALIDATORS.update({"cn_name": cn_name, "cn_address": cn_address})
