"""Report renderings from one document: HTML (Jinja2, inline SVG charts, alt text and a data table per chart),
PDF (WeasyPrint from the same HTML) and JSON. Labels in Chinese (default) or English."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from secmon.evaluation.charts import RenderingUnavailable, cjk_font, svg_chart

LANGS = ("zh", "en")
TEMPLATES = Path(__file__).resolve().parent / "templates"

LABELS: dict[str, dict[str, str]] = {
    "title": {"zh": "网络安全评估报告", "en": "Security evaluation report"},
    "city": {"zh": "全市", "en": "City-wide"},
    "summary": {"zh": "概要", "en": "Summary"},
    "score": {"zh": "得分", "en": "Score"},
    "band": {"zh": "等级", "en": "Band"},
    "coverage": {"zh": "评分覆盖（有数据的权重占比）", "en": "Score coverage (share of weight with data)"},
    "period": {"zh": "评估周期", "en": "Period"},
    "scope": {"zh": "评估范围", "en": "Scope"},
    "as_of": {"zh": "数据截至", "en": "Data as of"},
    "partial": {"zh": "周期尚未结束，数据不完整", "en": "the period is not over: partial data"},
    "digest": {"zh": "报告摘要值 (SHA-256，已记入审计日志)", "en": "Report digest (SHA-256, recorded in the audit log)"},
    "trend": {"zh": "趋势（往期得分）", "en": "Trend (previous periods)"},
    "how": {"zh": "得分计算方法", "en": "How the score was computed"},
    "indicator": {"zh": "指标", "en": "Indicator"},
    "value": {"zh": "数值", "en": "Value"},
    "normalised": {"zh": "归一化值", "en": "Normalised"},
    "weight": {"zh": "权重", "en": "Weight"},
    "contribution": {"zh": "贡献", "en": "Contribution"},
    "no_data": {"zh": "无数据", "en": "no data"},
    "indicators": {"zh": "指标详情", "en": "Indicators"},
    "controls": {"zh": "控制项核查（NIST CSF 2.0 / 等级保护 2.0 第三级）",
                 "en": "Control checklist (NIST CSF 2.0 / MLPS 2.0 level 3)"},
    "control": {"zh": "控制项", "en": "Control"},
    "status": {"zh": "结论", "en": "Status"},
    "evidence": {"zh": "判定依据", "en": "Deciding evidence"},
    "profile": {"zh": "现状与目标轮廓（按 CSF 职能）", "en": "Current vs target profile (by CSF function)"},
    "function": {"zh": "职能", "en": "Function"},
    "current": {"zh": "现状", "en": "Current"},
    "target": {"zh": "目标", "en": "Target"},
    "gap": {"zh": "差距", "en": "Gap"},
    "risks": {"zh": "主要风险与建议措施", "en": "Top risks and recommended actions"},
    "action": {"zh": "建议措施", "en": "Recommended action"},
    "appendix": {"zh": "附录：证据", "en": "Appendix: evidence"},
    "compare": {"zh": "与往期对比", "en": "Comparison with another period"},
    "better": {"zh": "改善", "en": "Better"},
    "worse": {"zh": "变差", "en": "Worse"},
    "previous": {"zh": "对比期", "en": "Previous"},
    "change": {"zh": "变化", "en": "Change"},
    "data_table": {"zh": "图表数据", "en": "Chart data"},
    "chart_alt": {"zh": "图表", "en": "Chart"},
    "label": {"zh": "类别", "en": "Label"},
    "unit": {"zh": "单位", "en": "Unit"},
    "sensors": {"zh": "传感器", "en": "Sensors"},
    "none": {"zh": "无", "en": "none"},
    "met": {"zh": "符合", "en": "met"},
    "partly_met": {"zh": "部分符合", "en": "partly met"},
    "not_met": {"zh": "不符合", "en": "not met"},
    "not_assessed": {"zh": "未评估", "en": "not assessed"},
    "family_detection_response": {"zh": "检测与处置", "en": "Detection and response"},
    "family_governance": {"zh": "治理", "en": "Governance"},
    "family_defense_health": {"zh": "防御与监测健康度", "en": "Defense and monitoring health"},
    "family_asset_hygiene": {"zh": "资产规范", "en": "Asset hygiene"},
}

INDICATOR_NAMES: dict[str, dict[str, str]] = {
    "alerts_by_severity": {"zh": "告警数（按严重程度）", "en": "Alerts by severity"},
    "high_alerts_per_day": {"zh": "日均高危告警", "en": "High-severity alerts per day"},
    "ruleset_age_days": {"zh": "规则集版本时长（天）", "en": "Rule-set age (days)"},
    "rule_coverage": {"zh": "规则覆盖率（命中的启用规则占比）", "en": "Rule coverage (enabled rules that fired)"},
    "categories_enabled": {"zh": "启用的规则类别数", "en": "Rule categories enabled"},
    "unknown_sids": {"zh": "未知规则号 (sid)", "en": "Unknown sids"},
    "sensor_drop_ratio": {"zh": "传感器丢包率（最差）", "en": "Sensor kernel drop ratio (worst)"},
    "decoder_errors": {"zh": "解码错误数", "en": "Decoder errors"},
    "flow_memcap_hits": {"zh": "流表内存上限触发次数", "en": "Flow memcap hits"},
    "ingestion_gaps": {"zh": "EVE 采集中断次数", "en": "EVE ingestion gaps"},
    "quarantine_ratio": {"zh": "隔离行占比", "en": "Quarantined lines ratio"},
    "incidents_by_severity": {"zh": "事件数（按严重程度）", "en": "Incidents by severity"},
    "mtta_hours": {"zh": "平均研判时长（小时）", "en": "Mean time to triage (hours)"},
    "mttr_hours": {"zh": "平均遏制时长（小时）", "en": "Mean time to contain (hours)"},
    "sla_breach_ratio": {"zh": "SLA 超时占比", "en": "SLA breach ratio"},
    "open_incidents_over_30d": {"zh": "超过 30 天未关闭事件", "en": "Incidents open over 30 days"},
    "false_positive_rate": {"zh": "误报率", "en": "False-positive rate"},
    "repeat_incident_assets": {"zh": "重复发生事件的资产数", "en": "Assets with repeat incidents"},
    "remediation_overdue_ratio": {"zh": "整改逾期占比", "en": "Remediation overdue ratio"},
    "remediation_verified": {"zh": "已验证整改任务", "en": "Remediation tasks verified"},
    "responses_approved": {"zh": "已批准处置（封禁/规则变更）", "en": "Responses approved (block list / rules)"},
    "approval_hours_median": {"zh": "提议到批准时长中位数（小时）", "en": "Proposal to approval, median (hours)"},
    "assets_incomplete_ratio": {"zh": "缺少责任人或等保级别的资产占比", "en": "Assets without owner or MLPS level"},
    "unmanaged_addresses": {"zh": "流量中出现的未登记地址", "en": "Unmanaged addresses seen in traffic"},
    "mlps3_without_project": {"zh": "三级及以上系统未关联项目或测评", "en": "MLPS >= 3 systems without project/evaluation"},
}


def label(key: str, lang: str) -> str:
    return LABELS.get(key, {}).get(lang, key)


def indicator_name(key: str, lang: str) -> str:
    return INDICATOR_NAMES.get(key, {}).get(lang, key)


def fmt(value: Any, lang: str = "zh") -> str:
    if value is None:
        return label("no_data", lang)
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1 else f"{value:,.2f}".rstrip("0").rstrip(".")
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


@cache
def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["fmt"] = fmt
    return env


def _charts(doc: dict, lang: str) -> dict[str, dict]:
    charts = {}
    for ind in doc["indicators"]:
        spec = ind.get("chart")
        if not spec or not spec.get("labels"):
            continue
        title = indicator_name(ind["key"], lang)
        rows = list(zip(spec["labels"], spec["values"]))
        alt = (f"{label('chart_alt', lang)}: {title}; " +
               "; ".join(f"{lab}: {fmt(v, lang)}" for lab, v in rows[:12]) + ("; …" if len(rows) > 12 else ""))
        charts[ind["key"]] = {"svg": svg_chart(spec, title), "alt": alt, "rows": rows}
    trend = [t for t in doc.get("trend", [])] + [{"period": doc["period"]["label"], "score": doc["score"]["score"]}]
    if any(t["score"] is not None for t in trend):
        spec = {"kind": "bar", "labels": [t["period"] for t in trend], "values": [t["score"] for t in trend],
                "ylabel": label("score", lang)}
        alt = f"{label('chart_alt', lang)}: {label('trend', lang)}; " + "; ".join(
            f"{t['period']}: {fmt(t['score'], lang)}" for t in trend)
        charts["_trend"] = {"svg": svg_chart(spec, label("trend", lang), height=2.4), "alt": alt,
                            "rows": [(t["period"], t["score"]) for t in trend]}
    prof = doc["controls"]["profile"]
    if prof:
        spec = {"kind": "grouped", "labels": [p["function"] for p in prof],
                "series": {label("current", lang): [p["current"] for p in prof],
                           label("target", lang): [p["target"] for p in prof]}}
        alt = f"{label('chart_alt', lang)}: {label('profile', lang)}; " + "; ".join(
            f"{p['function']}: {fmt(p['current'], lang)} / {fmt(p['target'], lang)}" for p in prof)
        charts["_profile"] = {"svg": svg_chart(spec, label("profile", lang), height=2.6), "alt": alt,
                              "rows": [(p["function"], f"{fmt(p['current'], lang)} / {fmt(p['target'], lang)}")
                                       for p in prof]}
    return charts


def render_html(doc: dict, *, lang: str = "zh", digest: str | None = None) -> str:
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}")
    cjk_font()  # a clear error before anything is drawn when no CJK font is installed
    families = ("detection_response", "governance", "defense_health", "asset_hygiene")
    by_family = {f: [i for i in doc["indicators"] if i["family"] == f] for f in families}
    return _env().get_template("report.html").render(
        doc=doc, lang=lang, L=lambda k: label(k, lang), N=lambda k: indicator_name(k, lang),
        F=lambda v: fmt(v, lang), charts=_charts(doc, lang), families=families, by_family=by_family,
        font=cjk_font(), digest=digest,
        evidence_json={k: json.dumps(v, ensure_ascii=False, indent=1, default=str)
                       for k, v in doc["evidence"].items()})


def render_pdf(html: str) -> bytes:
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as exc:  # OSError: pango/cairo libraries missing
        raise RenderingUnavailable(f"PDF rendering needs WeasyPrint and its system libraries (pango): {exc}") from None
    return HTML(string=html, base_url=str(TEMPLATES)).write_pdf()


def render_json(doc: dict) -> bytes:
    return json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True, default=str).encode("utf-8")
