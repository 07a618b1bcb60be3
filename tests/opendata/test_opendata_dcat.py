"""DCAT-AP 3.0.1 export validated with pyshacl against the official shapes (+ recommended), and
harvest of DCAT-AP files (the official examples; a malformed one) into drafts (issue 13)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph

from kernel.errors import ValidationFailed
from opendata.catalog import dataset_create, dataset_get, dataset_grade, distribution_add
from opendata.dcat import FORMATS, catalog_graph, dataset_graph, harvest, serialize
from opendata.release import dataset_approve, dataset_check, dataset_publish
from tests.opendata.test_opendata_release import META, _clean_rows, _csv, steward

pyshacl = pytest.importorskip("pyshacl")


@pytest.fixture(scope="module")
def shapes(od_data):
    d = Path(od_data) / "dcat" / "dcat-ap" / "3.0.1" / "html-shacl"
    g = Graph()
    g.parse(d / "shapes.ttl")
    g.parse(d / "shapes_recommended.ttl")
    return g


def _published(db_session, tmp_path):
    alice, bob = steward("alice"), steward("bob")
    store = tmp_path / "store"
    dataset_create(db_session, alice, dict(META, temporal_start="2025-01-01", temporal_end="2025-12-31",
                                           spatial="http://sws.geonames.org/1795565/",
                                           conforms_to="https://citygov.example/standards/bus-stop/1.0"))
    dataset_grade(db_session, alice, "bus-stops", "conditional", "district-level aggregates")
    distribution_add(db_session, alice, "bus-stops", source=_csv(tmp_path / "a.csv", _clean_rows()), filename="stops.csv",
                     fmt="CSV", storage=store)
    dataset_check(db_session, alice, "bus-stops", storage=store)
    dataset_approve(db_session, bob, "bus-stops")
    return dataset_publish(db_session, bob, "bus-stops", storage=store)


def _violations(data_graph: Graph, shapes: Graph, allow_warnings: bool = False) -> tuple[bool, str]:
    """Conforms? Without ``allow_warnings`` the recommended shapes' warnings count too."""
    conforms, _g, text = pyshacl.validate(data_graph, shacl_graph=shapes, inference="none", allow_warnings=allow_warnings)
    return conforms, text


def test_export_conforms_to_dcat_ap_3(db_session, tmp_path, shapes):
    ds = _published(db_session, tmp_path)
    base = "http://127.0.0.1:5000"
    for fmt in FORMATS:  # every serialisation round-trips and conforms
        for g in (catalog_graph(db_session, [ds], base), dataset_graph(db_session, ds, base)):
            back = Graph().parse(data=serialize(g, fmt), format=FORMATS[fmt][0])
            assert len(back) == len(g)
            conforms, text = _violations(back, shapes)
            assert conforms, text


def test_shapes_catch_a_broken_export(db_session, tmp_path, shapes):
    from rdflib.namespace import DCAT, DCTERMS

    ds = _published(db_session, tmp_path)
    g = catalog_graph(db_session, [ds], "http://x")
    for dist in list(g.subjects(predicate=DCAT.accessURL)):
        g.remove((dist, DCAT.accessURL, None))  # a distribution without its mandatory access URL
    g.remove((None, DCTERMS.publisher, None))
    conforms, text = _violations(g, shapes)
    assert not conforms and "accessURL" in text


def test_harvest_official_examples(db_session, od_data):
    alice = steward("alice")
    ex = Path(od_data) / "dcat" / "dcat-ap" / "3.0.1" / "examples" / "example-bee-population.ttl"
    got = harvest(db_session, alice, ex.read_bytes(), contact_email="opendata@sz.gov.cn")
    assert [d.title_en for d in got] == ["Bee population"] and got[0].state == "draft"
    assert dataset_get(db_session, alice, got[0].name).description_en.startswith("A dataset about bee population")
    with pytest.raises(ValidationFailed) as ei:  # a second harvest creates nothing
        harvest(db_session, alice, ex.read_bytes(), contact_email="opendata@sz.gov.cn")
    assert "exists" in ei.value.errors[0]["message"]


