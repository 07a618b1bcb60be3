"""Who is calling: bearer tokens for the API, the signed session cookie (backed by a server-side session record,
:mod:`portal.accounts.websessions`) for the web pages."""

from __future__ import annotations

import functools
import hashlib

from flask import Flask, current_app, g, request, session

from kernel.errors import NotAuthenticated
from kernel.principal import ANONYMOUS, Principal
from portal.accounts import services as accounts
from portal.accounts import websessions
from portal.accounts.models import User
from portal.db import get_session


def current_principal() -> Principal:
    if "principal" not in g:
        g.principal = _load_principal()
    return g.principal


def _load_principal() -> Principal:
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise NotAuthenticated("use 'Authorization: Bearer <token>'")
        return accounts.principal_for_token(get_session(), value.strip())
    if request.path.startswith("/api/"):
        return ANONYMOUS  # the API never trusts the cookie: no CSRF surface there
    user_id = session.get("user_id")
    if not user_id:
        return ANONYMOUS
    db = get_session()
    user = db.get(User, user_id)
    if user is None or not user.active or session.get("pw") != _password_epoch(user) \
            or not websessions.session_valid(db, session.get("sid"), user.id):
        session.clear()  # logged out elsewhere (a copied cookie), expired, password changed or user disabled
        return ANONYMOUS
    return accounts.principal_for_user(db, user)


def login_session(user: User) -> None:
    session.clear()
    session["sid"] = websessions.open_session(get_session(), user,
                                              lifetime=current_app.permanent_session_lifetime)
    session["user_id"] = user.id
    session["pw"] = _password_epoch(user)  # a password change ends other sessions
    session.permanent = True


def _password_epoch(user: User) -> str:
    """A value that changes with the password, revealing nothing of its hash (the cookie is signed, not secret)."""
    return hashlib.sha256(("citygov-session:" + user.password_hash).encode()).hexdigest()[:16]


def logout_session() -> None:
    """Log out: the session's server-side record goes, so a copy of the cookie no longer signs anyone in."""
    websessions.close_session(get_session(), session.get("sid"))
    session.clear()


def login_required(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if current_principal().is_anonymous:
            raise NotAuthenticated("log in first")
        return view(*args, **kwargs)

    return wrapped


def init_app(app: Flask) -> None:
    @app.context_processor
    def _inject_principal():
        try:
            return {"principal": current_principal()}
        except NotAuthenticated:
            return {"principal": ANONYMOUS}
