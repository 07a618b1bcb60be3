"""Evaluation: every indicator against hand-computed values on a small fixture, score computation, controls,
reports (HTML with SVG charts parsed, PDF text extracted), storage and audit digests, comparisons, bad input."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import orjson
import pytest
from sqlalchemy import func
from sqlmodel import select

from kernel import NotFound, ValidationFailed, system_principal
from secmon.evaluation import services as ev
from tests.secmon import evaluation_fixture as fx

NOW = datetime(2026, 11, 30, tzinfo=UTC)


def _count(session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def _inds(doc) -> dict:
    return {i["key"]: i for i in doc["indicators"]}


@pytest.fixture
def world(db_session, tmp_path):
    return fx.build(db_session, tmp_path)


def test_monitoring_indicators_match_hand_computed_values(db_session, world):
    doc = ev.evaluation_build(db_session, world["principal"], "2024-Q1", retention_days=365, now=NOW)
    i = _inds(doc)
    # six alerts in the quarter (the April one is outside): 3 high, 2 medium, 1 low
    assert i["alerts_by_severity"]["value"] == 6
    assert i["alerts_by_severity"]["detail"]["by_severity"] == {"high": 3, "medium": 2, "low": 1, "other": 0}
    assert i["high_alerts_per_day"]["value"] == round(3 / 91, 3)  # Q1 2024 has 91 days
    assert i["ruleset_age_days"]["value"] == 122.0  # 2023-12-01 -> 2024-04-01
    # effective rules {1000001, 1000002}; 1000001 fired -> 1/2; two classtypes enabled
    assert i["rule_coverage"]["value"] == 0.5
    assert i["categories_enabled"]["value"] == 2
    assert i["unknown_sids"]["value"] == 1 and i["unknown_sids"]["detail"]["unknown_alerts"] == 2
    # the last stats event of the quarter: 50 drops / 2000 packets, 7 decoder errors, 3 flow memcap hits
    assert i["sensor_drop_ratio"]["value"] == 0.025
    assert i["decoder_errors"]["value"] == 7
    assert i["flow_memcap_hits"]["value"] == 3
    # silences over 30 min: 10:15 -> 11:00 (45 min) and 11:30 -> 12:30 (60 min)
    gaps = i["ingestion_gaps"]
    assert gaps["value"] == 2
    assert gaps["detail"]["sensors"]["eval-s1"]["longest_minutes"] == 60.0
    # 10 events and 1 quarantined line in the source that delivered the period's events
    assert i["quarantine_ratio"]["value"] == round(1 / 11, 8)


def test_response_indicators_match_hand_computed_values(db_session, world):
    doc = ev.evaluation_build(db_session, world["principal"], "2024-Q1", retention_days=365, now=NOW)
    i = _inds(doc)
    assert i["incidents_by_severity"]["value"] == 4
    assert i["incidents_by_severity"]["detail"]["by_severity"] == {"critical": 1, "high": 1, "medium": 1, "low": 1}
    assert i["mtta_hours"]["value"] == round((1 + 3 + 1) / 3, 3)  # I1 1 h, I2 3 h, I4 1 h
    assert i["mtta_hours"]["detail"]["median_hours"] == 1.0
    assert i["mttr_hours"]["value"] == 14.0  # I1 4 h, I2 24 h
    assert i["sla_breach_ratio"]["value"] == 0.5  # I2 triage late, I4 not contained by its due time
    assert i["false_positive_rate"]["value"] == 0.25
    assert i["repeat_incident_assets"]["value"] == 1  # 10.1.0.5: I1 and I2
    assert i["open_incidents_over_30d"]["value"] == 2  # I2 and I4 open at 2024-04-01, both older than 30 days
    assert i["remediation_overdue_ratio"]["value"] == 0.5  # T1 fixed in time, T2 overdue; T3 due later
    assert i["remediation_verified"]["value"] == 1
    assert i["responses_approved"]["value"] == 2 and i["responses_approved"]["detail"]["items"]["block_entry"] == 1
    assert i["approval_hours_median"]["value"] == 13.0  # 2 h and 24 h
    assert i["assets_incomplete_ratio"]["value"] == 0.0
    assert i["mlps3_without_project"]["value"] == 1
    assert i["unmanaged_addresses"]["value"] == 1  # 192.168.5.5 is internal and no asset covers it
    assert doc["evidence"]["critical_alarm_delivery_ratio"]["value"] == 0.5  # I1 delivered, I2 failed


def test_department_scope_counts_only_its_addresses(db_session, world):
    doc = ev.evaluation_build(db_session, world["principal"], "2024-Q1", department="SZ-EVAL", now=NOW)
    i = _inds(doc)
    assert doc["scope"]["kind"] == "department" and doc["scope"]["networks"] == ["10.1.0.0/16"]
    assert i["alerts_by_severity"]["value"] == 5  # the alert to 192.168.5.5 is not the department's
    assert i["alerts_by_severity"]["detail"]["by_severity"] == {"high": 3, "medium": 1, "low": 1, "other": 0}
    assert i["unmanaged_addresses"]["value"] is None and "city-wide" in i["unmanaged_addresses"]["reason"]
    assert i["incidents_by_severity"]["value"] == 4


def test_no_data_is_not_zero_without_response_records(db_session, tmp_path):
    w = fx.build(db_session, tmp_path, with_response=False)
    doc = ev.evaluation_build(db_session, w["principal"], "2024-Q1", now=NOW)
    i = _inds(doc)
    for key in ("incidents_by_severity", "mtta_hours", "remediation_overdue_ratio", "responses_approved",
                "assets_incomplete_ratio", "unmanaged_addresses"):
        assert i[key]["value"] is None and i[key]["no_data"] and i[key]["reason"], key
    rows = {r["indicator"]: r for r in doc["score"]["rows"]}
    assert rows["mtta_hours"]["assessed"] is False and rows["mtta_hours"]["contribution"] is None
    assert doc["evidence"]["log_retention_days"]["value"] is None  # no setting given: not assessed, not invented


def test_score_shows_its_computation_with_custom_weights(db_session, world, tmp_path):
    w = tmp_path / "w.yaml"
    w.write_text("version: 1\nmin_coverage: 0.5\nbands:\n  - {name: good, min: 70}\n  - {name: poor, min: 0}\n"
                 "indicators:\n  sensor_drop_ratio: {weight: 1, normalise: {kind: linear, best: 0, worst: 0.05}}\n"
                 "  unknown_sids: {weight: 3, normalise: {kind: linear, best: 0, worst: 4}}\n"
                 "  mtta_hours: {weight: 4, normalise: {kind: linear, best: 0, worst: 10}}\n", encoding="utf-8")
    doc = ev.evaluation_build(db_session, world["principal"], "2024-Q1", weights_path=str(w), now=NOW)
    s = doc["score"]
    rows = {r["indicator"]: r for r in s["rows"]}
    assert rows["sensor_drop_ratio"]["normalised"] == 50.0  # 0.025 halfway between 0 and 0.05
    assert rows["unknown_sids"]["normalised"] == 75.0  # 1 of 4
    assert rows["mtta_hours"]["normalised"] == round(100 - 5 / 3 / 10 * 100, 2)
    expected = round((50 * 1 + 75 * 3 + rows["mtta_hours"]["normalised"] * 4) / 8, 2)
    assert s["score"] == expected and s["band"]["name"] == "good" and s["coverage"] == 1.0
    assert sum(r["contribution"] for r in s["rows"]) == pytest.approx(expected, abs=0.01)


def test_band_withheld_when_too_little_weight_has_data(db_session, tmp_path):
    w = fx.build(db_session, tmp_path, with_response=False)
    doc = ev.evaluation_build(db_session, w["principal"], "2024-Q1", now=NOW)
    assert doc["score"]["coverage"] < 0.5
    assert doc["score"]["band"] is None and "no band" in doc["score"]["band_withheld"]


def test_controls_name_their_deciding_evidence(db_session, world):
    doc = ev.evaluation_build(db_session, world["principal"], "2024-Q1", retention_days=90, now=NOW)
    c = {x["id"]: x for x in doc["controls"]["controls"]}
    # retention 90 days < 180 and quarantine ratio 1/11 > 0.001: both checks fail
    assert c["MLPS3-SMC-CENTRAL"]["status"] == "not_met"
    assert any("log_retention_days = 90 fails >= 180" in d for d in c["MLPS3-SMC-CENTRAL"]["deciding"])
    # alarm delivered for 1 of 2 serious incidents; alerts carry every field
    assert c["MLPS3-ABD-IP-ALARM"]["status"] == "partly_met"
    assert c["MLPS3-ABD-IP-ALARM"]["deciding"] == ["critical_alarm_delivery_ratio = 0.5 fails >= 1"]
    assert c["MLPS3-ABD-AUDIT-PROTECT"]["status"] == "not_assessed"  # no verification keys given
    assert c["GV.OV-01"]["status"] == "not_met"  # no evaluation of 2023-Q4 on record
    prof = {p["function"]: p for p in doc["controls"]["profile"]}
    assert prof["GV"]["target"] == 100 and prof["GV"]["current"] == 0.0
    doc2 = ev.evaluation_build(db_session, world["principal"], "2024-Q1", retention_days=365, verifiers=[], now=NOW)
    c2 = {x["id"]: x for x in doc2["controls"]["controls"]}
    assert c2["MLPS3-ABD-AUDIT-PROTECT"]["status"] == "met"  # the Merkle audit log verifies
    assert c2["MLPS3-SMC-CENTRAL"]["status"] == "partly_met"


class _Parse(HTMLParser):
    def __init__(self):
        super().__init__()
        self.svgs, self.figures, self.tables, self.svg_text, self._in = 0, [], 0, [], 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "svg":
            self.svgs += 1
        if tag == "figure":
            self.figures.append(a.get("aria-label", ""))
        if tag == "table" and "chart-data" in (a.get("class") or ""):
            self.tables += 1
        if tag == "text":
            self._in += 1

    def handle_endtag(self, tag):
        if tag == "text":
            self._in -= 1

    def handle_data(self, data):
        if self._in:
            self.svg_text.append(data)


def test_report_html_svg_pdf_json_stored_and_audited(db_session, world):
    pypdf = pytest.importorskip("pypdf")
    p = world["principal"]
    report, info = ev.evaluation_run(db_session, p, "2024-Q1", pdf=True, retention_days=365, now=NOW)
    assert info["created"]
    parsed = _Parse()
    parsed.feed(report.html)
    assert parsed.svgs >= 4 and len(parsed.figures) == parsed.svgs
    assert all(f.startswith("图表") for f in parsed.figures)  # alt text on every chart
    assert parsed.tables >= parsed.svgs - 1  # a data table beside each chart (the profile's follows it)
    svg_text = " ".join(parsed.svg_text)
    assert "告警数（按严重程度）" in svg_text  # Chinese labels are real text in the SVG
    assert "无数据" in report.html and "网络安全评估报告" in report.html
    text = "".join(pg.extract_text() for pg in pypdf.PdfReader(io.BytesIO(report.pdf)).pages)
    assert "网络安全评估报告" in text and "2024-Q1" in text
    assert re.search(r"MLPS3-SMC-CENTRAL", text)
    doc = orjson.loads(report.document)
    assert doc["format"] == "citygov-secmon-evaluation/1" and doc["period"]["label"] == "2024-Q1"
    check = ev.evaluation_verify(db_session, p, report.id, report.pdf)
    assert check["ok"] and check["file"]["matches"] and check["stored"]["html"]["recorded"]
    assert not ev.evaluation_verify(db_session, p, report.id, report.pdf + b"x")["ok"]
    # same data, same period: the same report (same digest), nothing new stored
    again, info2 = ev.evaluation_run(db_session, p, "2024-Q1", retention_days=365, now=NOW)
    assert again.id == report.id and not info2["created"]
    en, _ = ev.evaluation_run(db_session, p, "2024-Q1", retention_days=365, now=NOW, lang="en")
    assert en.id != report.id and "Security evaluation report" in en.html


def test_compare_two_periods(db_session, world):
    p = world["principal"]
    q4_doc = ev.evaluation_build(db_session, p, "2024-Q1", retention_days=365, now=NOW)
    # a second quarter with one alert: fewer gaps and no unknown sid
    r, info = ev.evaluation_run(db_session, p, "2024-Q2", compare="2024-Q1", retention_days=365, now=NOW)
    cmp_ = info["document"]["compare"]
    assert cmp_["previous_period"] == "2024-Q1" and cmp_["current_period"] == "2024-Q2"
    better = {b["indicator"] for b in cmp_["better"]}
    assert "ingestion_gaps" in better  # 2 gaps -> 0
    assert "ingestion_gaps" in {i["key"] for i in q4_doc["indicators"]}
    assert "与往期对比" in r.html


def test_bad_input_gives_clear_messages(db_session, world, tmp_path):
    p = world["principal"]
    with pytest.raises(ValidationFailed, match="unknown period '2024-Q5'"):
        ev.evaluation_build(db_session, p, "2024-Q5", now=NOW)
    with pytest.raises(ValidationFailed, match="unknown period"):
        ev.evaluation_build(db_session, p, "", now=NOW)
    with pytest.raises(ValidationFailed, match="period 2019-Q1 is empty"):
        ev.evaluation_build(db_session, p, "2019-Q1", now=NOW)
    with pytest.raises(ValidationFailed, match="has not started"):
        ev.evaluation_build(db_session, p, "2030-Q1", now=NOW)
    with pytest.raises(ValidationFailed, match="SZ-EMPTY.*has no assets"):
        ev.evaluation_build(db_session, p, "2024-Q1", department="SZ-EMPTY", now=NOW)
    with pytest.raises(NotFound, match="no department"):
        ev.evaluation_build(db_session, p, "2024-Q1", department="NOPE", now=NOW)
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nbands: [{name: a, min: 50}]\nindicators: {typo_indicator: {weight: 1, "
                   "normalise: {kind: linear, best: 0, worst: 1}}}\n", encoding="utf-8")
    with pytest.raises(ValidationFailed, match="weights file .* is invalid") as exc:
        ev.evaluation_build(db_session, p, "2024-Q1", weights_path=str(bad), now=NOW)
    fields = {e["field"] for e in exc.value.errors}
    assert "indicators/typo_indicator" in fields and "bands" in fields
    bad.write_text("{ not yaml", encoding="utf-8")
    with pytest.raises(ValidationFailed, match="not YAML"):
        ev.evaluation_build(db_session, p, "2024-Q1", weights_path=str(bad), now=NOW)
    with pytest.raises(ValidationFailed, match="cannot compare with 2019-Q1"):
        ev.evaluation_run(db_session, p, "2024-Q1", compare="2019-Q1", now=NOW)


def test_missing_cjk_font_is_a_clear_error(db_session, world, monkeypatch):
    from secmon.evaluation import charts

    monkeypatch.setenv("CITYGOV_CJK_FONT", "No Such Font 123")
    charts.cjk_font.cache_clear()
    try:
        with pytest.raises(charts.RenderingUnavailable, match="font 'No Such Font 123' is not installed"):
            ev.evaluation_run(db_session, world["principal"], "2024-Q1", now=NOW)
    finally:
        monkeypatch.delenv("CITYGOV_CJK_FONT")
        charts.cjk_font.cache_clear()
    from secmon.evaluation.models import SecmonEvaluationReport
    assert _count(db_session, SecmonEvaluationReport) == 0  # nothing half-written


def test_permissions(db_session, world, auth):
    from kernel import NotAuthorized

    vendor = auth.principal(auth.user("vendor"))
    with pytest.raises(NotAuthorized):
        ev.evaluation_run(db_session, vendor, "2024-Q1", now=NOW)
    reviewer = auth.principal(auth.user("commission_reviewer"))
    ev.evaluation_build(db_session, reviewer, "2024-Q1", now=NOW)  # reviewers read
    with pytest.raises(NotAuthorized):
        ev.evaluation_run(db_session, reviewer, "2024-Q1", now=NOW)


def test_scheduled_reports_run_once_and_are_idempotent(db_session, world):
    from secmon.evaluation import jobs
    from secmon.evaluation.models import SecmonEvaluationReport

    p = system_principal("scheduler")
    when = datetime(2024, 4, 1, 3, 10, tzinfo=UTC)  # the quarterly job's first run after 2024-Q1
    first = jobs.periodic_reports(db_session, p, "quarter", holder="host-a:1", now=when, retention_days=365)
    keys = {r["key"]: r for r in first}
    assert set(keys) == {"evaluation:2024-Q1:city", "evaluation:2024-Q1:department:SZ-EVAL"}
    assert all(r.get("report_id") for r in first)
    # a second scheduler process at the same time: every unit is already claimed/done -> skipped
    second = jobs.periodic_reports(db_session, p, "quarter", holder="host-b:2", now=when, retention_days=365)
    assert all(r["outcome"].startswith("skipped") for r in second)
    assert _count(db_session, SecmonEvaluationReport) == 2
    # a forced re-run of the same period on the same data gives the same digest (nothing new stored)
    r, info = ev.evaluation_run(db_session, p, "2024-Q1", retention_days=365, now=when, pdf=True)
    assert not info["created"] and r.digest == keys["evaluation:2024-Q1:city"]["digest"]
    # an empty month is recorded as done with the reason, not as a failure
    out = jobs.periodic_reports(db_session, p, "month", holder="host-a:1", now=datetime(2024, 3, 1, tzinfo=UTC))
    assert out[0]["outcome"].startswith("no report: period 2024-02 is empty")


def test_claims_are_exclusive_and_expire(db_session):
    from secmon.evaluation import jobs

    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    assert jobs.job_claim(db_session, "k", "a", ttl=timedelta(minutes=5), now=t0)
    assert not jobs.job_claim(db_session, "k", "b", now=t0 + timedelta(minutes=1))
    assert jobs.job_claim(db_session, "k", "b", now=t0 + timedelta(minutes=6))  # a crashed: b takes over
    jobs.job_finish(db_session, "k", "b", ok=True, outcome="done")
    assert not jobs.job_claim(db_session, "k", "c", now=t0 + timedelta(days=1))  # done stays done


def test_retention_never_below_legal_minimum_without_audited_override(db_session, world, auth):
    from kernel import NotAuthorized
    from secmon.evaluation import jobs

    p = system_principal("ops")
    with pytest.raises(ValidationFailed, match="below the legal minimum of 180 days"):
        jobs.retention_prune(db_session, p, days=30)
    analyst = auth.principal(auth.user("security_analyst"))
    with pytest.raises(NotAuthorized):
        jobs.retention_prune(db_session, analyst, days=30, override_reason="disk full")
    res = jobs.retention_prune(db_session, p, days=200)
    assert res["override"] is False and res["events_deleted"] == 10  # the 2024 events are older than 200 days
    res = jobs.retention_prune(db_session, p, days=30, override_reason="court order 2026-17: purge")
    assert res["override"] is True and res["events_deleted"] == 0
    from audit.models import AuditEvent
    ov = db_session.exec(select(AuditEvent).where(AuditEvent.action == "secmon:retention:override")).all()
    assert len(ov) == 1 and ov[0].details["reason"] == "court order 2026-17: purge"


def test_stale_sensor_alert_once_per_silence_with_signed_webhook(db_session, world):
    import hmac
    import threading
    from hashlib import sha256
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from audit.models import AuditEvent
    from secmon import notify
    from secmon.evaluation import jobs

    received, status = [], [500]

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.headers[notify.SIGNATURE_HEADER], body))
            self.send_response(status[0])
            self.end_headers()

        def log_message(self, *args):
            pass

    http = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    try:
        hook = notify.Webhook(f"http://127.0.0.1:{http.server_port}/hook", "s3cret")
        p = system_principal("scheduler")
        later = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=3)
        first = jobs.stale_sensors(db_session, p, minutes=60, now=later, webhooks=[hook], timeout=5)
        assert [s["sensor"] for s in first] == ["eval-s1"] and first[0]["new_alert"]
        assert first[0]["delivery"].startswith("failed")  # the receiver answered 500: retried next run
        status[0] = 204
        again = jobs.stale_sensors(db_session, p, minutes=60, now=later + timedelta(minutes=15), webhooks=[hook])
        assert not again[0]["new_alert"] and again[0]["delivery"].startswith("delivered")
        third = jobs.stale_sensors(db_session, p, minutes=60, now=later + timedelta(minutes=30), webhooks=[hook])
        assert third[0]["delivery"] == "already delivered or being delivered"
        assert len(received) == 2
        sig, body = received[-1]
        assert sig == "sha256=" + hmac.new(b"s3cret", body, sha256).hexdigest()
        assert orjson.loads(body)["sensor"] == "eval-s1"
    finally:
        http.shutdown()
        http.server_close()
    stale_events = db_session.exec(select(AuditEvent).where(AuditEvent.action == "secmon:sensor:stale")).all()
    assert len(stale_events) == 1  # one audited alert per silence
    assert jobs.stale_sensors(db_session, system_principal("s"), minutes=60 * 24, now=later) == []


def test_chart_labels_are_literal_and_escaped():
    from secmon.evaluation.charts import svg_chart

    svg = svg_chart({"kind": "barh", "labels": ["cost $5 $x$", "<script>alert(1)</script>", "规则"],
                     "values": [1, 2, 3]}, "标题 $ <b>")
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "规则" in svg and "$5" in svg  # a dollar sign is text, not mathtext


def test_unknown_sids_need_a_rule_set(db_session, tmp_path):
    from secmon import services

    eve = tmp_path / "eve.json"
    eve.write_text("\n".join(fx.EVE_LINES) + "\n", encoding="utf-8")
    services.eve_ingest(db_session, system_principal("t"), [eve], sensor="no-rules")
    doc = ev.evaluation_build(db_session, system_principal("t"), "2024-Q1", now=NOW)
    i = _inds(doc)
    assert i["unknown_sids"]["value"] is None and "no rule set has been imported" in i["unknown_sids"]["reason"]
    assert i["ruleset_age_days"]["value"] is None and i["alerts_by_severity"]["value"] == 6


def test_stored_reports_are_immutable_in_the_database(db_session, world):
    from sqlalchemy import text as sql
    from sqlalchemy.exc import DBAPIError

    r, _ = ev.evaluation_run(db_session, world["principal"], "2024-Q1", now=NOW)
    for stmt in ("UPDATE secmon_evaluation_report SET html = 'forged' WHERE id = :i",
                 "UPDATE secmon_evaluation_report SET score = 100 WHERE id = :i",
                 "DELETE FROM secmon_evaluation_report WHERE id = :i"):
        with pytest.raises(DBAPIError, match="immutable"):
            with db_session.begin_nested():
                db_session.execute(sql(stmt), {"i": r.id})
    pdf = ev.evaluation_pdf(db_session, world["principal"], r.id)  # a PDF may be added once ...
    assert pdf.startswith(b"%PDF")
    with pytest.raises(DBAPIError, match="immutable"):  # ... and never replaced
        with db_session.begin_nested():
            db_session.execute(sql("UPDATE secmon_evaluation_report SET pdf = :p WHERE id = :i"),
                               {"p": b"%PDF forged", "i": r.id})


def test_gap_threshold_is_data_and_exact(db_session, world, tmp_path):
    w = tmp_path / "w.yaml"
    base = ("version: 1\nbands: [{name: any, min: 0}]\nindicators: {ingestion_gaps: {weight: 1, normalise: "
            "{kind: linear, best: 0, worst: 5}}}\n")
    for minutes, gaps in ((44, 2), (45, 1), (59, 1), (60, 0)):  # silences of exactly 45 and 60 minutes
        w.write_text(base + f"gap_minutes: {minutes}\n", encoding="utf-8")
        doc = ev.evaluation_build(db_session, world["principal"], "2024-Q1", weights_path=str(w), now=NOW)
        assert _inds(doc)["ingestion_gaps"]["value"] == gaps, minutes
    w.write_text(base + "gap_minutes: 0.5\n", encoding="utf-8")
    with pytest.raises(ValidationFailed, match="gap_minutes"):
        ev.evaluation_build(db_session, world["principal"], "2024-Q1", weights_path=str(w), now=NOW)


def test_periods_outside_the_supported_years_are_refused_not_crashed():
    """Schemathesis found `{"period": "0000"}` answered with a 500 (datetime year 0 built before the range
    check); every year outside 1990-2200 is a clear validation error."""
    import pytest

    from kernel.errors import ValidationFailed
    from secmon.evaluation.periods import parse_period

    for bad in ("0000", "0000-Q1", "9999-Q4", "9999-12", "1989", "2201-01"):
        with pytest.raises(ValidationFailed):
            parse_period(bad)
    assert parse_period(" 2024-q1 ").label == "2024-Q1"
    assert parse_period("2200-12").kind == "month"