def test_harvest_bad_input(db_session, od_data):
    alice = steward("alice")
    bad = Path(od_data) / "ckan" / "ckanext-dcat" / "examples-dcat" / "dataset.ttl"  # undeclared prefix
    with pytest.raises(ValidationFailed, match="not a valid ttl"):
        harvest(db_session, alice, bad.read_bytes(), contact_email="a@b.cn")
    ttl = b"""@prefix dcat: <http://www.w3.org/ns/dcat#> . @prefix dct: <http://purl.org/dc/terms/> .
    <http://x/d1> a dcat:Dataset ; dct:title "ok"@en ; dcat:theme <http://publications.europa.eu/resource/authority/data-theme/TRAN> .
    <http://x/d2> a dcat:Dataset ; dct:title "bad"@en ; dcat:theme <http://example.org/theme/NOPE> ."""
    with pytest.raises(ValidationFailed) as ei:
        harvest(db_session, alice, ttl, contact_email="a@b.cn")
    assert "unknown theme" in ei.value.errors[0]["message"]
    from sqlmodel import select

    from opendata.models import Dataset
    assert db_session.exec(select(Dataset)).all() == []  # nothing half-imported


def test_http_endpoints(client, db_session, tmp_path, app, shapes):
    from portal.web.opendata import storage_dir

    with app.app_context():
        store = storage_dir()
    alice, bob = steward("alice"), steward("bob")
    dataset_create(db_session, alice, META)
    dataset_grade(db_session, alice, "bus-stops", "conditional", "district-level aggregates")
    d = distribution_add(db_session, alice, "bus-stops", source=_csv(tmp_path / "a.csv", _clean_rows()),
                         filename="stops.csv", fmt="CSV", storage=store)
    r = client.get("/dataset/bus-stops.ttl")
    assert r.status_code == 404  # a draft is not public
    dataset_check(db_session, alice, "bus-stops", storage=store)
    dataset_approve(db_session, bob, "bus-stops")
    dataset_publish(db_session, bob, "bus-stops", storage=store)
    for fmt, (rdf_fmt, mt) in FORMATS.items():
        for url in (f"/catalog.{fmt}", f"/dataset/bus-stops.{fmt}"):
            r = client.get(url)
            assert r.status_code == 200 and r.mimetype == mt
            g = Graph().parse(data=r.data, format=rdf_fmt)
            ok, text = _violations(g, shapes, allow_warnings=True)  # no temporal coverage given: a warning
            assert ok, (url, text)
    assert client.get("/catalog.xyz").status_code == 404
    assert client.get("/catalog.ttl?page=0").status_code == 422
    r = client.get(f"/opendata/download/{d.id}/stops.csv")  # conditionally open: needs an access key
    assert r.status_code == 403 and r.mimetype == "application/problem+json"


def test_streamed_turtle_is_the_graph(db_session, tmp_path, shapes):
    """The streaming Turtle writer (used by /catalog.ttl and ``citygov opendata dcat``) parses back to
    exactly the triples rdflib's graph holds, hostile literals and file names included, and conforms."""
    import io

    from opendata.dcat import write_catalog_turtle, write_dataset_turtle

    ds = _published(db_session, tmp_path)
    alice, bob = steward("alice"), steward("bob")
    store = tmp_path / "store"
    dataset_create(db_session, alice, dict(META, name="odd-text", title_en='Quotes " and \\ back\nslash\ttab',
                                           description_en="Control \x01 char, emoji 🚌, <angle> & {brace}",
                                           keywords=["公交", 'a "quoted" tag'], temporal_start="2025-01-01",
                                           temporal_end="2025-12-31", spatial="http://sws.geonames.org/1795565/"))
    dataset_grade(db_session, alice, "odd-text", "conditional", "district-level aggregates")
    distribution_add(db_session, alice, "odd-text", source=_csv(tmp_path / "b.csv", _clean_rows()),
                     filename='odd name <1> "x".csv', fmt="CSV", storage=store)
    dataset_check(db_session, alice, "odd-text", storage=store)
    dataset_approve(db_session, bob, "odd-text")
    odd = dataset_publish(db_session, bob, "odd-text", storage=store)
    base = "http://127.0.0.1:5000"
    buf = io.StringIO()
    assert write_catalog_turtle(db_session, [ds, odd], base, buf, chunk=1) == 2
    streamed = Graph().parse(data=buf.getvalue(), format="turtle")
    assert set(streamed) == set(catalog_graph(db_session, [ds, odd], base)) and len(streamed) > 100
    conforms, text = _violations(streamed, shapes)
    assert conforms, text
    one = io.StringIO()
    write_dataset_turtle(db_session, odd, base, one)
    assert set(Graph().parse(data=one.getvalue(), format="turtle")) == set(dataset_graph(db_session, odd, base))
