"""Demo flow of vendor certification: the commission publishes a small unified data service interface
standard, Pengcheng certifies its implementation (vendor document + recorded HAR traffic), a reviewer
issues the certificate and anyone verifies it offline with the platform's public key."""

from __future__ import annotations

import json

from portal.demo import DemoContext

ORDER = 50


def run(ctx: DemoContext) -> dict:
    from sqlmodel import select

    from audit import notes
    from portal.accounts.models import Organisation
    from portal.keys import key_dir, origin
    from registry.certify import certificates as certs
    from registry.certify import samples, services
    from standards import services as standards
    from standards.models import Standard, StandardVersion

    session = ctx.session
    version = "1.0.0"
    std = session.exec(select(Standard).where(Standard.name == samples.STANDARD_NAME)).first()
    have = std is not None and session.exec(select(StandardVersion).where(
        StandardVersion.standard_id == std.id, StandardVersion.version == version)).first() is not None
    if not have:
        standards.publish(session, ctx.system, samples.STANDARD_NAME, version,
                          json.dumps(samples.standard_spec(version), ensure_ascii=False).encode(), kind="openapi",
                          filename="unified-data-service.json", title="统一数据服务接口标准")
    vendor = ctx.users["vendor.pengcheng"]
    org = session.get(Organisation, vendor.org_id) if vendor.org_id else None
    run_ = services.certification_run(
        session, vendor, standard=f"{samples.STANDARD_NAME}@{version}",
        spec=json.dumps(samples.vendor_spec(), ensure_ascii=False).encode(), spec_filename="pengcheng-openapi.json",
        hars=[("pengcheng-traffic.har", json.dumps(samples.good_har()).encode())], system="鹏城数据共享平台",
        vendor=org.code if org else None)
    result: dict = {"run": run_.id, "conformant": run_.conformant, "entries": run_.summary.get("entries")}
    if run_.conformant:
        cert = services.certificate_issue(session, ctx.users["reviewer"], run_.id, key_dir=key_dir(), origin=origin())
        check = certs.verify_file(cert.document, notes.load_verifiers(key_dir()))
        result.update({"certificate": cert.serial, "verified_offline": check["valid"]})
    return result
