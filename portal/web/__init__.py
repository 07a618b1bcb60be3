"""Server-rendered pages: a shared layout, login/logout, the account page with API tokens, the user
administration page, and the dashboard. Every form carries a CSRF token (Flask-WTF)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from sqlalchemy import func
from sqlmodel import select

from kernel.errors import CityGovError, NotAuthenticated, TooManyRequests
from portal.accounts import services as accounts
from portal.accounts.models import Organisation, User
from portal.auth import current_principal, login_required, login_session, logout_session
from portal.db import get_session

bp = Blueprint("web", __name__)


def _safe_next(target: str | None) -> str:
    if not target:
        return url_for("web.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("web.index")
    return target


@bp.get("/")
def index():
    session_db = get_session()
    stats = {
        "organisations": session_db.exec(select(func.count()).select_from(Organisation)).one(),
        "users": session_db.exec(select(func.count()).select_from(User)).one(),
    }
    from audit.proofs import current_size

    stats["audit_events"] = current_size(session_db)
    return render_template("web/index.html", stats=stats)


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        cfg = current_app.config
        try:
            user = accounts.authenticate(get_session(), username=request.form.get("username", ""),
                                         password=request.form.get("password", ""),
                                         remote_addr=request.remote_addr or "",
                                         throttle=accounts.Throttle.from_config(cfg))
        except TooManyRequests as exc:
            error = _("Too many failed logins. Try again later.")
            return render_template("web/login.html", error=error), 429, {
                "Retry-After": str(exc.extra.get("retry_after", cfg["LOGIN_WINDOW_SECONDS"]))}
        except NotAuthenticated:
            error = _("Wrong username or password.")
            return render_template("web/login.html", error=error), 401
        login_session(user)
        return redirect(_safe_next(request.args.get("next")))
    return render_template("web/login.html", error=error)


@bp.post("/logout")
def logout():
    logout_session()
    flash(_("You have logged out."))
    return redirect(url_for("web.index"))


@bp.get("/lang/<code>")
def set_language(code: str):
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
    return redirect(_safe_next(request.args.get("next")))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    db = get_session()
    principal = current_principal()
    user = accounts.user_get(db, principal.id)
    new_secret = None
    if request.method == "POST":
        action = request.form.get("action")
        try:
            if action == "create_token":
                scopes = [s for s in request.form.get("scopes", "*").split() if s] or ["*"]
                days = int(request.form.get("days") or current_app.config["TOKEN_DEFAULT_DAYS"])
                _token, new_secret = accounts.token_create(db, principal, user=user, name=request.form.get("name", ""),
                                                           scopes=scopes, days=days,
                                                           max_days=int(current_app.config["TOKEN_MAX_DAYS"]))
                flash(_("Token created. Copy it now: it will not be shown again."))
            elif action == "revoke_token":
                accounts.token_revoke(db, principal, request.form.get("token_id", ""))
                flash(_("Token revoked."))
        except ValueError:
            flash(_("Days must be a whole number."), "error")
        except CityGovError as exc:
            flash(_format_error(exc), "error")
    tokens = accounts.token_list(db, principal, user)
    return render_template("web/account.html", user=user, roles=accounts.user_roles(db, user), tokens=tokens,
                           new_secret=new_secret)


@bp.route("/admin/users", methods=["GET", "POST"])
@login_required
def admin_users():
    db = get_session()
    principal = current_principal()
    if request.method == "POST":
        try:
            accounts.user_create(db, principal, username=request.form.get("username", ""),
                                 display_name=request.form.get("display_name", ""),
                                 password=request.form.get("password", ""), org=request.form.get("org", ""),
                                 roles=request.form.getlist("roles"), email=request.form.get("email") or None)
            flash(_("User created."))
            return redirect(url_for("web.admin_users"))
        except CityGovError as exc:
            if exc.status in (401, 403):
                raise
            flash(_format_error(exc), "error")
    users = accounts.user_list(db, principal)
    orgs = {o.id: o for o in accounts.org_list(db, principal)}
    return render_template("web/admin_users.html", users=users, orgs=orgs,
                           roles_of={u.id: accounts.user_roles(db, u) for u in users},
                           role_names=accounts.ROLE_NAMES)


def _format_error(exc: CityGovError) -> str:
    parts = [exc.detail]
    parts += [f"{e.get('field') or e.get('pointer', '')}: {e.get('message')}" for e in exc.errors]
    return "; ".join(parts)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

    @app.context_processor
    def _inject_nav():
        from portal.web import labels, nav

        def nav_entries():
            try:
                principal = current_principal()
            except CityGovError:
                from kernel.principal import ANONYMOUS

                principal = ANONYMOUS
            return nav.entries_for(principal)

        def code_label(field: str, value) -> str:
            return labels.code_label(get_session(), field, value)

        def can(action: str, resource=None) -> bool:
            from kernel.permissions import is_allowed

            try:
                return is_allowed(current_principal(), action, resource)
            except CityGovError:
                return False

        return {"nav_entries": nav_entries, "code_label": code_label, "can": can}


def _core_nav() -> None:
    from portal.web.nav import N_, add

    add("web.index", N_("Start"), order=0)
    add("web.projects", N_("Project library"), "registry:project:list", order=20)
    add("web.audit_events", N_("Audit log"), "audit:event:browse", order=70)
    add("web.admin_users", N_("Users"), "portal:user:list", order=80)


def _load_page_modules() -> None:
    """Import every page module ``portal/web/<area>.py`` once, at import time, so their routes are on
    ``bp`` before any app registers it."""
    import importlib
    import pkgutil
    from pathlib import Path

    for info in pkgutil.iter_modules([str(Path(__file__).resolve().parent)]):
        importlib.import_module(f"portal.web.{info.name}")


_core_nav()
_load_page_modules()
