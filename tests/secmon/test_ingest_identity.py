"""Regression: EVE source identity (issue 11, fix 1) — files sharing a first line, pushes sharing a first line,
re-ingest of the same file / the same push still skips everything."""

from sqlalchemy import text

from kernel import Principal, system_principal
from secmon import services

ANALYST = Principal(kind="user", id="analyst-1", name="analyst", roles=frozenset({"security_analyst"}))


def ev(i: int, et: str = "alert") -> bytes:
    return (b'{"timestamp":"2023-08-18T05:38:%02d.000001+0000","event_type":"%s","src_ip":"10.9.0.%d",'
            b'"dest_ip":"10.0.0.1","src_port":%d,"dest_port":80,"proto":"TCP","alert":{"signature":"ET X",'
            b'"gid":1,"signature_id":%d,"rev":1,"severity":2}}\n' % (i % 60, et.encode(), i % 250, 1000 + i, 2000000 + i))


def n_events(session) -> int:
    return session.execute(text("SELECT count(*) FROM secmon_event")).scalar_one()


def test_two_files_with_the_same_first_line_are_both_stored(db_session, tmp_path):
    for first in (b"\n", b"garbage\n", ev(0)):
        a, b = tmp_path / "a.json", tmp_path / "b.json"
        a.write_bytes(first + b"".join(ev(i) for i in range(1, 30)))
        b.write_bytes(first + b"".join(ev(i) for i in range(100, 150)))
        sensor = f"s{len(first)}"
        before = n_events(db_session)
        ra = services.eve_ingest(db_session, ANALYST, [a], sensor=sensor)
        rb = services.eve_ingest(db_session, ANALYST, [b], sensor=sensor)
        stored_first = 1 if first.startswith(b"{") else 0
        assert ra.events == 29 + stored_first and rb.events == 50 + stored_first, (first, rb.to_dict())
        assert rb.duplicates_skipped == 0
        assert n_events(db_session) - before == 79 + 2 * stored_first
        # re-ingesting either file still skips every line
        again = services.eve_ingest(db_session, ANALYST, [b, a], sensor=sensor)
        assert again.events == 0 and again.quarantined == 0
        assert again.duplicates_skipped == 51 + 30


def test_large_files_sharing_a_first_line_and_growth(db_session, tmp_path):
    first = ev(0)
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_bytes(first + b"".join(ev(i) for i in range(1, 2000)))  # > HEAD_BYTES
    b.write_bytes(first + b"".join(ev(i) for i in range(5000, 7000)))
    assert services.eve_ingest(db_session, ANALYST, [a], sensor="big").events == 2000
    rb = services.eve_ingest(db_session, ANALYST, [b], sensor="big")
    assert (rb.events, rb.duplicates_skipped) == (2001, 0)
    with open(a, "ab") as fh:  # the live file grows: only the new lines
        fh.write(b"".join(ev(i) for i in range(9000, 9010)))
    ra = services.eve_ingest(db_session, ANALYST, [a], sensor="big")
    assert (ra.events, ra.duplicates_skipped) == (10, 2000)


def test_pushes_with_the_same_first_line_are_both_stored(client, db_session):
    reg = services.sensor_register(db_session, system_principal("t"), "edge-p")
    h = {"X-Sensor-Token": reg["token"]}
    url = "/api/v1/secmon/eve?sensor=edge-p"
    first = b"\n"  # a blank first line (quarantined) shared by both pushes
    body1 = first + b"".join(ev(i) for i in range(1, 51))
    body2 = first + b"".join(ev(i) for i in range(200, 250))
    r1 = client.post(url, data=body1, content_type="application/x-ndjson", headers=h).get_json()
    r2 = client.post(url, data=body2, content_type="application/x-ndjson", headers=h).get_json()
    assert (r1["events"], r2["events"], r2["duplicates_skipped"]) == (50, 50, 0)
    # the same body again: everything skipped
    r3 = client.post(url, data=body2, content_type="application/x-ndjson", headers=h).get_json()
    assert (r3["events"], r3["duplicates_skipped"]) == (0, 51)
    # an idempotency key: a retried push is skipped, another key with the same bytes is a new push
    k1 = client.post(url, data=body1, content_type="application/x-ndjson", headers=h | {"Idempotency-Key": "b-1"})
    assert k1.get_json()["events"] == 50
    k2 = client.post(url, data=body1, content_type="application/x-ndjson", headers=h | {"Idempotency-Key": "b-1"})
    assert (k2.get_json()["events"], k2.get_json()["duplicates_skipped"]) == (0, 51)
    bad = client.post(url, data=body1, content_type="application/x-ndjson", headers=h | {"Idempotency-Key": "x" * 300})
    assert bad.status_code == 422
    assert n_events(db_session) == 150
