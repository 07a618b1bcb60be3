"""Stored runs, certificate issue / verify / revoke / expire / supersede, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import select

from audit import notes
from audit.models import AuditEvent
from kernel.errors import Conflict, NotAuthorized
from kernel.principal import system_principal
from registry.certify import certificates as certs
from registry.certify import samples, services
from tests.certify.conftest import har_bytes, publish_standard


def _run(session, world, vendor_doc=None, har=None):
    return services.certification_run(session, world.vendor, standard=world.standard_ref,
                                      spec=json.dumps(vendor_doc or samples.vendor_spec()).encode(),
                                      spec_filename="vendor.json",
                                      hars=[("good.har", har_bytes(har or samples.good_har()))],
                                      system="数据共享平台", vendor="V-TEST")


def test_run_issue_verify_revoke(db_session, world):
    run = _run(db_session, world)
    assert run.conformant, run.report["findings"]
    assert run.vendor == "V-TEST" and run.summary["entries"] == 6
    with pytest.raises(NotAuthorized):
        services.certificate_issue(db_session, world.vendor, run.id, key_dir=world.key_dir, origin=world.origin)
    cert = services.certificate_issue(db_session, world.reviewer, run.id, key_dir=world.key_dir, origin=world.origin)
    assert cert.status == "valid" and cert.document
    ev = db_session.get(AuditEvent, cert.audit_index)
    assert ev.action == "registry:certificate:issue" and ev.object_id == cert.serial
    keys = notes.load_verifiers(world.key_dir)
    result = services.verify(db_session, cert.document, keys)
    assert result["valid"], result
    assert result["checks"] == {"canonical": "ok", "signature": "ok", "time": "ok", "log_inclusion": "ok",
                                "checkpoint": "ok", "revocation": "ok"}
    assert result["claims"]["scope"] == run.report["scope"]
    # offline: no revocation check
    offline = certs.verify_file(cert.document, keys)
    assert offline["valid"] and offline["checks"]["revocation"] == "unchecked"
    with pytest.raises(Conflict):
        services.certificate_issue(db_session, world.reviewer, run.id, key_dir=world.key_dir, origin=world.origin)
    services.certificate_revoke(db_session, world.reviewer, cert.serial, reason="interface withdrawn")
    revoked = services.verify(db_session, cert.document, keys)
    assert not revoked["valid"] and revoked["checks"]["revocation"] == "failed"
    actions = [e.action for e in db_session.exec(select(AuditEvent).where(AuditEvent.object_id == cert.serial).order_by(AuditEvent.seq))]
    assert actions == ["registry:certificate:issue", "registry:certificate:revoke"]


def test_tampering_any_byte_fails(db_session, world):
    run = _run(db_session, world)
    cert = services.certificate_issue(db_session, world.reviewer, run.id, key_dir=world.key_dir, origin=world.origin)
    keys = notes.load_verifiers(world.key_dir)
    data = cert.document.encode()
    assert certs.verify_file(data, keys)["valid"]
    step = max(1, len(data) // 400)
    for i in list(range(0, len(data), step)) + [len(data) - 1]:
        for delta in (1, 2):
            tampered = bytearray(data)
            tampered[i] = (tampered[i] + delta) % 256
            assert not certs.verify_file(bytes(tampered), keys)["valid"], f"byte {i} changed, still valid"
    # a different key does not verify
    other = notes.Signer.generate("other.example/audit").verifier
    assert not certs.verify_file(data, [other])["valid"]


def test_not_conformant_run_gets_no_certificate(db_session, world):
    run = _run(db_session, world, vendor_doc=samples.breaking_vendor_spec(), har=samples.bad_har())
    assert not run.conformant
    with pytest.raises(Conflict):
        services.certificate_issue(db_session, world.reviewer, run.id, key_dir=world.key_dir, origin=world.origin)


def test_expire_and_supersede(db_session, world):
    run = _run(db_session, world)
    cert = services.certificate_issue(db_session, world.reviewer, run.id, key_dir=world.key_dir, origin=world.origin,
                                      validity_days=1)
    system = system_principal("tests")
    assert services.certificates_expire(db_session, system) == 0
    cert.expires_at = cert.expires_at - timedelta(days=2)
    db_session.add(cert)
    db_session.commit()
    assert services.certificates_expire(db_session, system) == 1
    assert services.certificate_get(db_session, cert.serial).status == "expired"
    # a new certificate for 1.x, then a 2.0.0 standard: the 1.x certificate is superseded, not revoked
    cert2 = services.certificate_issue(db_session, world.reviewer, run.id, key_dir=world.key_dir, origin=world.origin)
    from standards.models import Standard

    std = db_session.exec(select(Standard).where(Standard.name == samples.STANDARD_NAME)).one()
    std.compatibility = "NONE"
    db_session.add(std)
    db_session.commit()
    publish_standard(db_session, "2.0.0")
    assert services.certificates_supersede(db_session, system) == 1
    assert services.certificate_get(db_session, cert2.serial).status == "superseded"
    res = services.verify(db_session, cert2.document, notes.load_verifiers(world.key_dir))
    assert res["valid"] and res["status"] == "superseded"
    assert [c.serial for c in services.certificate_list(db_session, vendor="V-TEST", status="superseded")] == [cert2.serial]
