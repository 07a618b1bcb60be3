"""Demo flow of evaluation: the SOC produces the security evaluation report for the period of the demo's
monitoring data (city-wide, and for each department with assets when the inventory has them) — HTML with
charts, PDF and JSON — stored with its digest in the audit log; a re-run of the same data stores nothing new
(finished periods) and the report verifies against the audit log. Prints where the files are."""

from __future__ import annotations

from datetime import UTC, datetime

from portal.demo import DemoContext

ORDER = 48  # after the monitoring (40) and response flows


def run(ctx: DemoContext) -> dict:
    from sqlalchemy import text

    from portal.evaluation_support import evaluation_kwargs
    from secmon.evaluation import render
    from secmon.evaluation import services as ev
    from secmon.evaluation.periods import period_containing
    from secmon.evaluation.response_indicators import departments_with_assets

    analyst = ctx.users.get("soc.analyst", ctx.system)
    last = ctx.session.execute(text("SELECT max(ts) FROM secmon_event")).scalar_one()
    if last is None:
        return {"skipped": "no monitoring data"}
    last = last if isinstance(last, datetime) else datetime.fromisoformat(str(last))
    period = period_containing("quarter", last.replace(tzinfo=last.tzinfo or UTC))
    folder = ctx.instance / "demo-data" / "secmon" / "evaluation"
    folder.mkdir(parents=True, exist_ok=True)
    kwargs = evaluation_kwargs()
    report, info = ev.evaluation_run(ctx.session, analyst, period.label, pdf=True, **kwargs)
    base = folder / f"secmon-evaluation-{report.period}-{report.scope}"
    base.with_suffix(".html").write_text(report.html, encoding="utf-8")
    base.with_suffix(".pdf").write_bytes(report.pdf)
    base.with_suffix(".json").write_bytes(render.render_json(info["document"] | {"report": ev.report_dict(report)}))
    verified = ev.evaluation_verify(ctx.session, analyst, report.id, base.with_suffix(".pdf").read_bytes())
    out = {"period": report.period, "score": report.score, "band": report.band or "none (coverage too low)",
           "digest": report.digest[:16], "verified_in_audit_log": verified["ok"],
           "html": str(base.with_suffix(".html")), "pdf": str(base.with_suffix(".pdf")),
           "json": str(base.with_suffix(".json"))}
    departments = departments_with_assets(ctx.session)
    done = []
    for d in departments[:3]:
        try:
            dr, dinfo = ev.evaluation_run(ctx.session, analyst, period.label, department=d["code"], **kwargs)
        except Exception as exc:  # noqa: BLE001 - the demo reports and continues
            ctx.session.rollback()
            done.append(f"{d['code']}: {getattr(exc, 'detail', exc)}")
            continue
        path = folder / f"secmon-evaluation-{dr.period}-{dr.scope.replace(':', '-')}.html"
        path.write_text(dr.html, encoding="utf-8")
        done.append(f"{d['code']} score {dr.score} -> {path.name}")
    if done:
        out["departments"] = "; ".join(done)
    out["page"] = f"/secmon/evaluations/{report.id}"
    return out
