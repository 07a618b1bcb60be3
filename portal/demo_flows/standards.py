"""Demo flow of the standards registry: the commission publishes a data element standard (YAML, as written) and
a downloaded copy verifies against its published digest; `format` is asserted on the city's data; a dry run
tells whether a tightened next version would be accepted; a renamed path parameter is not a breaking change
(oasdiff's rename case), and the lint runs Spectral's OAS3 rules."""

from __future__ import annotations

import hashlib

from portal.demo import DemoContext

ORDER = 45

PERSON = """# 人口基础信息 — the city's person record, kept as written
$schema: https://json-schema.org/draft/2020-12/schema
type: object
required: [id, born]
properties:
  id: {type: string, pattern: "^P-[0-9]{6}$"}
  born: {type: string, format: date}
"""

API_OLD = {"openapi": "3.0.3", "info": {"title": "Datasets", "version": "1.0.0"}, "paths": {"/datasets/{id}": {
    "get": {"operationId": "getDataset", "parameters": [{"name": "id", "in": "path", "required": True,
                                                          "schema": {"type": "string"}}],
            "responses": {"200": {"description": "ok"}}}}}}


def run(ctx: DemoContext) -> dict:
    import json

    from sqlmodel import select

    from standards import lint, oasdiff, services, settings
    from standards.models import Standard

    session = ctx.session
    if session.exec(select(Standard).where(Standard.name == "demo.person")).first() is None:
        services.publish(session, ctx.system, "demo.person", "1.0.0", PERSON.encode("utf-8"), kind="jsonschema",
                         filename="person.yaml", title="人口基础信息")
    v = services.version_get(session, ctx.system, "demo.person@1.0.0")
    body, digest, _media = services.served(v)
    data = b'{"id": "P-000001", "born": "1990-01-01"}\n{"id": "P-000002", "born": "2024-13-45"}\n'
    rep = services.validate_data(session, ctx.system, "demo.person@1.0.0", [("people.ndjson", data)])
    tighter = PERSON.replace("required: [id, born]", "required: [id, born, district]").replace(
        "  born:", "  district: {type: string}\n  born:")
    dry = settings.compatibility_check(session, ctx.system, "demo.person", tighter.encode(), filename="p.yaml")
    renamed = json.loads(json.dumps(API_OLD).replace("{id}", "{datasetId}").replace('"name": "id"',
                                                                                    '"name": "datasetId"'))
    return {"served_digest_verifies": hashlib.sha256(body).hexdigest() == digest == v.sha256,
            "format_errors": rep.counts.get("format", 0),
            "tightened_version_accepted": dry["is_compatible"],
            "rename_breaking_changes": len(oasdiff.breaking(API_OLD, renamed)),
            "lint_rules": len(lint.load_ruleset(None))}
