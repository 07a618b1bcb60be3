"""Generators of the hostile inputs too large (or too binary) to commit.

Each generator writes one file at ``path`` (streaming: nothing large is ever held in memory) and is named
by the manifest's ``input.generate``; ``args`` are passed as keyword arguments, ``trap`` is the port of the
loopback trap server that stands for every remote host. Deterministic: the same arguments give the same bytes.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import random
import zipfile
from pathlib import Path

MB = 1024 * 1024

# a valid project-library row (the proposal schema's columns): hostile files are built around it
LIB_HEADER = ["title", "summary", "organisation", "district", "area", "construction_mode", "budget", "start_year",
              "end_year", "deployment", "data_resources", "data_aggregation", "capability_tags", "mlps_level",
              "interfaces_provided", "interfaces_consumed"]
LIB_ROW = ["智慧停车诱导系统", "在全市商圈部署停车诱导屏，汇聚停车场泊位数据，提供实时泊位查询。", "BAD-ORG", "福田区",
           "city_operations", "single_department_module", "3,000,000", "2026", "2027", "government_cloud",
           "泊位信息;停车场目录", "泊位信息；停车场目录", "智慧停车|GIS", "2", "", ""]

EVE_ALERT = {"timestamp": "2026-11-30T08:00:00.000000+0800", "flow_id": 1, "event_type": "alert",
             "src_ip": "10.1.2.3", "src_port": 40000, "dest_ip": "10.9.9.9", "dest_port": 80, "proto": "TCP",
             "alert": {"action": "allowed", "gid": 1, "signature_id": 2000001, "rev": 1,
                       "signature": "ET TEST hostile corpus", "category": "Misc activity", "severity": 3}}


def _csv_text(rows: list[list[str]]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


# --------------------------------------------------------------------------- generic


def nested(path: Path, depth: int, kind: str = "json", **_):
    """``[[[…]]]`` ``depth`` levels deep (valid JSON and YAML flow syntax), or YAML block lists."""
    with path.open("w", encoding="utf-8") as fh:
        if kind == "yaml-block":
            fh.write("a:\n")
            for i in range(1, depth + 1):
                fh.write(" " * i + "-\n")
            return
        fh.write("[" * depth + "]" * depth)


def big_json_schema(path: Path, mb: int, **_):
    """A JSON Schema document of ``mb`` MiB (a huge ``enum``): well-formed, just too large."""
    with path.open("w", encoding="utf-8") as fh:
        fh.write('{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "string", "enum": [')
        chunk = ",".join(f'"value-{i:08d}"' for i in range(10000))
        written = 0
        first = True
        while written < mb * MB:
            fh.write(("" if first else ",") + chunk)
            first = False
            written += len(chunk) + 1
        fh.write("]}")


def raw_bytes(path: Path, hex: str = "", text: str = "", **_):
    path.write_bytes((text.encode("utf-8") if text else b"") + bytes.fromhex(hex))


def garbage(path: Path, size: int, seed: int = 15, **_):
    rng = random.Random(seed)
    with path.open("wb") as fh:
        left = size
        while left:
            n = min(left, MB)
            fh.write(rng.randbytes(n))
            left -= n


def template(path: Path, seed: str, trap: int, **_):
    """A committed seed file with ``{trap}`` replaced by the trap server's port."""
    from tests.reliability.badinput_support import CORPUS

    text = (CORPUS / seed).read_text(encoding="utf-8")
    path.write_text(text.replace("{trap}", str(trap)), encoding="utf-8")


# --------------------------------------------------------------------------- project library


def library_csv(path: Path, encoding: str = "utf-8", rows: int = 1, title: str = "", **_):
    body = [LIB_HEADER] + [[(title or LIB_ROW[0]) + (f" {i}" if rows > 1 else "")] + LIB_ROW[1:] for i in range(rows)]
    path.write_bytes(_csv_text(body).encode(encoding))


def library_json(path: Path, title: str = "", **_):
    doc = dict(zip(LIB_HEADER, LIB_ROW))
    doc.update(title=title or LIB_ROW[0], budget=3000000, start_year=2026, end_year=2027, mlps_level=2,
               data_resources=["泊位信息"], data_aggregation=["泊位信息"], capability_tags=["GIS"],
               interfaces_provided=[], interfaces_consumed=[])
    path.write_text(json.dumps([doc], ensure_ascii=False), encoding="utf-8")


