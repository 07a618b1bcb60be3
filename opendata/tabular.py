"""Table readers: CSV (encoding + delimiter detection, streaming), XLSX, JSON, NDJSON.

Every reader yields rows as lists of strings (``None`` for a missing value) aligned with
``Table.columns``. CSV and NDJSON stream in constant memory; JSON documents are loaded whole; XLSX
uses openpyxl's read-only mode.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from kernel.errors import ValidationFailed

__all__ = [
    "DataError",
    "Table",
    "open_table",
    "detect_encoding",
    "detect_delimiter",
    "atomic_output",
    "MAX_COLUMNS",
]

MAX_COLUMNS = 16384  # Excel's limit; a header wider than this is rejected
SAMPLE_BYTES = 1 << 16
csv.field_size_limit(1 << 26)


class DataError(ValidationFailed):
    """The input file cannot be read as a table (encoding, ragged rows, empty, too wide, ...)."""

    def __init__(self, message: str, *, line: int | None = None, path: str | None = None):
        err: dict[str, Any] = {"message": message}
        if line is not None:
            err["line"] = line
        if path:
            err["path"] = path
        super().__init__(message if line is None else f"{message} (line {line})", errors=[err])
        self.line = line


def detect_encoding(sample: bytes) -> str:
    """'utf-8-sig', 'utf-8', 'gbk' or 'gb18030' (also UTF-16 with a BOM). GBK text is read with the
    GB18030 codec (a superset) so that rarer characters later in the file still decode."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for enc in ("utf-8", "gbk", "gb18030"):
        dec = codecs.getincrementaldecoder(enc)()
        try:
            dec.decode(sample, final=False)  # a character cut at the sample's end is fine
        except UnicodeDecodeError:
            continue
        return enc
    raise DataError("cannot detect the text encoding (tried UTF-8, GBK, GB18030); pass --encoding")


def _reading_codec(encoding: str) -> str:
    e = encoding.lower().replace("_", "-")
    return "gb18030" if e in ("gbk", "cp936", "gb2312") else encoding


def detect_delimiter(text_sample: str) -> str:
    lines = text_sample.splitlines()[:50]
    if len(lines) > 1 and not text_sample.endswith(("\n", "\r")):
        lines = lines[:-1]
    best, best_key = ",", (-1, -1)
    for d in (",", "\t", ";", "|"):
        try:
            rows = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=d))
        except csv.Error:
            continue
        if not rows:
            continue
        widths = [len(r) for r in rows if r]
        if not widths or widths[0] < 2:
            continue
        consistent = sum(1 for w in widths if w == widths[0])
        key = (consistent, widths[0])
        if key > best_key:
            best, best_key = d, key
    return best


@dataclass
class Table:
    path: str
    format: str
    columns: list[str]
    encoding: str | None = None
    delimiter: str | None = None
    ragged: str = "error"
    _opener: Any = field(default=None, repr=False)
    _batcher: Any = field(default=None, repr=False)

    def rows(self) -> Iterator[list[str | None]]:
        return self._opener()

    def row_batches(self, size: int) -> Iterator[list[list[str | None]]]:
        """The rows of :meth:`rows` in lists of up to ``size`` (CSV: split in bulk where the text
        allows it -- no quotes, no lone carriage returns -- with the same rows and errors)."""
        if self._batcher is not None:
            yield from self._batcher(size)
            return
        it = self.rows()
        while True:
            chunk = list(itertools.islice(it, size))
            if not chunk:
                return
            yield chunk

    def column_batches(self, size: int) -> Iterator[list[list[str | None]]]:
        """The rows of :meth:`row_batches` as lists of columns (each batch: one list of cells per
        column of the table as it is then; ragged rows padded with ''). CSV without quotes is split
        into columns in bulk (one split per chunk, no per-row lists)."""
        if self._batcher is not None and self.format == "csv":
            yield from self._batcher(size, True)
            return
        for chunk in self.row_batches(size):
            yield _transpose(chunk, len(self.columns))

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "format": self.format, "encoding": self.encoding, "delimiter": self.delimiter,
                "columns": self.columns}


def _transpose(rows: list[list[str | None]], width: int) -> list[list[str | None]]:
    if all(len(r) == width for r in rows):
        return [list(c) for c in zip(*rows)] if rows else [[] for _ in range(width)]
    return [[(r[j] if j < len(r) else None) or "" for r in rows] for j in range(width)]


