"""Asynchronous EVE pushes (``Prefer: respond-async``): stored before the 202, ingested by the background
worker exactly once — also when the worker dies mid-way —, followed by the sensor, listed for the analysts."""

from datetime import timedelta

import pytest
from sqlalchemy import text, update

from kernel import NotAuthenticated, NotAuthorized, NotFound, Principal, system_principal
from kernel.clock import utcnow
from secmon import push_queue, services
from secmon.models import SecmonPush

ANALYST = Principal(kind="user", id="analyst-1", name="analyst", roles=frozenset({"security_analyst"}))
VENDOR = Principal(kind="user", id="vendor-1", name="vendor", roles=frozenset({"vendor"}))
ALERT = b'{"timestamp":"2023-08-18T05:38:%02d.437967+0000","event_type":"alert","src_ip":"1.2.3.%d",' \
        b'"dest_ip":"10.0.0.1","alert":{"signature":"ET TEST","gid":1,"signature_id":2000001,"rev":1,' \
        b'"severity":2,"category":"x"}}\n'


def body(n: int, start: int = 0) -> bytes:
    return b"".join(ALERT % (i % 60, i % 250) for i in range(start, start + n))


def events(session) -> int:
    return session.execute(text("SELECT count(*) FROM secmon_event")).scalar_one()


def sensor(session, name="edge-1"):
    reg = services.sensor_register(session, system_principal("t"), name)
    return reg, services.sensor_principal(session, name, reg["token"])


class _Stream:
    def __init__(self, data: bytes):
        self.data = data

    def read(self, n=-1):
        out, self.data = self.data, b""
        return out


def test_accepted_push_is_durable_queued_then_ingested_once(db_session):
    _reg, principal = sensor(db_session)
    status, new = push_queue.push_accept(db_session, principal, _Stream(body(40)), sensor="edge-1",
                                         idempotency_key="batch-1")
    assert new and status["state"] == "queued" and status["bytes"] == len(body(40)) and events(db_session) == 0
    # the same key again: the first push's status, nothing stored twice
    again, new2 = push_queue.push_accept(db_session, principal, _Stream(body(40)), sensor="edge-1",
                                         idempotency_key="batch-1")
    assert not new2 and again["id"] == status["id"]
    assert db_session.execute(text("SELECT count(*) FROM secmon_push")).scalar_one() == 1
    ran: list[str] = []
    assert push_queue.push_drain(db_session, after=lambda s, name: ran.append(name) or {"incidents_created": 0}) == 1
    done = push_queue.push_get(db_session, principal, "edge-1", status["id"])
    assert done["state"] == "done" and done["report"]["events"] == 40 and done["report"]["incidents_created"] == 0
    assert done["attempts"] == 1 and done["finished_at"] and ran == ["edge-1"]
    assert db_session.get(SecmonPush, status["id"]).body is None  # the body goes once it is ingested
    assert events(db_session) == 40
    assert push_queue.push_drain(db_session) == 0


def test_worker_dying_mid_ingest_resumes_exactly_once(db_session):
    _reg, principal = sensor(db_session)
    status, _ = push_queue.push_accept(db_session, principal, _Stream(body(300)), sensor="edge-1",
                                       idempotency_key="k")
    # a worker claimed it, committed the first 100 events (the ingestion commits in batches), then died
    push_id = push_queue.push_claim(db_session)
    assert push_id == status["id"]
    services.eve_ingest_stream(db_session, system_principal("sensor-push:edge-1"), _Stream(body(100)),
                               sensor="edge-1", name="partial", idempotency_key="k")
    assert events(db_session) == 100
    assert push_queue.push_claim(db_session) is None  # running, not yet stale: nobody else takes it
    db_session.execute(update(SecmonPush).values(claimed_at=utcnow() - timedelta(seconds=push_queue.STALE_SECONDS + 1)))
    db_session.commit()
    assert push_queue.push_drain(db_session) == 1
    done = push_queue.push_get(db_session, ANALYST, "edge-1", push_id)
    assert done["state"] == "done" and done["attempts"] == 2
    assert done["report"]["events"] == 200 and done["report"]["duplicates_skipped"] == 100
    assert events(db_session) == 300
    assert db_session.execute(text("SELECT count(*) FROM (SELECT DISTINCT source_id, line_offset "
                                   "FROM secmon_event) d")).scalar_one() == 300


