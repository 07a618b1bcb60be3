"""Reading an existing project library: CSV, XLSX, JSON (a list of proposals) and NDJSON.

CSV encodings common in government files are detected: UTF-8 (with or without BOM), UTF-16 with BOM, and
GBK / GB18030 (GB18030 is a superset of GBK, so one decoder covers both). Cells are mapped onto the proposal
schema: numbers and integers are parsed, list fields split on ``;`` / ``；`` / ``|`` / newlines (or given
as a JSON array), interfaces as ``name`` or ``name=STANDARD@VERSION``, booleans as true/false/是/否.
Every problem is reported with its row number (the header is row 1 in CSV/XLSX; the first element is row 1
in JSON/NDJSON); nothing here touches the database.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

from kernel.errors import PayloadTooLarge, ValidationFailed
from registry.proposal import INTERFACE_FIELDS, LIST_FIELDS, packaged_schema, required_fields

MAX_BYTES = 50 * 1024 * 1024
#: a local file given to ``citygov projects import`` (a whole city's library: ~1.5 KB a project)
MAX_LOCAL_BYTES = 1024 * 1024 * 1024
MAX_ROWS = 100_000
#: columns of a library file (the proposal schema has a few dozen fields; the rest would be unknown anyway)
MAX_COLUMNS = int(os.environ.get("CITYGOV_REGISTRY_IMPORT_MAX_COLUMNS", "500"))
FORMATS = ("csv", "xlsx", "json", "ndjson")
_SPLIT = re.compile(r"\s*(?:;|；|\||\n|、)\s*")
_TRUE = {"true", "yes", "y", "1", "是", "有", "√"}
_FALSE = {"false", "no", "n", "0", "否", "无", "×", ""}
#: Chinese column headings accepted as aliases of the schema's field names
ALIASES = {
    "项目名称": "title", "名称": "title", "标题": "title", "项目概述": "summary", "建设内容": "summary", "概述": "summary",
    "申报单位": "organisation", "单位": "organisation", "所属区": "district", "区": "district", "行政区": "district",
    "领域": "area", "重点领域": "area", "建设模式": "construction_mode", "预算": "budget", "预算金额": "budget",
    "总投资": "budget", "开始年份": "start_year", "起始年份": "start_year", "结束年份": "end_year",
    "部署方式": "deployment", "部署": "deployment", "数据资源": "data_resources", "数据汇聚": "data_aggregation",
    "提供接口": "interfaces_provided", "调用接口": "interfaces_consumed", "能力标签": "capability_tags",
    "等保级别": "mlps_level", "等保等级": "mlps_level", "共享平台": "shared_platforms", "附件": "attachments",
    "个人信息": "personal_data", "安全方案": "security_plan", "非云部署理由": "deployment_justification",
    # the project's real lifecycle state (see registry.library_import)
    "状态": "state", "项目状态": "state", "批复文号": "decision_ref", "立项文号": "decision_ref",
    "申报日期": "submitted_on", "批复日期": "approved_on", "立项日期": "approved_on", "开工日期": "started_on",
    "验收日期": "completed_on", "竣工验收日期": "completed_on", "评价日期": "evaluated_on",
}
#: columns that describe where the project stands (not part of the proposal document)
LIFECYCLE_FIELDS = ("state", "decision_ref", "submitted_on", "approved_on", "started_on", "completed_on",
                    "evaluated_on")


@dataclass
class ParsedFile:
    format: str
    encoding: str | None = None
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)


def detect_format(filename: str | None, content: bytes) -> str:
    name = (filename or "").lower()
    for ext, fmt in ((".ndjson", "ndjson"), (".jsonl", "ndjson"), (".json", "json"), (".xlsx", "xlsx"),
                     (".csv", "csv"), (".tsv", "csv")):
        if name.endswith(ext):
            return fmt
    if content[:4] == b"PK\x03\x04":
        return "xlsx"
    head = content.lstrip()[:1]
    if head == b"[":
        return "json"
    if head == b"{":
        return "ndjson"
    return "csv"


def decode_text(content: bytes) -> tuple[str, str]:
    """The text and the encoding detected (utf-8-sig, utf-8, utf-16, gb18030)."""
    if content.startswith(b"\xef\xbb\xbf"):
        return content[3:].decode("utf-8"), "utf-8-sig"
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _checked(content, "utf-16"), "utf-16"
    bare16 = _utf16_without_bom(content)
    if bare16:
        return _checked(content, bare16), bare16
    try:
        return _no_nul(content.decode("utf-8")), "utf-8"
    except UnicodeDecodeError:
        pass
    return _checked(content, "gb18030"), "gb18030"


def _utf16_without_bom(content: bytes) -> str | None:
    """``utf-16-le`` / ``utf-16-be`` when the head of the file has the NUL pattern of UTF-16 text
    (Latin and CJK column headings: one zero byte in most code units, always on the same side)."""
    head = content[:4096]
    if len(head) < 4:
        return None
    head = head[: len(head) - len(head) % 2]
    even, odd = head[0::2].count(0), head[1::2].count(0)
    units = len(head) // 2
    if odd >= units * 0.3 and even == 0:
        return "utf-16-le"
    if even >= units * 0.3 and odd == 0:
        return "utf-16-be"
    return None


def _checked(content: bytes, encoding: str) -> str:
    try:
        return _no_nul(content.decode(encoding))
    except UnicodeDecodeError as exc:
        what = "GBK/GB18030" if encoding == "gb18030" else encoding.upper()
        raise ValidationFailed(f"the file is neither UTF-8 nor {what} text",
                               errors=[{"row": 0, "field": "(file)", "message": f"undecodable byte at offset {exc.start}"}]) from None


def _no_nul(text: str) -> str:
    """NUL characters are never data (and PostgreSQL cannot store them in text): refuse, naming the line."""
    at = text.find("\x00")
    if at >= 0:
        line = text.count("\n", 0, at) + 1
        raise ValidationFailed(f"the file has a NUL character on line {line} (binary data, or a wrong encoding)",
                               errors=[{"row": line, "field": "(file)", "message": "NUL character"}])
    return text


def _types() -> dict[str, str]:
    props = packaged_schema()["properties"]
    out = {}
    for name, spec in props.items():
        if name in INTERFACE_FIELDS:
            out[name] = "interfaces"
        elif name == "contacts":
            out[name] = "contacts"
        else:
            out[name] = spec.get("type", "string")
    return out


def _split(value: str) -> list[str]:
    value = value.strip()
    if value.startswith("["):
        try:
            parsed = json.loads(value)
            if isinstance(parsed, list):
                return parsed
        except ValueError:
            pass
    return [p for p in (s.strip() for s in _SPLIT.split(value)) if p]


def _interfaces(value: str) -> Any:
    value = value.strip()
    if value.startswith("["):
        try:
            return json.loads(value)
        except ValueError:
            pass
    out = []
    for item in _split(value):
        name, _, std = item.partition("=")
        out.append({"name": name.strip(), **({"standard": std.strip()} if std.strip() else {})})
    return out


def _contacts(value: str) -> Any:
    value = value.strip()
    if value.startswith("["):
        try:
            return json.loads(value)
        except ValueError:
            pass
    out = []
    for item in _split(value):
        parts = [p.strip() for p in re.split(r"[,，/]", item)]
        contact = {"name": parts[0]}
        if len(parts) > 1 and parts[1]:
            contact["phone"] = parts[1]
        out.append(contact)
    return out


def coerce_row(raw: dict[str, Any], row: int, errors: list[dict[str, Any]]) -> dict[str, Any]:
    """A flat table row → a proposal document (empty cells are left out)."""
    types = _types()
    doc: dict[str, Any] = {}
    for key, value in raw.items():
        if key is None or value is None:
            continue
        name = ALIASES.get(str(key).strip(), str(key).strip())
        if name in LIFECYCLE_FIELDS:
            if hasattr(value, "isoformat"):
                value = value.isoformat()
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                value = str(int(value)) if value == int(value) else str(value)
        if isinstance(value, str):
            value = value.strip()
            if value == "":
                continue
        kind = types.get(name, "string")
        try:
            if kind == "number":
                doc[name] = _number(value)
            elif kind == "integer":
                n = _number(value)
                if n != int(n):
                    raise ValueError
                doc[name] = int(n)
            elif kind == "boolean":
                v = str(value).strip().lower()
                if v not in _TRUE | _FALSE:
                    raise ValueError
                doc[name] = v in _TRUE
            elif kind == "array":
                doc[name] = value if isinstance(value, list) else _split(str(value))
            elif kind == "interfaces":
                doc[name] = _interfaces(str(value))
            elif kind == "contacts":
                doc[name] = _contacts(str(value))
            else:
                doc[name] = str(value) if not isinstance(value, float) or value != int(value) else str(int(value))
        except (ValueError, TypeError):
            errors.append({"row": row, "field": name, "message": f"{value!r} is not a valid {kind}"})
    for name in LIST_FIELDS + INTERFACE_FIELDS:
        if name in ("data_resources", "capability_tags") + INTERFACE_FIELDS and name not in doc and name in raw:
            doc[name] = []
    return doc


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).replace(",", "").replace("，", "").replace("元", "").strip()
    mult = 1.0
    if text.endswith("万"):
        text, mult = text[:-1], 10_000.0
    elif text.endswith("亿"):
        text, mult = text[:-1], 100_000_000.0
    return float(text) * mult


def _check_header(header: list[str], parsed: ParsedFile) -> None:
    from collections import Counter

    known = set(packaged_schema()["properties"]) | set(LIFECYCLE_FIELDS)
    if len(header) > MAX_COLUMNS:
        raise ValidationFailed(f"the header has {len(header)} columns, above the limit of {MAX_COLUMNS}",
                               errors=[{"row": 1, "field": "(header)", "message": "too many columns"}])
    names = [ALIASES.get(h.strip(), h.strip()) for h in header if h is not None]
    unknown = [h for h, n in zip(header, names) if n not in known]
    if unknown:
        parsed.errors.append({"row": 1, "field": "(header)", "message": f"unknown column(s): {', '.join(map(str, unknown))}"})
    counts = Counter(names)
    dupes = sorted(n for n, c in counts.items() if c > 1)
    if dupes:
        parsed.errors.append({"row": 1, "field": "(header)", "message": f"duplicate column(s): {', '.join(dupes)}"})
    missing = [f for f in required_fields() if f not in names]
    if missing:
        parsed.errors.append({"row": 1, "field": "(header)", "message": f"missing column(s): {', '.join(missing)}"})


def _table(parsed: ParsedFile, header: list[Any], records: list[tuple[int, list[Any]]]) -> None:
    header = [str(h).strip() if h is not None else "" for h in header]
    _check_header(header, parsed)
    for row, values in records:
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
            continue  # blank line
        if len(values) > len(header) and any(v not in (None, "") for v in values[len(header):]):
            parsed.errors.append({"row": row, "field": "(row)", "message": f"{len(values)} cells for {len(header)} columns"})
            continue
        raw = {h: values[i] if i < len(values) else None for i, h in enumerate(header) if h}
        parsed.rows.append((row, coerce_row(raw, row, parsed.errors)))
        if len(parsed.rows) > MAX_ROWS:
            raise ValidationFailed(f"more than {MAX_ROWS} rows", errors=[{"row": row, "field": "(file)", "message": "too many rows"}])


def parse(content: bytes, *, filename: str | None = None, fmt: str | None = None,
          max_bytes: int = MAX_BYTES) -> ParsedFile:
    """``max_bytes``: uploads keep the default; the operator's own file on the command line may be larger."""
    if len(content) > max_bytes:
        raise PayloadTooLarge(f"the file is {len(content) // (1024 * 1024)} MiB; the limit is {max_bytes // (1024 * 1024)} MiB")
    fmt = fmt or detect_format(filename, content)
    if fmt not in FORMATS:
        raise ValidationFailed(f"unknown format {fmt!r}", errors=[{"row": 0, "field": "format", "message": f"one of {FORMATS}"}])
    parsed = ParsedFile(format=fmt)
    if fmt == "xlsx":
        _parse_xlsx(content, parsed)
        return parsed
    text, parsed.encoding = decode_text(content)
    if fmt == "csv":
        sample = text[:4096]
        delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        try:
            header = next(reader)
        except StopIteration:
            raise ValidationFailed("the file is empty", errors=[{"row": 1, "field": "(header)", "message": "no header"}]) from None
        except csv.Error as exc:
            raise ValidationFailed("the CSV is malformed", errors=[{"row": 1, "field": "(file)", "message": str(exc)}]) from None
        records = []
        try:
            for values in reader:
                records.append((reader.line_num, values))
        except csv.Error as exc:
            parsed.errors.append({"row": reader.line_num, "field": "(file)", "message": f"malformed CSV: {exc}"})
        _table(parsed, header, records)
    elif fmt == "json":
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise ValidationFailed("malformed JSON", errors=[{"row": 0, "field": "(file)", "message": str(exc)}]) from None
        except RecursionError:
            raise ValidationFailed("malformed JSON", errors=[{"row": 0, "field": "(file)", "message": "nested too deeply"}]) from None
        if isinstance(doc, dict) and isinstance(doc.get("projects"), list):
            doc = doc["projects"]
        if not isinstance(doc, list):
            raise ValidationFailed("a JSON import is a list of proposals",
                                   errors=[{"row": 0, "field": "(file)", "message": "expected a JSON array"}])
        parsed.rows = [(i, item) for i, item in enumerate(doc, start=1)]
    else:
        for i, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                parsed.rows.append((i, json.loads(line)))
            except ValueError as exc:
                parsed.errors.append({"row": i, "field": "(line)", "message": f"malformed JSON: {exc}"})
            except RecursionError:
                parsed.errors.append({"row": i, "field": "(line)", "message": "malformed JSON: nested too deeply"})
    if fmt in ("json", "ndjson"):  # a \u0000 escape decodes to a NUL character: never data
        for row, item in parsed.rows:
            field = _nul_field(item)
            if field is not None:
                parsed.errors.append({"row": row, "field": field or "(row)", "message": "NUL character"})
    return parsed


def _nul_field(value: Any, field: str = "") -> str | None:
    """The (top-level) field holding a string with a NUL character, or None."""
    stack = [(value, field)]
    while stack:
        v, f = stack.pop()
        if isinstance(v, str):
            if "\x00" in v:
                return f
        elif isinstance(v, dict):
            stack.extend((x, f or str(k)) for k, x in v.items())
            stack.extend((k, f) for k in v if isinstance(k, str))
        elif isinstance(v, list):
            stack.extend((x, f) for x in v)
    return None


def _parse_xlsx(content: bytes, parsed: ParsedFile) -> None:
    import zipfile

    from openpyxl import load_workbook

    from kernel.archives import check_zip

    check_zip(content, what="the workbook")  # before openpyxl inflates anything: zip bombs are refused here
    try:
        wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        raise ValidationFailed("not a readable XLSX workbook",
                               errors=[{"row": 0, "field": "(file)", "message": str(exc) or type(exc).__name__}]) from None
    try:
        ws = wb.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise ValidationFailed("the workbook is empty", errors=[{"row": 1, "field": "(header)", "message": "no header"}])
        records = [(i, list(values)) for i, values in enumerate(rows, start=2)]
        _table(parsed, list(header), records)
    finally:
        wb.close()
