"""Registry use cases: publish with validity and compatibility rules, lifecycle, audit, permissions."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from audit.models import AuditEvent
from kernel.errors import Conflict, NotAuthenticated, NotAuthorized, NotFound, ValidationFailed
from kernel.principal import ANONYMOUS, Principal, Role
from standards import services
from standards.models import StandardVersion

ADMIN = Principal(kind="user", id="u-admin", name="admin", roles=frozenset({Role.COMMISSION_ADMIN}))
REVIEWER = Principal(kind="user", id="u-rev", name="rev", roles=frozenset({Role.COMMISSION_REVIEWER}))
VENDOR = Principal(kind="user", id="u-vendor", name="vendor", roles=frozenset({Role.VENDOR}))

PERSON_V1 = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "https://city.example/person",
             "type": "object", "required": ["id"],
             "properties": {"id": {"type": "string"}, "name": {"type": "string", "maxLength": 50}}}


def _v(**changes):
    d = json.loads(json.dumps(PERSON_V1))
    d.update(changes)
    return json.dumps(d).encode()


def test_publish_audits_and_lists(db_session):
    v = services.publish(db_session, REVIEWER, "population.person", "1.0.0", _v(), kind="jsonschema",
                         filename="person.json")
    assert v.state == "published" and v.published_by == "user:u-rev" and len(v.sha256) == 64
    events = db_session.exec(select(AuditEvent).where(AuditEvent.object_id == v.id)).all()
    assert {e.action for e in events} >= {"standards:version:create", "standards:version:publish"}
    listed = services.standard_list(db_session, ANONYMOUS)
    assert listed[0]["name"] == "population.person" and listed[0]["latest"] == "1.0.0"


def test_validity_rule_refuses_with_all_problems(db_session):
    bad = json.dumps({"type": "object", "properties": {"a": {"type": "strin"}}, "minProperties": -1}).encode()
    with pytest.raises(ValidationFailed) as exc:
        services.publish(db_session, ADMIN, "bad.schema", "1.0.0", bad, kind="jsonschema", filename="s.json")
    assert len(exc.value.errors) >= 2
    assert db_session.exec(select(StandardVersion)).all() == []  # nothing stored


def test_remote_ref_is_refused_without_network(db_session, monkeypatch):
    import urllib.request

    def boom(*a, **k):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(urllib.request, "urlopen", boom)
    from standards.openapi_engine import RemoteReference

    doc = json.dumps({"$ref": "http://evil.example/schema.json"}).encode()
    with pytest.raises(RemoteReference) as exc:  # an input error (HTTP 400, CLI exit 2), not a rule verdict
        services.publish(db_session, ADMIN, "remote.ref", "1.0.0", doc, kind="jsonschema", filename="s.json")
    assert "never fetched" in exc.value.detail
    assert exc.value.errors[0]["message"] == "remote $ref 'http://evil.example/schema.json'"


def test_registry_refs_resolve_between_standards(db_session):
    services.publish(db_session, ADMIN, "population.person", "1.0.0", _v(), kind="jsonschema", filename="p.json")
    household = {"type": "object", "properties": {
        "head": {"$ref": "https://city.example/person"},
        "members": {"type": "array", "items": {"$ref": services.BASE_URL + "/population.person/1.0.0"}}}}
    services.publish(db_session, ADMIN, "population.household", "1.0.0", json.dumps(household).encode(),
                     kind="jsonschema", filename="h.json")
    report = services.validate_data(db_session, ANONYMOUS, "population.household@1.0.0",
                                    [("h.json", json.dumps({"head": {"name": "x"}, "members": [{"id": 1}]}).encode())])
    assert not report.ok
    pointers = {f["pointer"] for f in report.findings()}
    assert pointers == {"/head", "/members/0/id"}


def test_compatibility_rule(db_session):
    services.publish(db_session, ADMIN, "p", "1.0.0", _v(), kind="jsonschema", filename="p.json")
    services.publish(db_session, ADMIN, "p", "1.1.0", _v(properties={**PERSON_V1["properties"],
                                                                     "email": {"type": "string"}}), filename="p.json")
    with pytest.raises(Conflict) as exc:
        services.publish(db_session, ADMIN, "p", "2.0.0", _v(required=["id", "name"]), filename="p.json")
    assert exc.value.extra["rule"] == "compatibility"
    assert exc.value.errors[0]["rule"] == "REQUIRED_ATTRIBUTE_ADDED"
    with pytest.raises(Conflict):  # not greater than the latest
        services.publish(db_session, ADMIN, "p", "1.0.5", _v(), filename="p.json")


def test_lifecycle_and_permissions(db_session):
    services.publish(db_session, ADMIN, "p", "1.0.0", _v(), kind="jsonschema", filename="p.json")
    with pytest.raises(NotAuthorized):
        services.version_deprecate(db_session, VENDOR, "p", "1.0.0")
    with pytest.raises(NotAuthenticated):
        services.publish(db_session, ANONYMOUS, "q", "1.0.0", _v(), kind="jsonschema", filename="p.json")
    v = services.version_deprecate(db_session, REVIEWER, "p", "1.0.0")
    assert v.state == "deprecated"
    with pytest.raises(NotAuthorized):  # retiring needs the commission admin
        services.version_retire(db_session, REVIEWER, "p", "1.0.0")
    assert services.version_retire(db_session, ADMIN, "p", "1.0.0").state == "retired"
    with pytest.raises(Conflict):
        services.version_deprecate(db_session, ADMIN, "p", "1.0.0")
    with pytest.raises(NotFound):
        services.version_get(db_session, ANONYMOUS, "p@9.9.9")


def test_drafts_are_commission_only(db_session):
    services.standard_create(db_session, ADMIN, name="d", kind="jsonschema")
    services.version_create(db_session, ADMIN, "d", "0.1.0", _v(), filename="d.json")
    with pytest.raises(NotAuthorized):
        services.version_get(db_session, VENDOR, "d@0.1.0")
    assert services.version_get(db_session, REVIEWER, "d@0.1.0").state == "draft"


OPENAPI_V1 = """
openapi: 3.0.3
info: {title: Sensors, version: "1.0.0"}
paths:
  /sensors/{id}:
    get:
      operationId: getSensor
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: object, required: [id],
                properties: {id: {type: string}}}}}}