def test_a_push_whose_worker_keeps_dying_fails_with_the_reason(db_session):
    _reg, principal = sensor(db_session)
    status, _ = push_queue.push_accept(db_session, principal, _Stream(body(3)), sensor="edge-1")
    long_ago = utcnow() - timedelta(seconds=push_queue.STALE_SECONDS + 1)
    db_session.execute(update(SecmonPush).values(state="running", claimed_at=long_ago,
                                                 attempts=push_queue.MAX_ATTEMPTS))
    db_session.commit()
    assert push_queue.push_claim(db_session) is None
    failed = push_queue.push_get(db_session, ANALYST, "edge-1", status["id"])
    assert failed["state"] == "failed" and "stopped 3 times" in failed["error"]


def test_unexpected_errors_are_retried_then_failed(db_session):
    _reg, principal = sensor(db_session)
    status, _ = push_queue.push_accept(db_session, principal, _Stream(body(5)), sensor="edge-1")

    def broken(session, name):
        raise RuntimeError("mail server down")

    assert push_queue.push_drain(db_session, after=broken) == push_queue.MAX_ATTEMPTS
    failed = push_queue.push_get(db_session, ANALYST, "edge-1", status["id"])
    assert failed["state"] == "failed" and "RuntimeError" in failed["error"] and failed["attempts"] == 3
    assert events(db_session) == 5  # what was ingested stays (the retry skipped it as duplicates)


def test_who_may_push_and_read_the_queue(db_session):
    _reg, principal = sensor(db_session)
    _reg2, other = sensor(db_session, "edge-2")
    with pytest.raises(NotAuthenticated):
        push_queue.push_accept(db_session, other, _Stream(body(1)), sensor="edge-1")
    with pytest.raises(NotAuthorized):
        push_queue.push_accept(db_session, VENDOR, _Stream(body(1)), sensor="edge-1")
    status, _ = push_queue.push_accept(db_session, principal, _Stream(body(1)), sensor="edge-1")
    with pytest.raises(NotAuthenticated):
        push_queue.push_get(db_session, other, "edge-1", status["id"])
    with pytest.raises(NotFound):
        push_queue.push_get(db_session, other, "edge-2", status["id"])  # another sensor's push does not exist
    with pytest.raises(NotAuthorized):
        push_queue.push_queue(db_session, VENDOR)
    q = push_queue.push_queue(db_session, ANALYST)
    assert q["counts"] == {"queued": 1, "running": 0, "done": 0, "failed": 0} and q["total"] == 1
    assert q["oldest_waiting_seconds"] is not None and "body" not in q["items"][0]


def test_retention_deletes_finished_pushes_never_waiting_ones(db_session):
    _reg, principal = sensor(db_session)
    a, _ = push_queue.push_accept(db_session, principal, _Stream(body(2)), sensor="edge-1", idempotency_key="a")
    push_queue.push_drain(db_session)
    b, _ = push_queue.push_accept(db_session, principal, _Stream(body(2, 5)), sensor="edge-1", idempotency_key="b")
    old = utcnow() - timedelta(days=40)
    db_session.execute(update(SecmonPush).values(received_at=old))
    db_session.execute(update(SecmonPush).where(SecmonPush.id == a["id"]).values(finished_at=old))
    db_session.commit()
    res = services.events_purge(db_session, system_principal("retention"), older_than_days=30)
    assert res["pushes_deleted"] == 1
    assert [r[0] for r in db_session.execute(text("SELECT id FROM secmon_push"))] == [b["id"]]


