"""The security analysts' pages: the monitoring dashboard (alerts over time, top signatures, sensor health,
rule coverage), alert search (state in the URL), rule-set versions and the difference between two."""

from __future__ import annotations

from collections import Counter

from flask import render_template, request

from kernel.errors import BadRequest, NotFound
from kernel.permissions import authorize
from portal.auth import current_principal, login_required
from portal.db import get_session
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
    try:
        coverage = secmon.rule_coverage(session, principal)
    except NotFound:
        coverage = None
    return render_template("web/monitoring.html", bucket=bucket, over_time=over_time, top_rows=top_rows,
                           sensors=sensors, coverage=coverage,
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
    return render_template("web/rulesets.html", versions=versions, old=old, new=new, diff=diff)