"""


def test_openapi_publish_and_breaking_change(db_session):
    services.publish(db_session, ADMIN, "sensors.api", "1.0.0", OPENAPI_V1.encode(), filename="s.yaml")
    v2 = OPENAPI_V1.replace('"1.0.0"', '"2.0.0"').replace("required: [id],", "")
    with pytest.raises(Conflict) as exc:
        services.publish(db_session, ADMIN, "sensors.api", "2.0.0", v2.encode(), filename="s.yaml")
    assert {e["rule"] for e in exc.value.errors} == {"response-property-became-optional"}
    invalid = OPENAPI_V1.replace("responses:", "responsez:")
    with pytest.raises(ValidationFailed):
        services.publish(db_session, ADMIN, "broken.api", "1.0.0", invalid.encode(), filename="b.yaml")


SHAPES = """
@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ex: <https://city.example/ns#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
ex:PersonShape a sh:NodeShape ; sh:targetClass ex:Person ;
  sh:property [ sh:path ex:name ; sh:minCount 1 ; sh:datatype xsd:string ] .
"""
ONTOLOGY = """
@prefix ex: <https://city.example/ns#> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
ex:Resident rdfs:subClassOf ex:Person .
"""


def test_shacl_standard_mixes_in_the_ontology(db_session):
    services.publish(db_session, ADMIN, "population.shapes", "1.0.0", SHAPES.encode(), filename="s.ttl",
                     ontology=ONTOLOGY.encode(), ontology_filename="o.ttl")
    data = b"@prefix ex: <https://city.example/ns#> . ex:alice a ex:Resident ."
    report = services.validate_data(db_session, ANONYMOUS, "population.shapes@1.0.0", [("d.ttl", data)])
    assert not report.ok
    f = report.findings()[0]
    assert f["rule"] == "MinCountConstraintComponent" and f["focus_node"].endswith("#alice")
    assert f["path"].endswith("#name")


def test_bundle_resources_resolve(db_session):
    address = {"$id": "https://city.example/common/address", "type": "object", "required": ["street"],
               "properties": {"street": {"type": "string"}}}
    person = {"type": "object", "properties": {"home": {"$ref": "https://city.example/common/address"}}}
    from standards.openapi_engine import RemoteReference

    with pytest.raises(RemoteReference):  # not in the registry, not in a bundle: an input error, never fetched
        services.publish(db_session, ADMIN, "with.bundle", "1.0.0", json.dumps(person).encode(), kind="jsonschema",
                         filename="p.json")
    services.publish(db_session, ADMIN, "with.bundle", "1.0.0", json.dumps(person).encode(), kind="jsonschema",
                     filename="p.json", bundle={"https://city.example/common/address": json.dumps(address).encode()})
    rep = services.validate_data(db_session, ANONYMOUS, "with.bundle@1.0.0", [("d.json", b'{"home": {}}')])
    assert [f["pointer"] for f in rep.findings()] == ["/home"]