def test_http_push_async_202_location_status_and_queue(client, db_session, auth):
    reg, _ = sensor(db_session)
    h = {"X-Sensor-Token": reg["token"], "Prefer": "return=minimal, respond-async"}
    r = client.post("/api/v1/secmon/eve?sensor=edge-1", data=body(30), content_type="application/x-ndjson",
                    headers=h | {"Idempotency-Key": "p-1"})
    assert r.status_code == 202, r.get_data(as_text=True)
    assert r.headers["Preference-Applied"] == "respond-async"
    loc = r.headers["Location"]
    assert loc.startswith("/api/v1/secmon/eve/pushes/") and events(db_session) == 0
    st = client.get(loc, headers={"X-Sensor-Token": reg["token"]})
    assert st.status_code == 200 and st.get_json()["state"] == "queued"
    assert client.get(loc).status_code == 401  # no sensor token
    again = client.post("/api/v1/secmon/eve?sensor=edge-1", data=body(30), content_type="application/x-ndjson",
                        headers=h | {"Idempotency-Key": "p-1"})
    assert again.status_code == 202 and again.get_json()["id"] == r.get_json()["id"]
    # the worker's poll (portal.jobs.eve_push) ingests it and runs the correlation pass
    from portal.db import get_db
    from portal.jobs import eve_push

    poll = eve_push.queue(get_db(client.application).sessionmaker, client.application.config)
    assert poll() is True and poll() is False
    done = client.get(loc, headers={"X-Sensor-Token": reg["token"]}).get_json()
    assert done["state"] == "done" and done["report"]["events"] == 30 and "incidents_created" in done["report"]
    analyst = auth.headers(auth.user("security_analyst"))
    q = client.get("/api/v1/secmon/eve/pushes?state=done", headers=analyst)
    assert q.status_code == 200 and q.get_json()["counts"]["done"] == 1 and q.get_json()["total"] == 1
    assert client.get("/api/v1/secmon/eve/pushes?state=nope", headers=analyst).status_code == 422
    assert client.get("/api/v1/secmon/eve/pushes", headers=auth.headers(auth.user("vendor"))).status_code == 403
    # without the preference the push is ingested before the answer, as before
    sync = client.post("/api/v1/secmon/eve?sensor=edge-1", data=body(5, 100), content_type="application/x-ndjson",
                       headers={"X-Sensor-Token": reg["token"]})
    assert sync.status_code == 200 and sync.get_json()["events"] == 5


def test_queue_on_the_monitoring_page_and_in_the_cli(client, db_session, auth, runner):
    _reg, principal = sensor(db_session)
    ok, _ = push_queue.push_accept(db_session, principal, _Stream(body(2)), sensor="edge-1", idempotency_key="a")
    push_queue.push_drain(db_session)
    failed, _ = push_queue.push_accept(db_session, principal, _Stream(body(1)), sensor="edge-1", idempotency_key="b")
    db_session.execute(update(SecmonPush).where(SecmonPush.id == failed["id"]).values(
        state="failed", error="the worker ingesting it stopped 3 times"))
    push_queue.push_accept(db_session, principal, _Stream(body(1, 9)), sensor="edge-1", idempotency_key="c")
    db_session.commit()
    auth.user("security_analyst", username="sally")
    auth.login(client, "sally")
    page = client.get("/monitoring").get_data(as_text=True)
    assert "等待 1 个，导入中 0 个，已导入 1 个，失败 1 个" in page  # the default locale
    assert "the worker ingesting it stopped 3 times" in page
    out = runner.invoke(args=["secmon", "pushes", "--format", "json"])
    assert out.exit_code == 0, out.output
    import json

    data = json.loads(out.output)
    assert data["counts"] == {"queued": 1, "running": 0, "done": 1, "failed": 1} and len(data["items"]) == 3
    text_out = runner.invoke(args=["secmon", "pushes", "--state", "done"])
    assert text_out.exit_code == 0 and "queued 1, running 0, done 1, failed 1" in text_out.output
    assert ok["id"] in text_out.output and "events 2" in text_out.output
    assert runner.invoke(args=["secmon", "pushes", "--state", "nope"]).exit_code == 2
