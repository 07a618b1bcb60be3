"""Validate data against a compiled JSON Schema: JSON / YAML documents, NDJSON streams (constant memory,
one error list per record), CSV (cells typed by the schema's properties).

Every finding carries ``pointer`` (JSON pointer in the instance), ``line`` (1-based, where known),
``message``, ``rule`` (the failing keyword) and ``schema_pointer``.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from typing import IO, Any

import orjson
from jsonschema.exceptions import _RefResolutionError
from referencing.exceptions import Unresolvable

from standards import oaswalk
from standards.jsonschema_engine import CompiledSchema, UnresolvableReference, _unresolvable_message, error_dict
from standards.loading import DEFAULT_MAX_BYTES, InputError, check_depth, decode_utf8, parse_document
from standards.reports import DEFAULT_EXAMPLES, Report

_WS = re.compile(r"[ \t\n\r]*")


def locate_pointer(text: str, pointer: str) -> int | None:
    """Character offset where the value at ``pointer`` starts in JSON ``text`` (None if not found)."""
    if not text.lstrip().startswith(("{", "[")):
        return None
    decoder = json.JSONDecoder()
    segments = oaswalk.split(pointer)
    idx = _WS.match(text, 0).end()
    try:
        for seg in segments:
            ch = text[idx]
            if ch == "{":
                idx = _WS.match(text, idx + 1).end()
                while text[idx] != "}":
                    key, idx = json.decoder.scanstring(text, idx + 1)
                    idx = _WS.match(text, idx).end() + 1  # ':'
                    idx = _WS.match(text, idx).end()
                    if key == seg:
                        break
                    _, idx = decoder.raw_decode(text, idx)
                    idx = _WS.match(text, idx).end()
                    if text[idx] == ",":
                        idx = _WS.match(text, idx + 1).end()
                else:
                    return None
            elif ch == "[":
                want = int(seg)
                idx = _WS.match(text, idx + 1).end()
                i = 0
                while text[idx] != "]":
                    if i == want:
                        break
                    _, idx = decoder.raw_decode(text, idx)
                    idx = _WS.match(text, idx).end()
                    if text[idx] == ",":
                        idx = _WS.match(text, idx + 1).end()
                    i += 1
                else:
                    return None
            else:
                return None
        return idx
    except (IndexError, ValueError):
        return None


def line_of(text: str, pointer: str) -> int | None:
    off = locate_pointer(text, pointer)
    return None if off is None else text.count("\n", 0, off) + 1


def position_of(text: str, pointer: str) -> tuple[int, int] | None:
    """(line, column), both 1-based, where the value at ``pointer`` starts in JSON ``text``."""
    off = locate_pointer(text, pointer)
    if off is None:
        return None
    return text.count("\n", 0, off) + 1, off - (text.rfind("\n", 0, off) + 1) + 1


def yaml_line_of(root: Any, pointer: str) -> int | None:
    pos = yaml_position_of(root, pointer)
    return pos[0] if pos else None


def yaml_position_of(root: Any, pointer: str) -> tuple[int, int] | None:
    """(line, column), 1-based, of the node at ``pointer`` in a composed YAML node tree (None if not found)."""
    import yaml

    node = root
    segments = oaswalk.split(pointer)
    for seg in segments:
        if isinstance(node, yaml.MappingNode):
            nxt = None
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == seg:
                    nxt = v
                    break
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and seg.isdigit() and int(seg) < len(node.value):
            node = node.value[int(seg)]
        else:
            return None
        if node is None:
            return None
    return node.start_mark.line + 1, node.start_mark.column + 1


class _YamlLines:
    """Composes a YAML document once, on the first error that needs a line number."""

    def __init__(self, text: str):
        self.text = text
        self.root: Any = None
        self.done = False

    def line(self, pointer: str) -> int | None:
        pos = self.position(pointer)
        return pos[0] if pos else None

    def position(self, pointer: str) -> tuple[int, int] | None:
        if not self.done:
            import yaml

            from standards.loading import _SafeLimitedLoader

            self.done = True
            loader = _SafeLimitedLoader(self.text)
            try:
                self.root = loader.get_single_node()
            except (yaml.YAMLError, RecursionError, InputError):
                self.root = None
            finally:
                loader.dispose()
        return yaml_position_of(self.root, pointer) if self.root is not None else None


def source_positions(text: str) -> Any:
    """A ``pointer -> (line, column)`` function for a JSON or YAML source text."""
    if text.lstrip()[:1] in ("{", "["):
        return lambda pointer: position_of(text, pointer)
    return _YamlLines(text).position


def add_positions(report: Report, text: str, *, key: str = "pointer", file: str | None = None) -> None:
    """Fill ``line`` / ``column`` of the report's kept findings from their JSON pointer (``key``) into
    ``text`` (for SARIF regions and editor annotations)."""
    pos = source_positions(text)
    for f in report.findings():
        p = f.get(key)
        if f.get("line") or not isinstance(p, str):
            continue
        at = pos(p)
        if at:
            f["line"], f["column"] = at
            if file and not f.get("file"):
                f["file"] = file


def validate_instance(compiled: CompiledSchema, instance: Any, report: Report, *, file: str | None = None,
                      line: int | None = None, text: str | None = None, record: int | None = None,
                      yaml_lines: _YamlLines | None = None, case: str | None = None) -> int:
    """Add the errors of one instance to ``report`` (and, with ``case``, one record entry); returns how many."""
    n = 0
    mine: list[dict[str, Any]] = []
    try:
        for err in compiled.validator.iter_errors(instance):
            f = error_dict(err)
            if file:
                f["file"] = file
            if record is not None:
                f["record"] = record
            if line is not None:
                f["line"] = line
            elif len(report.examples.get(f["rule"], ())) < report.max_examples:
                pos = (position_of(text, f["pointer"]) if text is not None else
                       yaml_lines.position(f["pointer"]) if yaml_lines is not None else None)
                if pos:
                    f["line"], f["column"] = pos
            report.add(f)
            if len(mine) < 20:
                mine.append(f)
            n += 1
    except (_RefResolutionError, Unresolvable) as exc:
        raise UnresolvableReference(_unresolvable_message(exc)) from None
    if case is not None:
        report.case(case, mine, file=file, line=line)
    return n


def validate_document(compiled: CompiledSchema, data: bytes | str, *, filename: str = "input",
                      fmt: str | None = None, max_examples: int = DEFAULT_EXAMPLES,
                      max_bytes: int | None = None) -> Report:
    report = Report("validate", subject=filename, max_examples=max_examples)
    instance = parse_document(data, fmt=fmt, filename=filename, max_bytes=max_bytes)
    text = decode_utf8(data) if isinstance(data, bytes) else data
    is_json = (fmt == "json") or filename.lower().endswith(".json") or text.lstrip()[:1] in ("{", "[")
    report.checked = 1
    validate_instance(compiled, instance, report, file=filename, text=text if is_json else None,
                      yaml_lines=None if is_json else _YamlLines(text), case=filename)
    return report


def iter_lines(stream: IO[bytes] | Iterable[bytes], max_line_bytes: int) -> Iterator[tuple[int, bytes]]:
    lineno = 0
    for raw in stream:
        lineno += 1
        if len(raw) > max_line_bytes:
            raise InputError(f"line {lineno} is longer than {max_line_bytes} bytes")
        yield lineno, raw


def validate_ndjson(compiled: CompiledSchema, stream: IO[bytes] | Iterable[bytes], *, filename: str = "input",
                    max_examples: int = DEFAULT_EXAMPLES, max_line_bytes: int | None = None,
                    max_depth: int | None = None, report: Report | None = None) -> Report:
    """Validate one JSON value per line, streaming: memory does not grow with the file."""
    report = report or Report("validate", subject=filename, max_examples=max_examples)
    limit = max_line_bytes or DEFAULT_MAX_BYTES
    iter_errors = compiled.validator.iter_errors
    loads = orjson.loads
    checked = 0
    try:
        for lineno, raw in iter_lines(stream, limit):
            if not raw.strip():
                continue
            checked += 1
            name = f"record {checked} (line {lineno})"
            try:
                doc = loads(raw)
            except orjson.JSONDecodeError as exc:
                f = _parse_finding(raw, exc, filename, lineno)
                report.add(f)
                report.case(name, [f], file=filename, line=lineno)
                continue
            if type(doc) in (dict, list) and max_depth is not None:
                check_depth(doc, max_depth)
            errs = iter_errors(doc)
            first = next(errs, None)
            if first is None:
                report.case(name, [], file=filename, line=lineno)
                continue
            mine = []
            line_text = None
            for err in (first, *errs):
                f = error_dict(err)
                f["file"] = filename
                f["line"] = lineno
                f["record"] = checked
                if len(report.examples.get(f["rule"], ())) < report.max_examples:
                    if line_text is None:
                        line_text = raw.decode("utf-8", "replace")
                    pos = position_of(line_text, f["pointer"])
                    f["column"] = pos[1] if pos else 1
                report.add(f)
                if len(mine) < 20:
                    mine.append(f)
            report.case(name, mine, file=filename, line=lineno)
    except (_RefResolutionError, Unresolvable) as exc:
        raise UnresolvableReference(_unresolvable_message(exc)) from None
    report.checked += checked
    return report


def _parse_finding(raw: bytes, exc: Exception, filename: str, lineno: int) -> dict[str, Any]:
    try:
        raw.decode("utf-8")
        msg = f"not valid JSON: {exc}"
        rule = "json-syntax"
    except UnicodeDecodeError as uexc:
        msg = f"not valid UTF-8 (byte offset {uexc.start} in the line)"
        rule = "utf8"
    return {"file": filename, "line": lineno, "pointer": "", "message": msg, "rule": rule, "level": "error"}


# ------------------------------------------------------------------------------------------------ CSV

def _column_types(schema: Any) -> dict[str, list[str]]:
    props = {}
    if isinstance(schema, dict):
        if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
            schema = schema["items"]
        for name, sub in (schema.get("properties") or {}).items():
            t = sub.get("type") if isinstance(sub, dict) else None
            if isinstance(t, str):
                props[name] = [t]
            elif isinstance(t, list):
                props[name] = [str(x) for x in t]
            else:
                props[name] = ["string"]
    return props


def _convert(cell: str, types: list[str]) -> tuple[bool, Any]:
    """(present, value). An empty cell is an absent property unless the column allows null."""
    if cell == "":
        if "null" in types:
            return True, None
        if types == ["string"]:
            return False, None
        return False, None
    for t in types:
        try:
            if t == "integer":
                return True, int(cell)
            if t == "number":
                v = float(cell)
                return True, int(v) if v.is_integer() and re.fullmatch(r"-?\d+", cell) else v
            if t == "boolean":
                low = cell.strip().lower()
                if low in ("true", "1", "yes"):
                    return True, True
                if low in ("false", "0", "no"):
                    return True, False
                continue
            if t in ("object", "array"):
                v = orjson.loads(cell)
                if (t == "object") == isinstance(v, dict):
                    return True, v
                continue
            if t == "null":
                continue
            if t == "string":
                return True, cell
        except (ValueError, orjson.JSONDecodeError):
            continue
    return True, cell  # leave it as text: the schema reports the type mismatch


def _csv_column(row: list[str], header: list[str], pointer: str, delimiter: str) -> int:
    """1-based character column of the cell a pointer names (``/name``); 1 for the whole row. Quoting is not
    reconstructed, so the column is exact for unquoted cells."""
    segs = oaswalk.split(pointer)
    if not segs or segs[0] not in header:
        return 1
    i = header.index(segs[0])
    return sum(len(c) + len(delimiter) for c in row[:i]) + 1


def validate_csv(compiled: CompiledSchema, stream: IO[str] | Iterable[str], *, filename: str = "input",
                 delimiter: str = ",", max_examples: int = DEFAULT_EXAMPLES) -> Report:
    """Each row becomes an object (cells typed by the schema's ``properties``) validated on its own."""
    report = Report("validate", subject=filename, max_examples=max_examples)
    types = _column_types(compiled.schema)
    reader = csv.reader(stream, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return report
    except csv.Error as exc:
        raise InputError(f"{filename}: not valid CSV: {exc}") from None
    header = [h.lstrip("\ufeff").strip() for h in header]
    iter_errors = compiled.validator.iter_errors
    record = 0
    try:
        for row in reader:
            record += 1
            line = reader.line_num
            case_name = f"row {record} (line {line})"
            if len(row) != len(header):
                f = {"file": filename, "line": line, "column": 1, "pointer": "", "rule": "csv-columns",
                     "message": f"row has {len(row)} cells, header has {len(header)}"}
                report.add(f)
                report.case(case_name, [f], file=filename, line=line)
                continue
            obj = {}
            for name, cell in zip(header, row, strict=True):
                present, value = _convert(cell, types.get(name, ["string"]))
                if present:
                    obj[name] = value
            mine = []
            for err in iter_errors(obj):
                f = error_dict(err)
                f.update(file=filename, line=line, record=record, column=_csv_column(row, header, f["pointer"],
                                                                                      delimiter))
                report.add(f)
                if len(mine) < 20:
                    mine.append(f)
            report.case(case_name, mine, file=filename, line=line)
    except csv.Error as exc:
        raise InputError(f"{filename}: not valid CSV at line {reader.line_num}: {exc}") from None
    except (_RefResolutionError, Unresolvable) as exc:
        raise UnresolvableReference(_unresolvable_message(exc)) from None
    report.checked = record
    return report


def open_text(data: bytes) -> io.StringIO:
    return io.StringIO(decode_utf8(data), newline="")
