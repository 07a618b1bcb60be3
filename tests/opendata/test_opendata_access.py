"""Conditional access: application, approval with expiry issuing a scoped key, logged downloads,
immediate revocation, expired keys (issue 13)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from kernel.clock import utcnow
from kernel.errors import Conflict, NotAuthorized, ValidationFailed
from opendata.access import access_apply, access_decide, access_key_issue, access_revoke
from opendata.models import AccessApplication, Download
from tests.opendata.test_opendata_ckan import served  # noqa: F401
from tests.opendata.test_opendata_release import steward


def test_access_lifecycle(client, served, db_session):  # noqa: F811
    ck = __import__("ckanapi").RemoteCKAN(served)
    res = ck.action.package_show(id="bus-stops")["resources"][0]
    path = res["url"].split("127.0.0.1", 1)[1].split("/", 1)[1]
    url = "/" + path
    r = client.get(url)
    assert r.status_code == 403 and r.mimetype == "application/problem+json"  # conditional: a key is needed
    company = steward("acme-analyst", "org-company")
    with pytest.raises(ValidationFailed):
        access_apply(db_session, company, "bus-stops", purpose="x")
    app = access_apply(db_session, company, "bus-stops", purpose="transport planning study for Nanshan")
    bob = steward("bob")
    with pytest.raises(NotAuthorized):  # only the owning department decides
        access_decide(db_session, company, app.id, approve=True, expires_at=utcnow() + timedelta(days=30))
    with pytest.raises(ValidationFailed):
        access_decide(db_session, bob, app.id, approve=True, expires_at=utcnow() - timedelta(days=1))
    app = access_decide(db_session, bob, app.id, approve=True, expires_at=utcnow() + timedelta(days=30))
    assert app.key_hash is None  # the steward never sees a key
    with pytest.raises(NotAuthorized):  # only the applicant collects it
        access_key_issue(db_session, bob, app.id)
    app, old_key = access_key_issue(db_session, company, app.id)
    app, key = access_key_issue(db_session, company, app.id)  # collecting again replaces the key
    assert key.startswith("odk_") and app.key_hash != key and key != old_key
    assert client.get(url, headers={"X-CKAN-API-Key": old_key}).status_code == 403
    r = client.get(url, headers={"X-CKAN-API-Key": key})
    assert r.status_code == 200 and r.data.startswith("站点".encode())
    assert client.get(url, headers={"Authorization": key}).status_code == 200
    other = ck.action.package_show(id="metro-lines")["resources"][0]["url"].split("127.0.0.1", 1)[1].split("/", 1)[1]
    assert client.get("/" + other + f"?key={key}").status_code == 403  # scoped to one dataset
    logs = db_session.exec(select(Download).where(Download.application_id == app.id)).all()
    assert len(logs) == 2 and logs[0].actor == company.actor
    with pytest.raises(ValidationFailed):
        access_revoke(db_session, bob, app.id, reason="")
    access_revoke(db_session, bob, app.id, reason="purpose fulfilled")
    r = client.get(url, headers={"X-CKAN-API-Key": key})
    assert r.status_code == 403 and "revoked" in r.json["detail"]
    with pytest.raises(Conflict):
        access_revoke(db_session, bob, app.id, reason="again")
    # an expired key
    app2 = access_apply(db_session, company, "bus-stops", purpose="second study on bus stop density")
    access_decide(db_session, bob, app2.id, approve=True, expires_at=utcnow() + timedelta(days=1))
    app2, key2 = access_key_issue(db_session, company, app2.id)
    row = db_session.get(AccessApplication, app2.id)
    row.expires_at = utcnow() - timedelta(seconds=1)
    db_session.add(row)
    db_session.commit()
    r = client.get(url, headers={"X-CKAN-API-Key": key2})
    assert r.status_code == 403 and "expired" in r.json["detail"]