def _columns_in_bulk(text: str, delim: str, width: int) -> list[list[str]] | None:
    """``text`` (lines without quotes or carriage returns) split into columns, if every line has
    exactly ``width`` fields and none is empty; otherwise None."""
    if width < 2 or delim in "\r\n" or not text or "\n\n" in text or text[0] == "\n" or text[-1] == "\n":
        return None
    nl = text.count("\n")
    parts = text.split(delim)
    w1 = width - 1
    if len(parts) != (nl + 1) * w1 + 1:
        return None
    # the newline of line k must be in part (k + 1) * (width - 1): with nl newlines in all, each of
    # those nl parts holding one means every line has width - 1 delimiters
    ends = parts[w1::w1]  # 'last field of line k' + '\n' + 'first field of line k + 1'; then the very last field
    if not all(map(str.__contains__, ends[:nl], itertools.repeat("\n"))):
        return None
    halves = "\n".join(ends).split("\n")  # last_0, first_1, last_1, ..., first_nl, last_nl
    first = halves[1::2]
    first.insert(0, parts[0])
    return [first] + [parts[j::w1] for j in range(1, w1)] + [halves[0::2]]


def _guess_format(path: Path) -> str:
    ext = path.suffix.lower()
    return {".xlsx": "xlsx", ".xlsm": "xlsx", ".json": "json", ".ndjson": "ndjson", ".jsonl": "ndjson",
            ".tsv": "csv", ".txt": "csv"}.get(ext, "csv")


