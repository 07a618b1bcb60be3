"""The world of the permission matrix (issue 15 §5): two departments A and B, each with one user per
organisation-scoped role and private objects of every kind that belongs to an organisation — a draft
project, a draft dataset, a security incident on its own system and the remediation task for it, a
certification run of its vendor user awaiting the commission's decision (a certificate in progress) — all
made through the services. Each B object carries a unique marker so a leak is found by searching any
answer (JSON, CSV, HTML) for the marker or the object's id.

Roles whose reach is city-wide by design (commission_admin, commission_reviewer, security_analyst: see
registry/policies.py and secmon/policies.py) are not subjects of the cross-organisation check.
"""

from __future__ import annotations

import copy
import itertools
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, select

from kernel.ids import new_id
from kernel.principal import system_principal

SYS = system_principal("permission-matrix")
ORG_SCOPED_ROLES = ("department_submitter", "data_steward", "vendor", "expert")
_seq = itertools.count(1)


@dataclass
class Org:
    key: str
    org: Any
    marker: str
    users: dict[str, Any] = field(default_factory=dict)  # role -> User
    tokens: dict[str, str] = field(default_factory=dict)  # role -> bearer secret
    project_id: str = ""
    dataset_name: str = ""
    dataset_id: str = ""
    incident_ids: list[str] = field(default_factory=list)
    task_ids: list[str] = field(default_factory=list)
    run_id: str = ""  # a certification run not yet decided (a certificate in progress)

    def ids(self) -> list[str]:
        return [self.project_id, self.dataset_id, self.dataset_name, *self.incident_ids, *self.task_ids, self.run_id]

    def needles(self) -> list[str]:
        """Strings that must never appear in an answer given to the other organisation."""
        return [self.marker, *self.ids()]


def _alert(ts: datetime, src: str, dst: str, sid: int, sig: str, flow: int) -> str:
    return json.dumps({
        "timestamp": ts.strftime("%Y-%m-%dT%H:%M:%S.%f+0000"), "flow_id": flow, "in_iface": "eth0",
        "event_type": "alert", "src_ip": src, "src_port": 40000 + flow % 1000, "dest_ip": dst, "dest_port": 80,
        "proto": "TCP", "alert": {"action": "allowed", "gid": 1, "signature_id": sid, "rev": 1, "signature": sig,
                                  "category": "Attempted Attack", "severity": 1}})


def build_world(session: Session, tmp_path) -> tuple[Org, Org]:
    from opendata.catalog import dataset_create, vocab
    from portal.accounts import services as accounts
    from registry import services as reg
    from secmon import assets, incidents, remediation
    from secmon.ingest import eve_ingest
    from tests.factories import make_org, make_user, principal_of
    from tests.registry.conftest import BASE

    n = next(_seq)
    orgs = []
    lines = []
    t0 = datetime(2024, 3, 1, 9, 0)
    flow = 770000000 + n * 1000
    v = vocab()
    for key, net in (("A", 1), ("B", 2)):
        marker = f"MX{key}{new_id()[:12]}"
        org = make_org(session, f"MX-{key}-{n}-{new_id()[:6]}", name=f"矩阵{key}局{n}")
        o = Org(key, org, marker)
        for role in ORG_SCOPED_ROLES:
            user = make_user(session, role, org=org)
            o.users[role] = user
            _tok, o.tokens[role] = accounts.token_create(session, principal_of(session, user), user=user,
                                                         name="matrix")
        doc = copy.deepcopy(BASE)
        doc.update(title=f"{marker} 专用平台建设项目", organisation=org.code)
        o.project_id = reg.project_create(session, SYS, doc, org_id=org.id).id
        steward = principal_of(session, o.users["data_steward"])
        name = f"mx-{marker.lower()}"
        ds = dataset_create(session, steward, {
            "name": name, "title_zh": f"{marker} 数据集", "title_en": f"{marker} dataset",
            "description_zh": f"{marker} 草稿", "description_en": f"{marker} draft", "theme": sorted(v["themes"])[0],
            "licence": sorted(v["licences"])[0], "frequency": sorted(v["frequencies"])[0],
            "contact_email": "steward@example.org"})
        o.dataset_name, o.dataset_id = name, ds.id
        system = f"mx-{key.lower()}-{n}-{new_id()[:6]}"
        assets.system_create(session, SYS, name=system, org=org.code, mlps_level=3, criticality="high")
        host = f"10.{90 + n % 100}.{net}.10"
        assets.network_add(session, SYS, system=system, cidr=f"{host}/32")
        for i in range(6):
            flow += 1
            lines.append(_alert(t0 + timedelta(minutes=3 * i), "198.51.100.99", host, 2024897,
                                f"ET WEB_SERVER Possible SQL Injection {marker}", flow))
        orgs.append(o)
    from registry.certify import samples
    from registry.certify import services as certify
    from tests.certify.conftest import har_bytes, publish_standard

    standard = publish_standard(session)
    for o in orgs:
        run = certify.certification_run(session, principal_of(session, o.users["vendor"]), standard=standard,
                                         spec=json.dumps(samples.vendor_spec()).encode(), spec_filename="uds.json",
                                         hars=[("good.har", har_bytes(samples.good_har()))],
                                         system=f"{o.marker} system", vendor=o.org.code)
        o.run_id = run.id
    eve = tmp_path / f"matrix-eve-{n}.json"
    eve.write_text("\n".join(lines) + "\n", encoding="utf-8")
    eve_ingest(session, SYS, [eve], sensor="matrix")
    incidents.incidents_correlate(session, SYS)
    from secmon.models import SecmonIncident

    for o in orgs:
        o.incident_ids = list(session.exec(select(SecmonIncident.id).where(SecmonIncident.org_id == o.org.id)))
        assert o.incident_ids, f"no incident for {o.key}"
        task = remediation.remediation_create(session, SYS, incident_id=o.incident_ids[0],
                                              title=f"{o.marker} remediation")
        o.task_ids = [task["id"]]
    return orgs[0], orgs[1]


