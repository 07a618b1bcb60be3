"""Bad input never hangs, crashes or reaches the network: each gets a clear InputError (exit 2 / 4xx)."""

from __future__ import annotations

import io
import json
import socket
import time

import pytest

from standards import loading
from standards.documents import line_of, validate_csv, validate_document, validate_ndjson
from standards.jsonschema_engine import InvalidSchema, UnresolvableReference, build_registry, compile_schema
from standards.loading import InputError, InputTooLarge
from standards.openapi_engine import spec_problems


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


BOMB = "a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(8))


def test_yaml_alias_bomb_is_refused_fast():
    t = time.perf_counter()
    with pytest.raises(InputError, match="billion laughs"):
        loading.parse_yaml(BOMB)
    assert time.perf_counter() - t < 2


def test_small_aliases_are_fine():
    assert loading.parse_yaml("a: &x {k: 1}\nb: *x\n") == {"a": {"k": 1}, "b": {"k": 1}}


@pytest.mark.parametrize("text", ["[" * 10000 + "]" * 10000, '{"a":' * 10000 + "1" + "}" * 10000])
def test_deep_json(text):
    with pytest.raises(InputError, match="deep"):
        loading.parse_json(text)


@pytest.mark.parametrize("text", ["[" * 10000 + "]" * 10000, "a:\n" + "".join(" " * i + "- \n" for i in range(1, 3000))])
def test_deep_yaml(text):
    with pytest.raises(InputError, match="deep"):
        loading.parse_yaml(text)


def test_invalid_utf8_names_the_offset():
    with pytest.raises(InputError, match="offset 7"):
        loading.parse_json(b'{"a": "\xff"}')


def test_size_limit(tmp_path):
    p = tmp_path / "big.json"
    p.write_bytes(b"[" + b"1," * 600 + b"1]")
    with pytest.raises(InputTooLarge):
        loading.read_path(p, max_bytes=1000)
    with pytest.raises(InputTooLarge):
        loading.parse_json(p.read_bytes(), max_bytes=1000)


def test_rdfxml_external_entity_and_dtd_refused():
    xxe = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>')
    with pytest.raises(InputError, match="external entity"):
        loading.parse_rdf(xxe, fmt="xml")
    ext_dtd = b'<?xml version="1.0"?><!DOCTYPE r SYSTEM "http://evil.example/x.dtd"><r/>'
    with pytest.raises(InputError, match="external DTD"):
        loading.parse_rdf(ext_dtd, fmt="xml")
    lol = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;">]>'
           b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>')
    with pytest.raises(InputError, match="refers to other entities"):
        loading.parse_rdf(lol, fmt="xml")
    ok = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY ex "https://city.example/ns#">]>'
          b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
          b'<rdf:Description rdf:about="&ex;a"><rdf:type rdf:resource="&ex;B"/></rdf:Description></rdf:RDF>')
    assert len(loading.parse_rdf(ok, fmt="xml")) == 1


def test_jsonld_remote_context_refused():
    with pytest.raises(InputError, match="remote context"):
        loading.parse_rdf('{"@context": "https://schema.org/", "name": "x"}', fmt="json-ld")


def test_remote_ref_is_a_clear_error_without_network():
    compiled = compile_schema({"$ref": "https://evil.example/s.json"}, registry=build_registry())
    with pytest.raises(UnresolvableReference, match="no network access"):
        compiled.is_valid({})
    with pytest.raises(UnresolvableReference):
        validate_ndjson(compiled, io.BytesIO(b"{}\n"))


def test_openapi_remote_ref_refused_before_validation():
    spec = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
            "paths": {"/a": {"get": {"responses": {"200": {"$ref": "http://evil.example/r.yaml"}}}}}}
    problems = spec_problems(spec)
    assert problems and problems[0]["rule"] == "remote-ref"


def test_invalid_schema_lists_every_problem():
    with pytest.raises(InvalidSchema) as exc:
        compile_schema({"type": "strin", "minLength": -1, "pattern": "\\p{L}"})
    assert len(exc.value.errors) == 3


def test_json_document_errors_have_line_numbers():
    compiled = compile_schema({"type": "object", "properties": {"a": {"type": "array", "items": {"type": "integer"}}}})
    text = '{\n  "b": 1,\n  "a": [\n    1,\n    "x"\n  ]\n}'
    rep = validate_document(compiled, text.encode(), filename="d.json")
    (f,) = rep.findings()
    assert f["pointer"] == "/a/1" and f["line"] == 5 and f["rule"] == "type"
    assert line_of('{"x": {"y/z": [0, {"k": 1}]}}', "/x/y~1z/1/k") == 1


def test_yaml_document_errors_have_line_numbers():
    compiled = compile_schema({"type": "object", "properties": {"a": {"type": "array", "items": {"type": "integer"}}}})
    rep = validate_document(compiled, b"b: 1\na:\n  - 1\n  - x\n", filename="d.yaml")
    (f,) = rep.findings()
    assert f["pointer"] == "/a/1" and f["line"] == 4


def test_ndjson_reports_per_record_and_caps_examples():
    compiled = compile_schema({"type": "object", "required": ["id"]})
    data = b"".join(b"{}\n" for _ in range(100)) + b'{"id": 1}\n' + b"\xff\n"
    rep = validate_ndjson(compiled, io.BytesIO(data), max_examples=5)
    assert rep.counts["required"] == 100 and len(rep.examples["required"]) == 5
    assert rep.examples["utf8"][0]["line"] == 102
    assert rep.checked == 102 and rep.to_dict()["truncated"] == {"required": 95}


def test_csv_cells_are_typed_by_the_schema():
    compiled = compile_schema({"type": "object", "required": ["id"], "properties": {
        "id": {"type": "integer"}, "ok": {"type": "boolean"}, "score": {"type": ["number", "null"]}}})
    rep = validate_csv(compiled, io.StringIO("id,ok,score\n1,true,2.5\nx,false,\n3,maybe,1\n,true,1\n"))
    got = sorted((f["line"], f["pointer"], f["rule"]) for f in rep.findings())
    assert got == [(3, "/id", "type"), (4, "/ok", "type"), (5, "", "required")]
