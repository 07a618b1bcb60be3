"""The security analysts' pages: the monitoring dashboard (alerts over time, top signatures, sensor health,
rule coverage), alert search (state in the URL), rule-set versions and the difference between two."""

from __future__ import annotations

from collections import Counter

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _

from kernel.errors import BadRequest, CityGovError, NotFound
from kernel.permissions import authorize
from portal.auth import current_principal, login_required
from portal.db import get_session
from portal.jobs import ruleset_build
from portal.web import bp, charts
from portal.web.nav import N_, add

add("web.monitoring", N_("Monitoring"), "secmon:events:read", order=40)
add("web.alert_search", N_("Event search"), "secmon:events:read", order=41)
add("web.rulesets", N_("Rule sets"), "secmon:ruleset:read", order=42)

PAGE = 50


@bp.get("/monitoring")
@login_required
def monitoring():
    from flask_babel import gettext as _

    from secmon import push_queue
    from secmon import services as secmon

    session = get_session()
    principal = current_principal()
    authorize(principal, "secmon:events:read")
    bucket = request.args.get("bucket", "hour")
    if bucket not in ("hour", "day"):
        raise BadRequest("bucket must be hour or day")
    per: Counter[str] = Counter()
    for row in secmon.alerts_over_time(session, principal, bucket=bucket):
        per[str(row["bucket"])[: 13 if bucket == "hour" else 10]] += int(row["count"])
    over_time = sorted(per.items())
    top = secmon.top_alerts(session, principal, by="signature", limit=10)
    top_rows = [(str(t["value"]), int(t["count"])) for t in top]
    sensors = secmon.sensor_health(session, principal)
    pushes = push_queue.push_queue(session, principal, state="failed", limit=10)  # counts are of every state
    try:
        coverage = secmon.rule_coverage(session, principal)
    except NotFound:
        coverage = None
    return render_template("web/monitoring.html", bucket=bucket, over_time=over_time, top_rows=top_rows,
                           sensors=sensors, coverage=coverage, pushes=pushes,
                           chart_time=charts.line_chart(over_time, title=_("Alerts over time")),
                           chart_top=charts.bar_chart(top_rows, title=_("Top signatures")))


@bp.get("/monitoring/alerts")
@login_required
def alert_search():
    from secmon import views

    args = {k: request.args.get(k, "").strip() for k in ("ip", "sid", "text", "since", "until")}
    try:
        page = max(int(request.args.get("page", "1")), 1)
        sid = int(args["sid"]) if args["sid"] else None
    except ValueError:
        raise BadRequest("page and signature id are whole numbers") from None
    searched = any(args.values())
    items, total = views.alerts_search(get_session(), current_principal(), ip=args["ip"] or None, sid=sid,
                                       text=args["text"] or None, since=args["since"] or None,
                                       until=args["until"] or None, limit=PAGE, offset=(page - 1) * PAGE)
    return render_template("web/alert_search.html", items=items, total=total, page=page, page_size=PAGE,
                           args={k: v for k, v in args.items() if v}, searched=searched)


@bp.get("/monitoring/rulesets")
@login_required
def rulesets():
    from secmon import services as secmon
    from secmon import views

    session = get_session()
    principal = current_principal()
    versions = secmon.ruleset_versions(session, principal)
    old, new = request.args.get("old", ""), request.args.get("new", "")
    diff = views.version_diff(session, principal, old, new) if old and new else None
    return render_template("web/rulesets.html", versions=versions, old=old, new=new, diff=diff, errors={},
                           form={})


@bp.post("/monitoring/rulesets/build")
@login_required
def ruleset_build_start():
    """Upload rule files (and policy files) and build them into a new version in the background."""
    from secmon import services as secmon

    session, principal = get_session(), current_principal()
    authorize(principal, "secmon:ruleset:import")
    form = {"name": request.form.get("name", "").strip(), "sensor": request.form.get("sensor", "").strip()}
    files: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for upload in request.files.getlist("files"):
        if not upload or not upload.filename:
            continue
        try:
            files[upload.filename.rsplit("/", 1)[-1]] = upload.read().decode("utf-8")
        except UnicodeDecodeError:
            errors.setdefault("files", []).append(_("%(name)s is not UTF-8 text.", name=upload.filename))
    policy = {f: request.form.get(f.replace(".", "_"), "") for f in ruleset_build.POLICY_FILES}
    if not errors:
        try:
            job = ruleset_build.enqueue(session, principal, {"name": form["name"], "sensor": form["sensor"] or None,
                                                             "files": files, "policy": policy})
            return redirect(url_for("web.job_page", job_id=job.id))
        except CityGovError as exc:
            if exc.status in (401, 403):
                raise
            for e in exc.errors or [{"field": "files", "message": exc.detail}]:
                errors.setdefault(str(e.get("field", "files")).split("/")[0], []).append(
                    f"{e.get('field', '')}: {e.get('message')}" if "/" in str(e.get("field", "")) else e.get("message"))
    versions = secmon.ruleset_versions(session, principal)
    return render_template("web/rulesets.html", versions=versions, old="", new="", diff=None, errors=errors,
                           form=dict(form, **{f.replace(".", "_"): v for f, v in policy.items()})), 422


@bp.get("/monitoring/rulesets/<version_id>/lint")
@login_required
def ruleset_lint(version_id: str):
    """The lint results of a stored rule-set version: counts by severity and check, the findings (filtered by
    severity and check, paginated, state in the URL) with file and line."""
    from secmon.version_lint import version_lint

    result = version_lint(get_session(), current_principal(), version_id)
    severity, check = request.args.get("severity", ""), request.args.get("check", "")
    try:
        page = max(int(request.args.get("page", "1")), 1)
    except ValueError:
        raise BadRequest("page must be a whole number") from None
    items = [f for f in result["findings"] if (not severity or f["severity"] == severity)
             and (not check or f["check"] == check)]
    return render_template("web/ruleset_lint.html", result=result, items=items[(page - 1) * PAGE:page * PAGE],
                           total=len(items), page=page, page_size=PAGE, severity=severity, check=check)
