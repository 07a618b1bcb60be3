"""The W3C SHACL test suite (core + sparql manifests) through citygov's SHACL service, compared with
pyshacl alone on the same entries: citygov must pass at least as many (conforms flag; an expected
``sht:Failure`` passes when validation raises)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.shared import shared_data_path
from rdflib import RDF, Graph, Namespace, URIRef
from rdflib.collection import Collection

from standards.shacl_engine import SH, validate_graph

MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
SHT = Namespace("http://www.w3.org/ns/shacl-test#")




SUITE = shared_data_path() / "shacl-test-suite" / "tests"


def _entries():
    out = []
    todo = [SUITE / "manifest.ttl"]
    seen = set()
    while todo:
        path = todo.pop()
        if path in seen or not path.is_file():
            continue
        seen.add(path)
        g = Graph().parse(path, format="turtle", publicID=path.as_uri())
        for inc in g.objects(None, MF.include):
            todo.append(Path(str(inc).replace("file://", "")))
        for lst in g.objects(None, MF.entries):
            for entry in Collection(g, lst):
                action = g.value(entry, MF.action)
                result = g.value(entry, MF.result)
                data = g.value(action, SHT.dataGraph)
                shapes = g.value(action, SHT.shapesGraph)
                if result == SHT.Failure:
                    expected = "failure"
                else:
                    expected = str(g.value(result, SH.conforms)).lower() == "true"
                out.append((str(entry).split("/tests/")[-1], Path(str(data).replace("file://", "")),
                            Path(str(shapes).replace("file://", "")), expected))
    return sorted(out)


def _load(p: Path) -> Graph:
    return Graph().parse(p, format="turtle", publicID=p.as_uri())


def _run_citygov(data_p, shapes_p):
    from standards.loading import parse_rdf

    data = parse_rdf(data_p.read_bytes(), fmt="turtle", filename=data_p.name, base=data_p.as_uri())
    shapes = data if shapes_p == data_p else parse_rdf(shapes_p.read_bytes(), fmt="turtle", filename=shapes_p.name,
                                                      base=shapes_p.as_uri())
    try:
        return validate_graph(data, shapes).meta["conforms"]
    except Exception:  # noqa: BLE001 - an expected failure
        return "failure"


def _run_pyshacl(data_p, shapes_p):
    from pyshacl import validate

    data = _load(data_p)
    shapes = data if shapes_p == data_p else _load(shapes_p)
    try:
        return validate(data, shacl_graph=shapes, advanced=True)[0]
    except Exception:  # noqa: BLE001
        return "failure"


@pytest.mark.slow
def test_w3c_shacl_suite_at_least_pyshacl():
    if not SUITE.is_dir():
        pytest.skip(f"{SUITE} absent")
    entries = _entries()
    assert len(entries) >= 100
    ours = theirs = 0
    ours_failed = []
    for name, data_p, shapes_p, expected in entries:
        got = _run_citygov(data_p, shapes_p)
        base = _run_pyshacl(data_p, shapes_p)
        ours += got == expected
        theirs += base == expected
        if got != expected:
            ours_failed.append(name)
    print(f"\nSHACL suite: citygov {ours}/{len(entries)}, pyshacl alone {theirs}/{len(entries)}; "
          f"citygov misses: {ours_failed}")
    assert ours >= theirs