def open_table(
    path: str | os.PathLike,
    *,
    format: str | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    ragged: str = "error",
    sheet: str | None = None,
) -> Table:
    """Open a table. ``ragged``: 'error' (default) rejects rows whose width differs from the header,
    'pad' pads/truncates them."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"no such file: {p}")
    fmt = (format or _guess_format(p)).lower()
    if fmt == "csv":
        return _open_csv(p, encoding, delimiter, ragged)
    if fmt == "xlsx":
        return _open_xlsx(p, sheet)
    if fmt == "json":
        return _open_json(p, encoding)
    if fmt == "ndjson":
        return _open_ndjson(p, encoding)
    raise DataError(f"unknown format {fmt!r} (csv, xlsx, json, ndjson)")


def _open_csv(p: Path, encoding: str | None, delimiter: str | None, ragged: str) -> Table:
    with open(p, "rb") as fh:
        sample = fh.read(SAMPLE_BYTES)
    if not sample.strip():
        raise DataError("empty file: no header row", path=str(p))
    enc = encoding or detect_encoding(sample)
    codec = _reading_codec(enc)
    try:
        text_sample = codecs.getincrementaldecoder(codec)(errors="strict").decode(sample, final=False)
    except (UnicodeDecodeError, LookupError) as exc:
        raise DataError(f"file is not valid {enc}: {exc}", path=str(p)) from None
    if text_sample.startswith("\ufeff"):
        text_sample = text_sample[1:]
    delim = delimiter or detect_delimiter(text_sample)
    if len(delim) != 1:
        raise DataError(f"delimiter must be one character, got {delim!r}")
    header = _read_header(p, codec, delim)
    table = Table(str(p), "csv", header, enc, delim, ragged)

    def rows() -> Iterator[list[str | None]]:
        width = len(header)
        with open(p, encoding=codec, newline="", errors="strict") as fh:
            if codec == "utf-8":
                first = fh.read(1)
                if first != "\ufeff":
                    fh.seek(0)
            reader = csv.reader(fh, delimiter=delim, strict=True)
            try:
                next(reader)
                for row in reader:
                    if len(row) != width:
                        if not row:
                            continue
                        if ragged == "pad":
                            row = (row + [None] * width)[:width]  # type: ignore[list-item]
                        else:
                            raise DataError(
                                f"ragged row: {len(row)} fields, header has {width}", line=reader.line_num, path=str(p)
                            )
                    yield row  # type: ignore[misc]
            except UnicodeDecodeError as exc:
                raise DataError(
                    f"byte sequence not valid in {enc} (mixed encodings?): {exc.reason}", line=reader.line_num + 1,
                    path=str(p),
                ) from None
            except csv.Error as exc:
                raise DataError(f"malformed CSV: {exc}", line=reader.line_num, path=str(p)) from None

    def batches(size: int, columns: bool = False) -> Iterator[list[list[str | None]]]:
        """Row batches (``columns``: column batches, see :meth:`Table.column_batches`)."""
        width = len(header)
        done = 0  # rows handed out so far
        fallback = False
        with open(p, encoding=codec, newline="", errors="strict") as fh:
            if codec == "utf-8":
                first = fh.read(1)
                if first != "\ufeff":
                    fh.seek(0)
            reader = csv.reader(fh, delimiter=delim, strict=True)
            try:
                next(reader)
            except (csv.Error, UnicodeDecodeError):
                fallback = True
            line = reader.line_num  # physical lines consumed
            carry = ""
            pending: list[list[str | None]] = []
            eof = False
            while not fallback and not eof:
                try:
                    chunk = fh.read(1 << 22)
                except UnicodeDecodeError:
                    fallback = True
                    break
                if chunk:
                    text = carry + chunk
                    cut = text.rfind("\n")
                    if cut < 0:
                        carry = text
                        continue
                    text, carry = text[:cut], text[cut + 1 :]
                else:
                    text, carry, eof = carry, "", True
                    if not text:
                        break
                if '"' in text or "\x00" in text:
                    fallback = True
                    break
                if "\r" in text:
                    if text.count("\r") != text.count("\r\n"):
                        fallback = True
                        break
                    text = text.replace("\r\n", "\n")
                if columns:
                    cols = _columns_in_bulk(text, delim, width)
                    if cols is not None:
                        nrows = len(cols[0])
                        line += nrows
                        step = -(-nrows // -(-nrows // size))  # even pieces of at most size rows
                        for i in range(0, nrows, step):
                            done += min(step, nrows - i)
                            yield [c[i : i + step] for c in cols] if nrows > step else cols  # type: ignore[misc]
                        continue
                lines = text.split("\n")
                rows_ = [ln.split(delim) for ln in lines if ln]
                if len(set(map(len, rows_))) > 1 or (rows_ and len(rows_[0]) != width):
                    if ragged == "pad":
                        rows_ = [r if len(r) == width else (r + [None] * width)[:width] for r in rows_]  # type: ignore[list-item]
                    else:
                        k = 0
                        for i, ln in enumerate(lines):
                            if ln and len(ln.split(delim)) != width:
                                raise DataError(f"ragged row: {len(ln.split(delim))} fields, header has {width}",
                                                line=line + i + 1, path=str(p))
                line += len(lines) if not eof else len(lines)
                if columns:
                    for i in range(0, len(rows_), size):
                        out = rows_[i : i + size]
                        done += len(out)
                        yield _transpose(out, width)  # type: ignore[arg-type]
                    continue
                pending.extend(rows_)  # type: ignore[arg-type]
                while len(pending) >= size:
                    out, pending = pending[:size], pending[size:]
                    done += len(out)
                    yield out
            if not fallback:
                if pending:
                    done += len(pending)
                    yield pending
                return
        # something the bulk split cannot reproduce: the csv module from the first row not handed out
        it = itertools.islice(rows(), done, None)
        while True:
            out = list(itertools.islice(it, size))
            if not out:
                return
            yield _transpose(out, width) if columns else out  # type: ignore[arg-type]

    table._opener = rows
    table._batcher = batches
    return table


def _read_header(p: Path, codec: str, delim: str) -> list[str]:
    with open(p, encoding=codec, newline="", errors="strict") as fh:
        reader = csv.reader(fh, delimiter=delim, strict=True)
        try:
            header = next(reader, None)
        except (csv.Error, UnicodeDecodeError) as exc:
            raise DataError(f"cannot read the header row: {exc}", line=1, path=str(p)) from None
    if not header or not any(h.strip() for h in header):
        raise DataError("empty file: no header row", path=str(p))
    header = [h.lstrip("\ufeff").strip() for h in header]
    if len(header) > MAX_COLUMNS:
        raise DataError(f"header has {len(header)} columns; at most {MAX_COLUMNS} are supported", line=1, path=str(p))
    seen: set[str] = set()
    for i, h in enumerate(header):
        if not h:
            header[i] = h = f"column_{i + 1}"
        if h in seen:
            raise DataError(f"duplicate column name {h!r}", line=1, path=str(p))
        seen.add(h)
    return header


def _open_xlsx(p: Path, sheet: str | None) -> Table:
    try:
        import openpyxl
    except ImportError as exc:  # pragma: no cover
        raise DataError("XLSX support needs openpyxl") from exc
    from kernel.archives import check_zip

    try:
        check_zip(p, what=p.name)  # zip bombs are refused before openpyxl inflates anything
    except ValidationFailed as exc:
        raise DataError(exc.detail, path=str(p)) from None
    try:
        wb = openpyxl.load_workbook(p, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds
        raise DataError(f"cannot open workbook: {exc}", path=str(p)) from None
    ws = wb[sheet] if sheet else wb.worksheets[0]
    it = ws.iter_rows(values_only=True)
    first = next(it, None)
    wb.close()
    if not first or not any(v is not None for v in first):
        raise DataError("empty sheet: no header row", path=str(p))
    header = [str(v).strip() if v is not None else f"column_{i + 1}" for i, v in enumerate(first)]
    while header and header[-1].startswith("column_") and first[len(header) - 1] is None:
        header.pop()
    if len(header) > MAX_COLUMNS:
        raise DataError(f"header has {len(header)} columns; at most {MAX_COLUMNS} are supported", line=1)
    width = len(header)

    def rows() -> Iterator[list[str | None]]:
        wb2 = openpyxl.load_workbook(p, read_only=True, data_only=True)
        try:
            ws2 = wb2[sheet] if sheet else wb2.worksheets[0]
            it2 = ws2.iter_rows(values_only=True)
            next(it2, None)
            for vals in it2:
                if vals is None or all(v is None for v in vals):
                    continue
                row = [_cell_str(v) for v in vals[:width]]
                row += [None] * (width - len(row))
                yield row
        finally:
            wb2.close()

    return Table(str(p), "xlsx", header, _opener=rows)


def _cell_str(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return str(v)


def _flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            key = f"{prefix}.{k}" if prefix else str(k)
            if isinstance(v, dict):
                out.update(_flatten(v, key))
            else:
                out[key] = v
    else:
        out[prefix or "value"] = obj
    return out


def _json_str(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    return json.dumps(v, ensure_ascii=False)


def _records_table(path: str, fmt: str, records_iter, sample: list[dict[str, Any]], enc: str) -> Table:
    cols: list[str] = []
    seen: set[str] = set()
    for rec in sample:
        for k in rec:
            if k not in seen:
                seen.add(k)
                cols.append(k)
    if len(cols) > MAX_COLUMNS:
        raise DataError(f"{len(cols)} distinct keys; at most {MAX_COLUMNS} are supported", path=path)
    table = Table(path, fmt, cols, enc)

    def rows() -> Iterator[list[str | None]]:
        for rec in records_iter():
            for k in rec:
                if k not in seen:
                    seen.add(k)
                    cols.append(k)
            yield [_json_str(rec.get(c)) for c in cols]

    table._opener = rows
    return table


def _open_json(p: Path, encoding: str | None) -> Table:
    raw = p.read_bytes()
    if not raw.strip():
        raise DataError("empty file", path=str(p))
    enc = encoding or detect_encoding(raw[:SAMPLE_BYTES])
    try:
        doc = json.loads(raw.decode(_reading_codec(enc)))
    except (UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"invalid JSON: {exc}", path=str(p)) from None
    if isinstance(doc, dict):
        for key in ("records", "data", "rows", "items", "result"):
            if isinstance(doc.get(key), list):
                doc = doc[key]
                break
        else:
            doc = [doc]
    if not isinstance(doc, list):
        raise DataError("JSON must be an array of objects (or an object with a 'records'/'data' array)", path=str(p))
    recs = [_flatten(r) for r in doc]
    return _records_table(str(p), "json", lambda: iter(recs), recs, enc)


def _open_ndjson(p: Path, encoding: str | None) -> Table:
    with open(p, "rb") as fh:
        sample = fh.read(SAMPLE_BYTES)
    if not sample.strip():
        raise DataError("empty file", path=str(p))
    enc = encoding or detect_encoding(sample)
    codec = _reading_codec(enc)

    def records() -> Iterator[dict[str, Any]]:
        with open(p, encoding=codec, errors="strict") as fh:
            n = 0
            try:
                for n, line in enumerate(fh, 1):
                    if not line.strip():
                        continue
                    try:
                        obj = json.loads(line)
                    except ValueError as exc:
                        raise DataError(f"invalid JSON line: {exc}", line=n, path=str(p)) from None
                    yield _flatten(obj)
            except UnicodeDecodeError as exc:
                raise DataError(f"byte sequence not valid in {enc}: {exc.reason}", line=n + 1, path=str(p)) from None

    sample_recs = []
    for i, r in enumerate(records()):
        sample_recs.append(r)
        if i >= 200:
            break
    return _records_table(str(p), "ndjson", records, sample_recs, enc)


@contextmanager
def atomic_output(path: str | os.PathLike, *, encoding: str = "utf-8", newline: str | None = ""):
    """Write to a temporary file beside ``path`` and rename it over ``path`` only on success."""
    from kernel.atomicfile import atomic_write

    with atomic_write(path, "w", encoding=encoding, newline=newline) as fh:
        yield fh
