"""Issue 15 §5: the permission matrix, generated from the served OpenAPI document and from the web
blueprint's url_map, so a new operation or page is covered without editing this file.

For every operation, every organisation-scoped role of department A acts on department B's private
objects (draft project, draft dataset, incident, remediation task, certification run in progress): no 2xx answer, no change to any B
object and no audit event about one. Every list/export read (each ``format`` the document lists) and
every web page is searched for B's markers and ids: none may appear. A's own objects stay reachable
(so the matrix cannot pass by refusing everything).
"""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from tests.factories import PASSWORD, csrf_token
from tests.reliability.matrix_support import ORG_SCOPED_ROLES, build_world, resolve, sample, snapshot

METHODS = ("get", "post", "put", "patch", "delete")
OBJECT_PARAMS = {"project_id", "incident_id", "task_id", "run_id"}


@pytest.fixture
def world(db_session, tmp_path):
    return build_world(db_session, tmp_path)


def _doc():
    from portal.api import openapi_document

    return openapi_document()


def _operations():
    for path, item in _doc()["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method], item.get("parameters", [])


def _object_of(o, param: str, path: str):
    if param == "project_id":
        return o.project_id
    if param == "incident_id":
        return o.incident_ids[0]
    if param == "task_id":
        return o.task_ids[0]
    if param == "run_id":
        return o.run_id
    if param == "name" and path.startswith("/opendata/datasets/"):
        return o.dataset_name
    return None


def _concrete(path: str, target) -> tuple[str, bool]:
    """``path`` with B's objects in their parameters; whether any parameter names an organisation's object."""
    hit = False

    def fill(m):
        nonlocal hit
        param = m.group(1)
        value = _object_of(target, param, path)
        if value is not None:
            hit = True
            return value
        return "0" * 32 if param.endswith("_id") else ("1.0.0" if param == "version" else "x")

    return re.sub(r"\{([^}]+)\}", fill, path), hit


def _body(doc, op, target):
    content = (resolve(doc, op.get("requestBody") or {}) or {}).get("content") or {}
    if not content:
        return {}
    if "application/json" in content:
        body = sample(doc, content["application/json"].get("schema", {}))
        if isinstance(body, dict):  # objects named in the body are B's too
            for key in list(body):
                if key in OBJECT_PARAMS or key in ("project", "incident", "task"):
                    body[key] = _object_of(target, key if key.endswith("_id") else key + "_id", "")
                elif key in ("dataset", "dataset_name"):
                    body[key] = target.dataset_name
        return {"json": body}
    ctype = next(iter(content))
    return {"data": b"", "content_type": ctype}


def _query(doc, op, params):
    query, variants = {}, [{}]
    for p in [resolve(doc, x) for x in [*params, *op.get("parameters", [])]]:
        if p.get("in") != "query":
            continue
        schema = resolve(doc, p.get("schema", {}))
        if p.get("name") == "format" and schema.get("enum"):
            variants = [{"format": f} for f in schema["enum"]]
        elif p.get("required"):
            query[p["name"]] = sample(doc, schema)
    return [{**query, **v} for v in variants]


# The audit log is public and append-only by design (Certificate Transparency style): every entry names its
# object's id. Its public details must still carry no private content (titles, names, internal addresses).
PUBLIC_LOG = ("/audit/entries", "/audit/checkpoint", "/audit/proof/")


def _leaks(text: str, target, path: str = "") -> list[str]:
    needles = [target.marker, target.dataset_name] if path.startswith(PUBLIC_LOG) else target.needles()
    return [n for n in needles if n and n in text]


def _text(resp) -> str:
    data = resp.get_data()
    if data[:2] == b"PK":  # XLSX: search the sheet cells
        import io

        from openpyxl import load_workbook

        wb = load_workbook(io.BytesIO(data), read_only=True)
        return "\n".join(str(c) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for c in row
                         if c is not None)
    return data.decode("utf-8", "replace")


def test_api_matrix_no_cross_organisation_reads_or_writes(app, db_session, world):
    a, b = world
    doc = _doc()
    client = FlaskClient(app)  # answers are judged here, not against the document (that is §1's check)
    before = snapshot(db_session, b)
    findings, covered = [], 0
    for path, method, op, params in _operations():
        url, names_object = _concrete(path, b)
        for q in _query(doc, op, params):
            for role in ORG_SCOPED_ROLES:
                headers = {"Authorization": f"Bearer {a.tokens[role]}"}
                resp = client.open("/api/v1" + url, method=method.upper(), headers=headers, query_string=q,
                                   **_body(doc, op, b))
                covered += 1
                if resp.status_code >= 500:
                    findings.append(f"{role} {method.upper()} {url} {q}: server error {resp.status_code}")
                if names_object and 200 <= resp.status_code < 300:
                    findings.append(f"{role} {method.upper()} {url}: {resp.status_code} on B's object")
                elif 200 <= resp.status_code < 300:
                    leaked = _leaks(_text(resp), b, path)
                    if leaked:
                        findings.append(f"{role} {method.upper()} {url} {q}: answer names B's {leaked}")
        if method != "get":
            after = snapshot(db_session, b)
            if after != before:
                changed = [k for k in after if after[k] != before.get(k)]
                findings.append(f"{method.upper()} {path}: B's objects changed: {changed}")
                before = after
    assert findings == []
    public_log = client.get("/api/v1/audit/entries").get_data(as_text=True)
    assert b.project_id in public_log and b.marker not in public_log  # ids yes, content no
    assert covered > 300  # every operation × role (and each export format) was tried


def test_api_matrix_own_objects_stay_reachable(app, world):
    """The same requests on A's own objects succeed for the owning role: the matrix does not pass by
    refusing everything."""
    a, _b = world
    client = FlaskClient(app)
    own = {
        ("department_submitter", f"/api/v1/projects/{a.project_id}"),
        ("department_submitter", f"/api/v1/secmon/incidents/{a.incident_ids[0]}"),
        ("department_submitter", f"/api/v1/secmon/remediation/{a.task_ids[0]}"),
        ("data_steward", f"/api/v1/opendata/datasets/{a.dataset_name}"),
        ("vendor", f"/api/v1/certifications/{a.run_id}"),
    }
    for role, url in sorted(own):
        resp = client.get(url, headers={"Authorization": f"Bearer {a.tokens[role]}"})
        assert resp.status_code == 200, (role, url, resp.get_data(as_text=True)[:300])
        assert a.marker in resp.get_data(as_text=True)
    listed = client.get("/api/v1/projects", headers={"Authorization": f"Bearer {a.tokens['department_submitter']}"})
    assert a.project_id in listed.get_data(as_text=True)


# ---------------------------------------------------------------- web pages


WEB_FORM = {"action": "approve", "state": "closed", "reason": "matrix", "evidence": "matrix", "body": "matrix",
            "decision": "approved", "verdict": "duplicate", "comment": "matrix", "score": "5"}


def _web_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.rule.startswith("/api/"):
            continue
        yield rule


def _web_url(rule, a, b) -> tuple[str, bool] | None:
    values, hit = {}, False
    for arg in rule.arguments:
        if arg in ("project_id", "incident_id", "task_id", "run_id"):
            values[arg], hit = _object_of(b, arg, ""), True
        elif arg == "name" and rule.rule.startswith("/opendata/"):
            values[arg], hit = b.dataset_name, True
        elif arg == "org_ref":
            values[arg], hit = b.org.code, True
        elif arg == "other_id":
            values[arg] = a.project_id
        elif arg == "fmt":
            values[arg] = "csv"
        elif arg == "code":
            values[arg] = "en"
        elif arg == "action":
            values[arg] = "approve"
        elif arg == "version":
            values[arg] = "1.0.0"
        else:
            values[arg] = "0" * 32
    try:
        return rule.build(values, append_unknown=False)[1], hit
    except Exception:  # noqa: BLE001 - a converter refusing the value: nothing to request
        return None


def _web_client(app, user) -> FlaskClient:
    client = FlaskClient(app)
    page = client.get("/login")
    resp = client.post("/login", data={"username": user.username, "password": PASSWORD, "csrf_token": csrf_token(page)})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    return client


def test_web_matrix_no_cross_organisation_reads_or_writes(app, db_session, world):
    a, b = world
    rules = list(_web_rules(app))
    before = snapshot(db_session, b)
    findings, pages = [], 0
    for role in ORG_SCOPED_ROLES:
        client = _web_client(app, a.users[role])
        token = csrf_token(client.get("/account"))
        for rule in rules:
            built = _web_url(rule, a, b)
            if built is None:
                continue
            url, names_object = built
            if "GET" in rule.methods:
                resp = client.get(url)
                pages += 1
                if resp.status_code >= 500:
                    findings.append(f"{role} GET {url}: {resp.status_code}")
                elif resp.status_code == 200 and _leaks(_text(resp), b):
                    findings.append(f"{role} GET {url}: page names B's {_leaks(_text(resp), b)}")
            if "POST" in rule.methods and (names_object or rule.arguments):
                resp = client.post(url, data={**WEB_FORM, "csrf_token": token})
                if resp.status_code >= 500:
                    findings.append(f"{role} POST {url}: {resp.status_code}")
                # a refusal's flash may echo what this client sent (``dataset 'x' not found``): shown once, on
                # the next page — drain it here so the next GET is judged on its own content
                client.get("/account")
                after = snapshot(db_session, b)
                if after != before:
                    findings.append(f"{role} POST {url}: B's objects changed")
                    before = after
    assert findings == []
    assert pages > 50


def test_web_matrix_own_pages_show_own_objects(app, world):
    a, _b = world
    client = _web_client(app, a.users["department_submitter"])
    for url in (f"/projects/{a.project_id}", f"/secmon/incidents/{a.incident_ids[0]}"):
        resp = client.get(url)
        assert resp.status_code == 200 and a.marker in resp.get_data(as_text=True), url
    vendor = _web_client(app, a.users["vendor"])
    resp = vendor.get(f"/certification/{a.run_id}")
    assert resp.status_code == 200 and a.marker in resp.get_data(as_text=True)


# ---------------------------------------------------------------- CKAN-compatible API and DCAT


def test_ckan_actions_and_dcat_never_show_another_departments_drafts(app, world):
    """Every CKAN action (opendata.ckan.ACTIONS) with B's dataset/organisation as ``id`` and drafts asked
    for, and the DCAT catalogue and dataset documents in every format (opendata.dcat.FORMATS)."""
    from opendata import ckan, dcat

    a, b = world
    client = FlaskClient(app)
    findings, calls = [], 0
    callers = {"anonymous": {}, **{r: {"Authorization": f"Bearer {a.tokens[r]}"} for r in ORG_SCOPED_ROLES}}
    urls = []
    for action in sorted(ckan.ACTIONS):
        urls += [f"/api/3/action/{action}?id={b.dataset_name}&include_drafts=true&include_private=true",
                 f"/api/3/action/{action}?id={b.org.code}&q={b.marker}&include_drafts=true",
                 f"/api/3/action/{action}?resource_id={b.dataset_id}&include_drafts=true"]
    for fmt in dcat.FORMATS:
        urls += [f"/catalog.{fmt}", f"/dataset/{b.dataset_name}.{fmt}", f"/dataset/{b.dataset_id}.{fmt}"]
    for who, headers in callers.items():
        for url in urls:
            resp = client.get(url, headers=headers)
            calls += 1
            # what the caller sent may be echoed (``dataset 'x' not found``); anything else of B's is a leak
            leaked = [n for n in _leaks(_text(resp), b) if n not in url]
            if resp.status_code >= 500:
                findings.append(f"{who} {url}: {resp.status_code}")
            elif leaked:
                findings.append(f"{who} {url}: {resp.status_code} names B's {leaked}")
    assert findings == []
    # A's steward sees A's own draft through the same action (the check is not vacuous)
    own = client.get(f"/api/3/action/package_show?id={a.dataset_name}&include_drafts=true",
                     headers={"Authorization": f"Bearer {a.tokens['data_steward']}"})
    assert own.status_code == 200 and a.marker in own.get_data(as_text=True)
    assert calls >= 5 * (3 * len(ckan.ACTIONS) + 3 * len(dcat.FORMATS))
