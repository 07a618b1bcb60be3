"""Server-level failures Schemathesis found on the served instance, kept as plain regression tests."""

from __future__ import annotations

import time

import requests


def test_a_streamed_export_does_not_keep_the_database_locked(served_instance):
    """The project export streams its body after the request ended; it used to read through the request's
    (already closed, silently reopened) session, whose transaction held SQLite's write lock for ever: every
    later write waited 30 s and failed with 500 'database is locked'."""
    admin = served_instance.headers("commission_admin")
    # a title with a control character XLSX forbids: the XLSX export crashed mid-body on it
    control = requests.post(served_instance.api_url + "/projects", headers=served_instance.headers("submitter_psb"),
                            json={"title": "控制\u0001字符 control character"}, timeout=60)
    assert control.status_code == 201, control.text[:500]
    for fmt in ("csv", "json", "xlsx"):
        exported = requests.get(served_instance.api_url + "/projects/export", params={"format": fmt}, headers=admin,
                                timeout=60)
        assert exported.status_code == 200, exported.text[:300]
        assert len(exported.content) > 100
    started = time.monotonic()
    created = requests.post(served_instance.api_url + "/projects", headers=served_instance.headers("submitter_psb"),
                            json={"title": "导出之后的草稿 draft after an export"}, timeout=60)
    assert created.status_code == 201, created.text[:500]
    assert time.monotonic() - started < 10


def test_timestamps_are_rfc3339(served_instance):
    rulesets = requests.get(served_instance.api_url + "/secmon/rulesets",
                            headers=served_instance.headers("security_analyst"), timeout=30)
    assert rulesets.status_code == 200
    for item in rulesets.json()["items"]:
        assert item["imported_at"].endswith("Z"), item["imported_at"]


def test_statistics_do_not_wait_for_their_own_lock(served_instance):
    """The programme statistics inspected the schema through a fresh connection, which on SQLite waited the
    whole 30 s busy timeout for the write lock of the request's own transaction (and then silently dropped
    the open-data deliveries)."""
    for fmt in ("json", "xlsx"):
        started = time.monotonic()
        answer = requests.get(served_instance.api_url + "/programme/statistics", params={"format": fmt},
                              headers=served_instance.headers("commission_admin"), timeout=60)
        assert answer.status_code == 200, answer.text[:300]
        assert time.monotonic() - started < 10


def test_nul_characters_are_refused_not_500(served_instance):
    """PostgreSQL cannot store NUL; a NUL in a query parameter or a JSON string reached the driver as a 500."""
    admin = served_instance.headers("commission_admin")
    listed = requests.get(served_instance.api_url + "/projects/portfolio", params={"state": "\x00x"}, headers=admin,
                          timeout=30)
    assert listed.status_code == 400 and listed.headers["Content-Type"].startswith("application/problem+json")
    created = requests.post(served_instance.api_url + "/users", headers=admin, timeout=30,
                            json={"username": "nul.user", "display_name": "N", "password": "a-Long-enough-9",
                                  "org": "SZ-\x00ICT"})
    assert created.status_code == 400, created.text[:300]
    ckan = requests.post(served_instance.base_url + "/api/3/action/package_show", json={"id": "a\x00b"}, timeout=30)
    assert ckan.status_code == 409 and ckan.json()["success"] is False
