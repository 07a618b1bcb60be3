"""The commission's review work and the experts' pages: a proposal side by side with a similar project
(shared phrases highlighted, shared tags, data resources, interfaces; mark the pair), panel formation with
the conflict-of-interest exclusions shown, closing a panel; the experts' assigned panels and blind review
form with the weighted criteria; the pre-check rules (the commission adds and switches rules, as data)."""

from __future__ import annotations

import json
import re
from html import escape

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup
from sqlmodel import select

from kernel.errors import CityGovError, NotAuthorized, ValidationFailed
from kernel.permissions import authorize, is_allowed
from kernel.principal import Role
from portal.auth import current_principal, login_required
from portal.db import get_session
from portal.web import _format_error, bp, labels
from portal.web.nav import N_, add

add("web.my_reviews", N_("My panels"), "registry:project:list", order=24,
    visible=lambda p: p.has_role(Role.EXPERT))
# every signed-in user may read the pre-check rules (administrators also edit them on the same page)
add("web.rules", N_("Pre-check rules"), "registry:rule:list", anonymous=False, order=26)


def highlight(text: str, phrases: list[str]) -> Markup:
    """``text`` escaped, with every occurrence of the shared phrases wrapped in ``<mark>``."""
    phrases = sorted({p for p in phrases if p and p.strip()}, key=len, reverse=True)
    if not phrases or not text:
        return Markup(escape(text or ""))
    pattern = re.compile("|".join(re.escape(p) for p in phrases))
    out, last = [], 0
    for m in pattern.finditer(text):
        out.append(escape(text[last:m.start()]))
        out.append(f"<mark>{escape(m.group(0))}</mark>")
        last = m.end()
    out.append(escape(text[last:]))
    return Markup("".join(out))


def _bail(exc: CityGovError) -> None:
    if exc.status in (401, 403, 404):
        raise exc


@bp.get("/projects/<project_id>/compare/<other_id>")
@login_required
def project_compare(project_id: str, other_id: str):
    from registry import services as registry

    session = get_session()
    principal = current_principal()
    a = registry.project_get(session, principal, project_id)
    b = registry.project_get(session, principal, other_id)
    matches = registry.project_similar(session, principal, project_id=a.id, top=100, include_distinct=True)
    match = next((m for m in matches if m["id"] == b.id), None)
    if match is None:  # not among the ranked matches: explain the pair directly
        from registry import similarity as sim
        from registry.proposal import search_text

        why = sim.explain(search_text(a.data), sim.features_of(a.data, a.org_id, a.district),
                          search_text(b.data), sim.features_of(b.data, b.org_id, b.district))
        match = {"id": b.id, "score": None, "likely_duplicate": False, "marked": None, "why": why}
    phrases = match["why"].get("shared_phrases") or []
    sides = []
    for p in (a, b):
        d = p.data or {}
        sides.append({"p": p, "title": highlight(p.title, phrases), "summary": highlight(d.get("summary", ""), phrases),
                      "tags": d.get("capability_tags") or [], "data": d.get("data_resources") or [],
                      "interfaces": [i.get("name", "") + (f" ({i['standard']})" if i.get("standard") else "")
                                     for k in ("interfaces_provided", "interfaces_consumed")
                                     for i in d.get(k) or [] if isinstance(i, dict)]})
    return render_template("web/compare.html", a=a, b=b, sides=sides, match=match, why=match["why"],
                           can_mark=is_allowed(principal, "registry:pair:mark"))


@bp.route("/projects/<project_id>/panel", methods=["GET", "POST"])
@login_required
def project_panel(project_id: str):
    """Form the panel: the commission ticks experts; those of the submitting organisation are excluded
    (conflict of interest) and shown as such, before and after forming."""
    from portal.accounts import services as accounts
    from portal.accounts.models import Membership, User
    from portal.api.registry import expert_refs
    from registry import services as registry

    session = get_session()
    principal = current_principal()
    proj = registry.project_get(session, principal, project_id)
    authorize(principal, "registry:panel:form", registry.access(session, proj))
    experts = session.exec(select(User).join(Membership, Membership.user_id == User.id)
                           .where(Membership.role == "expert", User.active.is_(True))  # type: ignore[union-attr]
                           .order_by(User.username)).all()
    orgs = {o.id: o for o in accounts.org_list(session, principal)}
    errors, excluded = [], []
    chosen = request.form.getlist("experts")
    if request.method == "POST":
        try:
            result = registry.panel_form(session, principal, proj.id, expert_refs(session, chosen),
                                         reason=request.form.get("reason", ""))
            excl = ", ".join(x["name"] for x in result["excluded"])
            flash(_("Panel formed.") + (" " + _("Excluded for conflict of interest: %(names)s", names=excl) if excl else ""))
            return redirect(url_for("web.project_panel", project_id=proj.id))
        except ValidationFailed as exc:
            errors = exc.errors or [{"message": exc.detail}]
            excluded = exc.extra.get("excluded") or []
            errors.insert(0, {"message": exc.detail})
    reviews = registry.reviews_get(session, principal, proj.id)
    return render_template("web/panel.html", p=proj, experts=experts, orgs=orgs, chosen=chosen, errors=errors,
                           excluded=excluded, reviews=reviews,
                           can_close=is_allowed(principal, "registry:panel:close")), (422 if errors else 200)


