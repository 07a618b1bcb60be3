"""A vendor runs a certification from the browser pages (a background job), reads the report by
operation, the commission issues the certificate, the vendor downloads it and the public verifies it."""

from __future__ import annotations

import io
import json

from tests.factories import SYSTEM, csrf_token, make_org


def test_vendor_certification_journey(app, client, auth, db_session):
    from portal import jobs
    from portal.db import get_db
    from registry.certify import samples
    from standards import services as standards

    standards.publish(db_session, SYSTEM, samples.STANDARD_NAME, "1.0.0",
                      json.dumps(samples.standard_spec("1.0.0"), ensure_ascii=False).encode(), kind="openapi",
                      filename="uds.json", title="统一数据服务接口标准")
    make_org(db_session, "V-PC", kind="vendor")
    auth.user("vendor", org="V-PC", username="vendor1")
    auth.user("commission_reviewer", username="rev")
    auth.login(client, "vendor1")
    page = client.get("/certification")
    assert page.status_code == 200 and samples.STANDARD_NAME in page.get_data(as_text=True)
    resp = client.post("/certification", data={"csrf_token": csrf_token(page), "standard": ""},
                       content_type="multipart/form-data")
    assert resp.status_code == 422 and 'id="e-standard"' in resp.get_data(as_text=True)
    resp = client.post("/certification", data={
        "csrf_token": csrf_token(page), "standard": f"{samples.STANDARD_NAME}@1.0.0", "system": "鹏城数据共享平台",
        "spec": (io.BytesIO(json.dumps(samples.vendor_spec()).encode()), "openapi.json"),
        "hars": [(io.BytesIO(json.dumps(samples.good_har()).encode()), "traffic.har")]},
        content_type="multipart/form-data")
    assert resp.status_code == 302
    job_url = resp.headers["Location"]
    assert jobs.run_pending(get_db(app).sessionmaker) == 1
    done = client.get(job_url).get_data(as_text=True)
    run_link = [line for line in done.split('"') if line.startswith("/certification/")][0]
    report = client.get(run_link).get_data(as_text=True)
    assert "鹏城数据共享平台" in report and "<h2>" in report
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/account"))})

    auth.login(client, "rev")
    run_page = client.get(run_link)
    resp = client.post(run_link + "/issue", data={"csrf_token": csrf_token(run_page)})
    assert resp.status_code == 302
    body = client.get(run_link).get_data(as_text=True)
    import re

    serial = re.search(r'/certificates/([^/"?]+)/download', body).group(1)
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/account"))})

    auth.login(client, "vendor1")
    assert serial in client.get("/certification").get_data(as_text=True)
    cert_file = client.get(f"/certificates/{serial}/download")
    assert cert_file.status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/account"))})

    verified = client.get(f"/certificates/verify?serial={serial}").get_data(as_text=True)
    assert "证书真实且在有效期内" in verified
    form = client.get("/certificates/verify")
    upload = client.post("/certificates/verify", data={"csrf_token": csrf_token(form),
                                                       "file": (io.BytesIO(cert_file.data), "c.json")},
                         content_type="multipart/form-data")
    assert "证书真实且在有效期内" in upload.get_data(as_text=True)
    tampered = cert_file.data.replace(b'"', b"'", 1)
    bad = client.post("/certificates/verify", data={"csrf_token": csrf_token(form),
                                                    "file": (io.BytesIO(tampered), "c.json")},
                      content_type="multipart/form-data")
    assert "证书未通过验证" in bad.get_data(as_text=True)
