"""Demo flow of the web application's cross-module parts: a department's one view of the programme, and a
background job (a personal-data scan of a small file) queued and run by the job worker as the steward."""

from __future__ import annotations

import base64

ORDER = 800  # after the module flows, before the audit log is sealed

SAMPLE = ("姓名,身份证号,手机号,年龄,区\n"
          "王伟,11010519491231002X,13800138000,34,福田区\n"
          "李娜,440304198001010015,13912345678,41,南山区\n").encode("utf-8")


def run(ctx) -> dict:
    from portal import jobs, programme
    from portal.db import get_db
    from portal.web import steward  # noqa: F401 - registers the scan job kind

    admin = ctx.users["admin"]
    view = programme.department_view(ctx.session, admin, "SZ-HEALTH")
    steward_principal = ctx.users["data.steward"]
    job = jobs.job_enqueue(ctx.session, steward_principal, "opendata:scan", title="扫描 demo-people.csv",
                           params={"filename": "demo-people.csv"}, payload=base64.b64encode(SAMPLE).decode())
    jobs.run_pending(get_db(ctx.app).sessionmaker)
    ctx.session.expire_all()
    done = jobs.job_get(ctx.session, steward_principal, job.id)
    return {"department_projects": view["totals"]["projects"],
            "department_interfaces_certified": view["standards"]["summary"]["certified"],
            "scan_job": done.state, "scan_summary": (done.result or {}).get("summary")}
