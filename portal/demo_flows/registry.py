"""Demo of the project library: load the city's existing library through the import with each project's real
state (approved, in construction, completed, evaluated, submitted — with dates and decision references; a few
in-flight drafts are submitted), run submit → pre-check → expert review → decision on one, show a duplicate caught,
and follow one approved project through targets, construction milestones, acceptance with evidence and its
evaluation."""

from __future__ import annotations

import random

from sqlmodel import func, select

ORDER = 20
SEED_COUNT = 240
EXPERTS = [("expert.li", "李专家"), ("expert.zhao", "赵专家"), ("expert.psb", "公安专家")]


def run(ctx) -> dict:
    from portal.accounts import services as accounts
    from portal.accounts.models import User
    from registry import generator
    from registry import services as reg
    from registry.models import Project

    s, system = ctx.session, ctx.system
    orgs = {code: accounts.org_get(s, code) for code in generator.ORGS}
    for username, display in EXPERTS:
        if s.exec(select(User).where(User.username == username)).first() is None:
            org = "SZ-PSB" if username == "expert.psb" else "SZ-ICT"
            password = ctx.instance.joinpath("demo-credentials.txt").read_text(encoding="utf-8").split()[-1]
            accounts.user_create(s, system, username=username, display_name=display, password=password, org=org,
                                 roles=["expert"])
    existing = s.exec(select(func.count()).select_from(Project)).one()
    rng = random.Random(20)
    docs = generator.library(SEED_COUNT, seed=2026)
    if existing < SEED_COUNT:  # idempotent: seed once per instance
        rows = [(i, with_state(d, i)) for i, d in enumerate(docs, start=1)]
        reg.project_import(s, system, rows, resolve_org=lambda ref: orgs[ref].id if ref in orgs else None, submit=True,
                           source={"filename": "demo-library (registry.generator, seed 2026)", "format": "generated"})

    # a department submits a near-duplicate of an existing project: caught on submit
    original = s.exec(select(Project).where(Project.title == docs[17]["title"])).first()
    dup, info = generator.near_duplicate(docs[17], rng, edit_rate=0.15, orgs=["SZ-HEALTH"])
    dup["organisation"] = "SZ-HEALTH"
    health = ctx.users["health.submitter"]
    project = reg.project_create(s, health, dup, org_id=health.org_id)
    reg.project_submit(s, health, project.id, reason="演示申报")
    # on a re-run the previous run's copy is the closest match: the original must still be among them
    top = next((m for m in project.matches or [] if original is not None and m["id"] == original.id), {})

    # the commission reviews a clean proposal end to end
    admin = ctx.users["admin"]
    candidate = s.exec(select(Project).where(Project.state == "prechecked", Project.org_id != orgs["SZ-PSB"].id)
                       .order_by(Project.created_at)).first()
    decided = None
    if candidate is not None:
        experts = []
        for username in ["expert.wang"] + [u for u, _ in EXPERTS]:
            user = accounts.user_get(s, username)
            p = accounts.principal_for_user(s, user)
            experts.append((reg.ExpertRef(id=user.id, name=username, org_id=user.org_id, roles=p.roles), p))
        result = reg.panel_form(s, admin, candidate.id, [e for e, _ in experts])
        excluded = {x["id"] for x in result["excluded"]}
        for i, (ref, principal) in enumerate(experts):
            if ref.id in excluded:
                continue
            scores = {c["code"]: float(min(10, 6 + (i + j) % 4)) for j, c in enumerate(reg.review_criteria()["criteria"])}
            reg.review_submit(s, principal, candidate.id, scores, comment="方案可行，注意与既有平台衔接。")
        summary = reg.panel_close(s, admin, candidate.id)["summary"]
        reg.project_decide(s, admin, candidate.id, "approved", reason=f"专家评审均分 {summary['aggregate']}，同意立项。")
        decided = {"id": candidate.id, "aggregate": summary["aggregate"], "spread": summary["spread"]}
    evaluated = evaluation_flow(ctx, admin)
    total = s.exec(select(func.count()).select_from(Project)).one()
    return {"evaluation": evaluated,"projects": total, "duplicate_caught": bool(top.get("likely_duplicate")),
            "duplicate_score": top.get("score"), "duplicate_of": top.get("title"), "approved": decided["id"] if decided else None,
            "panel_aggregate": decided["aggregate"] if decided else None}


#: the states the demo library is loaded with (every 10th row stays a draft and is submitted)
_STATES = ("approved", "in_construction", "completed", "evaluated", "approved", "submitted", "in_construction",
           "approved", "completed")


def with_state(doc: dict, i: int) -> dict:
    if i % 10 == 0:
        return doc
    state = _STATES[i % len(_STATES)]
    year = 2019 + i % 5
    steps = {"submitted": ["submitted_on"], "approved": ["approved_on"], "in_construction": ["approved_on", "started_on"],
             "completed": ["approved_on", "started_on", "completed_on"],
             "evaluated": ["approved_on", "started_on", "completed_on", "evaluated_on"]}[state]
    out = dict(doc, state=state)
    for j, field in enumerate(steps):
        out[field] = f"{year + j}-{3 + j:02d}-{10 + j}"
    if state != "submitted":
        out["decision_ref"] = f"深发改〔{year}〕{100 + i}号"
    return out


def evaluation_flow(ctx, admin) -> dict | None:
    """One approved project: targets → construction (milestones, spending) → acceptance with evidence →
    evaluation. Idempotent: done once per instance."""
    from kernel.clock import utcnow
    from registry import evaluation
    from registry import services as reg
    from registry.models import Evaluation, Project

    s = ctx.session
    done = s.exec(select(Evaluation).order_by(Evaluation.evaluated_at)).first()
    if done is not None:
        return {"project": done.project_id, "rating": done.rating, "score": done.score}
    project = s.exec(select(Project).where(Project.state == "approved", Project.decision_ref != "")
                     .order_by(Project.created_at)).first()
    if project is None:
        return None
    evaluation.targets_declare(s, admin, project.id, [
        {"indicator": "数据共享率", "unit": "%", "baseline": 35, "target": 90, "due": "2027-12-31"},
        {"indicator": "平均办理时长", "unit": "工作日", "baseline": 12, "target": 3, "due": "2027-12-31"},
        {"indicator": "年服务人次", "unit": "万人次", "baseline": 0, "target": 50, "due": "2027-12-31"},
    ])
    reg.project_transition(s, admin, project.id, "start_construction", reason="合同签订，进场施工（演示）")
    today = utcnow().date().isoformat()
    budget = project.budget or 1_000_000
    evaluation.milestone_record(s, admin, project.id, name="需求调研与方案设计完成", reached_on=today,
                                spent=round(budget * 0.3, 2))
    evaluation.milestone_record(s, admin, project.id, name="系统上线试运行", reached_on=today,
                                spent=round(budget * 0.62, 2))
    report = ("竣工验收报告（演示）\n项目：" + project.title + "\n结论：通过验收。\n").encode("utf-8")
    evaluation.project_accept(s, admin, project.id, actuals={"数据共享率": 92, "平均办理时长": 4, "年服务人次": 61},
                              evidence=[("竣工验收报告.txt", report, "text/plain; charset=utf-8"),
                                        ("第三方测试报告.txt", b"third-party test report: 0 critical defects\n", "text/plain")],
                              completed_on=today, reason="竣工验收通过（演示）")
    ev = evaluation.project_evaluate(s, admin, project.id, comment="后评价：总体达到预期（演示）")
    return {"project": project.id, "title": project.title, "rating": ev.rating, "score": ev.score}