@bp.post("/projects/<project_id>/panel/close")
@login_required
def project_panel_close(project_id: str):
    from registry import services as registry

    try:
        registry.panel_close(get_session(), current_principal(), project_id)
        flash(_("Panel closed; the reviews are now visible."))
    except CityGovError as exc:
        _bail(exc)
        flash(_format_error(exc), "error")
    return redirect(url_for("web.project_panel", project_id=project_id))


@bp.get("/reviews")
@login_required
def my_reviews():
    """An expert's assigned panels (only those) and own reviews."""
    from registry.models import Panel, PanelMember, Project, Review

    session = get_session()
    principal = current_principal()
    if not principal.has_role(Role.EXPERT):
        raise NotAuthorized("experts only")
    rows = session.exec(select(PanelMember, Panel, Project).join(Panel, Panel.id == PanelMember.panel_id)
                        .join(Project, Project.id == PanelMember.project_id)
                        .where(PanelMember.expert_id == principal.id)
                        .order_by(Panel.created_at.desc())).all()  # type: ignore[attr-defined]
    mine = {r.panel_id: r for r in session.exec(select(Review).where(Review.expert_id == principal.id))}
    items = [{"panel": panel, "project": proj, "review": mine.get(panel.id)} for _m, panel, proj in rows]
    return render_template("web/my_reviews.html", items=items)


@bp.route("/projects/<project_id>/review", methods=["GET", "POST"])
@login_required
def project_review(project_id: str):
    """The blind review form: one score per weighted criterion; other experts' scores stay hidden until the
    panel closes."""
    from registry import services as registry

    session = get_session()
    principal = current_principal()
    proj = registry.project_get(session, principal, project_id)
    state = registry.reviews_get(session, principal, proj.id)
    scale = registry.review_criteria()["scale"]
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        scores = {}
        for c in (state["panel"] or {}).get("criteria") or []:
            raw = request.form.get(f"score_{c['code']}", "").strip()
            try:
                scores[c["code"]] = float(raw)
            except ValueError:
                errors.setdefault(c["code"], []).append(_("Enter a number from %(min)s to %(max)s.", **scale))
        if not errors:
            try:
                registry.review_submit(session, principal, proj.id, scores, comment=request.form.get("comment", ""))
                flash(_("Review submitted."))
                return redirect(url_for("web.project_review", project_id=proj.id))
            except ValidationFailed as exc:
                for e in exc.errors:
                    errors.setdefault(str(e.get("field", "")).removeprefix("scores."), []).append(e["message"])
            except CityGovError as exc:
                _bail(exc)
                errors.setdefault("(form)", []).append(exc.detail)
    return render_template("web/review_form.html", p=proj, state=state, scale=scale, errors=errors,
                           values=request.form), (422 if errors else 200)


@bp.route("/rules", methods=["GET", "POST"])
@login_required
def rules():
    from registry import services as registry

    session = get_session()
    principal = current_principal()
    errors: list[dict] = []
    text = request.form.get("definition", "")
    if request.method == "POST":
        action = request.form.get("action")
        try:
            if action == "toggle":
                registry.rule_set_enabled(session, principal, request.form.get("code", ""),
                                          request.form.get("enabled") == "1")
                flash(_("Rule updated."))
                return redirect(url_for("web.rules"))
            try:
                import yaml

                definition = yaml.safe_load(text) if text.strip() else None
            except yaml.YAMLError as exc:
                raise ValidationFailed(f"not YAML or JSON: {exc}") from None
            if not isinstance(definition, dict):
                raise ValidationFailed("a rule is a mapping (code, severity, field, message, check …)")
            registry.rule_create(session, principal, definition)
            flash(_("Rule added."))
            return redirect(url_for("web.rules"))
        except CityGovError as exc:
            _bail(exc)
            errors = [{"message": exc.detail}] + list(exc.errors)
    items = registry.rule_list(session, principal)
    return render_template("web/rules.html", items=items, errors=errors, text=text,
                           can_edit=is_allowed(principal, "registry:rule:create"),
                           example=json.dumps({"code": "budget-cap", "severity": "warning", "field": "budget",
                                               "message": "预算超过 1 亿元需要专项论证",
                                               "check": {"field": "budget", "op": "lte", "value": 100000000}},
                                              ensure_ascii=False)), (422 if errors else 200)


__all__ = ["highlight", "labels"]