def formula_csv(path: Path, **_):
    titles = ["=cmd|' /C calc'!A0", "+SUM(1+1)*cmd|' /C notepad'!A1", "-2+3+cmd|' /C calc'!A0",
              "@SUM(1+1)*cmd|' /C calc'!A0", "=HYPERLINK(\"http://127.0.0.1:1/x\",\"click\")"]
    body = [LIB_HEADER] + [[t, f"公式注入样本 {i}：" + LIB_ROW[1]] + LIB_ROW[2:] for i, t in enumerate(titles)]
    path.write_bytes(_csv_text(body).encode("utf-8"))


def formula_xlsx(path: Path, **_):
    """An XLSX whose title cells are real formulas (``data_type == 'f'``): never evaluated, never imported."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(LIB_HEADER)
    ws.append(["=cmd|' /C calc'!A0"] + LIB_ROW[1:])
    ws.append(['=WEBSERVICE("http://169.254.169.254/latest/meta-data/")'] + LIB_ROW[1:])
    wb.save(path)


def wide_csv(path: Path, columns: int, **_):
    """A header of ``columns`` columns (1,000,000 in the slow run) and one short row."""
    with path.open("w", encoding="utf-8") as fh:
        fh.write(",".join(LIB_HEADER))
        for i in range(columns - len(LIB_HEADER)):
            fh.write(f",c{i}")
        fh.write("\n" + _csv_text([LIB_ROW]))


def ragged_library(path: Path, **_):
    body = [LIB_HEADER, LIB_ROW, LIB_ROW[:5], LIB_ROW + ["extra", "cells", "beyond", "the", "header"], [], LIB_ROW[:1]]
    path.write_bytes(_csv_text(body).encode("utf-8"))


def xlsx_zip_bomb(path: Path, inflated_mb: int = 1024, **_):
    """A valid-looking XLSX whose sheet XML inflates to ``inflated_mb`` MiB (about 1000:1)."""
    from openpyxl import Workbook

    seed = io.BytesIO()
    wb = Workbook()
    wb.active.append(LIB_HEADER)
    wb.save(seed)
    seed.seek(0)
    with zipfile.ZipFile(seed) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            if item.filename == "xl/worksheets/sheet1.xml":
                continue
            dst.writestr(item, src.read(item.filename))
        with dst.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            fh.write(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="http://schemas.'
                     b'openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>')
            block = b" " * MB
            for _ in range(inflated_mb):
                fh.write(block)
            fh.write(b"</t></is></c></row></sheetData></worksheet>")


# --------------------------------------------------------------------------- secmon


def eve_lines(path: Path, kinds: list[str], gz: bool = False, truncate_at: float | None = None, **_):
    """EVE NDJSON built from named line kinds (valid, truncated, wrong types, NUL …)."""
    good = json.dumps(EVE_ALERT)
    lines = {
        "valid": good.encode(),
        "truncated": good[: len(good) // 2].encode(),
        "not_object": b"[1, 2, 3]",
        "wrong_types": json.dumps({**EVE_ALERT, "timestamp": 12, "src_port": "eighty", "alert": "x"}).encode(),
        "no_timestamp": json.dumps({k: v for k, v in EVE_ALERT.items() if k != "timestamp"}).encode(),
        "nul_inside": good.replace('"ET TEST', '"ET\u0000TEST').encode().replace(b"\\u0000", b"\x00"),
        "nul_only": b"\x00" * 64,
        "invalid_utf8": good.replace("hostile", "\udcff").encode("utf-8", "surrogateescape"),
        "deep": b'{"event_type":"alert","x":' + b"[" * 100000 + b"]" * 100000 + b"}",
        "huge_number": json.dumps({**EVE_ALERT, "flow_id": 10 ** 400}).encode(),
        "nan": good.replace('"severity": 3', '"severity": NaN').encode(),
    }
    data = b"\n".join(lines[k] for k in kinds) + b"\n"
    if gz:
        data = gzip.compress(data * 200, mtime=0)
        if truncate_at is not None:
            data = data[: int(len(data) * truncate_at)]
    path.write_bytes(data)


def eve_long_line(path: Path, mb: int, gz: bool = False, **_):
    """One valid event, one line of ``mb`` MiB (a JSON string that never ends in time), one valid event."""
    good = json.dumps(EVE_ALERT).encode() + b"\n"
    opener = gzip.open if gz else open
    with opener(path, "wb") as fh:
        fh.write(good)
        fh.write(b'{"event_type":"alert","payload":"')
        block = b"A" * MB
        for _ in range(mb):
            fh.write(block)
        fh.write(b'"}\n')
        fh.write(good.replace(b'"flow_id": 1', b'"flow_id": 2'))


def rules(path: Path, kinds: list[str], **_):
    lines = {
        "valid": 'alert http any any -> any any (msg:"ok rule"; content:"x"; sid:9000001; rev:1;)',
        "unbalanced_quote": 'alert http any any -> any any (msg:"never closed; content:"x; sid:9000002; rev:1;)',
        "unbalanced_paren": 'alert http any any -> any any (msg:"paren"; content:"x"; sid:9000003; rev:1;',
        "escaped_end": 'alert http any any -> any any (msg:"ends with \\"; sid:9000004; rev:1;)',
        "nul": 'alert http any any -> any any (msg:"n\x00ul"; sid:9000005; rev:1;)',
        "huge_sid": 'alert http any any -> any any (msg:"big"; sid:99999999999999999999999; rev:1;)',
        "pcre_bomb": 'alert http any any -> any any (msg:"re"; pcre:"/(a+)+$/"; sid:9000006; rev:1;)',
        "deep_parens": "alert http any any -> any any " + "(" * 5000 + ")" * 5000,
        "continuation": 'alert http any any -> any any (msg:"cont"; \\',
    }
    path.write_text("\n".join(lines[k] for k in kinds) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------- opendata


def table_csv(path: Path, kind: str, mb: int = 0, char: str = "福田", **_):
    header = ["站点编号", "站点名称", "区", "联系电话"]
    rows = [["S001", "福田口岸站", "福田区", "0755-12345678"], ["S002", "深大站", "南山区", "0755-87654321"]]
    if kind == "ragged":
        data = _csv_text([header, rows[0], rows[1][:2], rows[1] + ["多", "余", "列"], [], ["S004"]]).encode("utf-8")
    elif kind == "mixed_encodings":
        data = (_csv_text([header, rows[0]]).encode("utf-8") + _csv_text([rows[1]]).encode("gbk")
                + "S003,罗湖站,罗湖区,0755-1\n".encode("utf-16-le"))
    elif kind == "huge_cell":
        with path.open("w", encoding="utf-8") as fh:
            fh.write(",".join(header) + "\n")
            fh.write('S001,"')
            block = char * (MB // len(char.encode("utf-8")))  # 1 MiB of UTF-8
            for _ in range(mb * 2):
                fh.write(block)
            fh.write('",福田区,0755-12345678\n')
        return
    elif kind == "unclosed_quote":
        data = (",".join(header) + '\nS001,"福田口岸站,福田区,0755-12345678\n' + "S002,深大站,南山区,1\n" * 1000).encode()
    else:
        raise ValueError(kind)
    path.write_bytes(data)


# --------------------------------------------------------------------------- certification


def cert_spec(path: Path, server: str = "https://data.pengcheng.example/api", trap: int = 0, **_):
    from registry.certify import samples

    spec = samples.vendor_spec(server.replace("{trap}", str(trap)))
    path.write_text(json.dumps(spec), encoding="utf-8")


def har(path: Path, kind: str, entries: int = 0, trap: int = 0, **_):
    from registry.certify import samples

    doc = samples.good_har()
    es = doc["log"]["entries"]
    if kind == "many":
        one = "{}"  # the smallest entry: the entry limit, not the byte limit, is what this case reaches
        with path.open("w", encoding="utf-8") as fh:
            fh.write('{"log":{"version":"1.2","creator":{"name":"x","version":"1"},"entries":[')
            fh.write(",".join([one] * min(entries, 1000)))
            for i in range(1000, entries, 1000):
                fh.write("," + ",".join([one] * min(1000, entries - i)))
            fh.write("]}}")
        return
    if kind == "binary_bodies":
        for e in es:
            e["response"]["content"] = {"size": 8, "mimeType": "application/json", "text": "\u0000\u0001\ufffe\udc80x"}
        raw = json.dumps(doc).encode().replace(b'"application/json"', b'"application/json\xff\xfe"', 1)
        path.write_bytes(raw)
        return
    if kind == "bad_base64":
        for e in es:
            e["response"]["content"] = {"size": 8, "mimeType": "application/json", "encoding": "base64",
                                        "text": "!!!not*base64==="}
    elif kind == "hostile_hosts":
        hosts = ["http://169.254.169.254/latest/meta-data", f"http://127.0.0.1:{trap}/api",
                 "http://metadata.google.internal/computeMetadata/v1", "http://[fd00:ec2::254]/api",
                 "http://10.0.0.1/api", "file:///etc/passwd"]
        for i, e in enumerate(es):
            e["request"]["url"] = e["request"]["url"].replace("https://data.pengcheng.example/api", hosts[i % len(hosts)])
    elif kind == "not_har":
        doc = {"log": {"entries": "nope"}}
    else:
        raise ValueError(kind)
    path.write_text(json.dumps(doc), encoding="utf-8")
