"""Demo of the project library: seed a few hundred proposals across departments and districts (some of them
near-duplicates), run submit → pre-check → expert review → decision on one, and show a duplicate caught."""

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
        rows = [(i, d) for i, d in enumerate(docs, start=1)]
        reg.project_import(s, system, rows, resolve_org=lambda ref: orgs[ref].id if ref in orgs else None, submit=True)

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
    total = s.exec(select(func.count()).select_from(Project)).one()
    return {"projects": total, "duplicate_caught": bool(top.get("likely_duplicate")),
            "duplicate_score": top.get("score"), "duplicate_of": top.get("title"), "approved": decided["id"] if decided else None,
            "panel_aggregate": decided["aggregate"] if decided else None}