def snapshot(session: Session, o: Org) -> dict[str, Any]:
    """Everything about ``o``'s objects that a write would change, and the audit events naming them."""
    from audit.models import AuditEvent
    from opendata.models import Dataset
    from registry.certify.models import CertRun
    from registry.models import Project
    from secmon.models import SecmonIncident, SecmonRemediationTask

    session.expire_all()
    rows = [session.get(Project, o.project_id), session.get(Dataset, o.dataset_id),
            *(session.get(SecmonIncident, i) for i in o.incident_ids),
            *(session.get(SecmonRemediationTask, t) for t in o.task_ids), session.get(CertRun, o.run_id)]
    state = {f"{type(r).__name__}:{getattr(r, 'id', '')}": {k: str(v) for k, v in r.model_dump().items()} for r in rows}
    ids = [i for i in o.ids() if i]
    state["audit"] = sorted(f"{e.seq} {e.action} {e.actor}" for e in session.exec(select(AuditEvent).where(AuditEvent.object_id.in_(ids))))
    return state


# ---------------------------------------------------------------- minimal valid bodies from the document


def resolve(doc: dict, node: Any) -> Any:
    seen = 0
    while isinstance(node, dict) and "$ref" in node and seen < 50:
        ref = node["$ref"]
        target: Any = doc
        for part in ref.lstrip("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
        seen += 1
    return node


def sample(doc: dict, schema: Any, depth: int = 0) -> Any:
    """A small instance of ``schema`` (required members only), good enough to pass request validation so
    that the permission check — not the schema — decides."""
    schema = resolve(doc, schema)
    if not isinstance(schema, dict) or depth > 8:
        return None
    if "example" in schema:
        return schema["example"]
    if "default" in schema and depth > 0:
        return schema["default"]
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = sample(doc, part, depth + 1)
            if isinstance(value, dict):
                merged.update(value)
        return merged
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return sample(doc, schema[key][0], depth + 1)
    typ = schema.get("type")
    if isinstance(typ, list):
        typ = next((t for t in typ if t != "null"), "string")
    if typ == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        return {k: sample(doc, props.get(k, {"type": "string"}), depth + 1) for k in schema.get("required", [])}
    if typ == "array":
        n = schema.get("minItems", 0)
        return [sample(doc, schema.get("items", {}), depth + 1) for _ in range(n)]
    if typ == "integer":
        return int(schema.get("minimum", 1))
    if typ == "number":
        return float(schema.get("minimum", 1))
    if typ == "boolean":
        return True
    fmt = schema.get("format")
    if fmt == "date-time":
        return "2030-01-01T00:00:00Z"
    if fmt == "date":
        return "2030-01-01"
    if fmt == "email":
        return "x@example.org"
    if schema.get("pattern") == r"^\d+\.\d+\.\d+$" or "version" in str(schema.get("description", "")).lower():
        return "1.0.0"
    return "matrix-" + "x" * max(0, int(schema.get("minLength", 1)) - 7)


def app_with_overrides(db_url, db_connection, tmp_path, **overrides):
    """An app like tests/conftest.py's ``app`` fixture (same connection, savepoints) with other settings."""
    from sqlalchemy.orm import sessionmaker
    from sqlmodel import Session as SMSession

    from portal import create_app
    from portal.db import get_db
    from tests.conftest import TEST_SECRET

    config = {"ENV": "testing", "TESTING": True, "SECRET_KEY": TEST_SECRET, "DATABASE_URL": db_url,
              "INSTANCE_PATH": str(tmp_path / "instance"), "LOG_LEVEL": "WARNING", **overrides}
    app = create_app(config)
    db = get_db(app)
    db.engine.dispose()
    db.engine = db_connection.engine
    db.sessionmaker = sessionmaker(bind=db_connection, class_=SMSession, join_transaction_mode="create_savepoint",
                                   expire_on_commit=False)
    return app
