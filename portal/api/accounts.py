"""Login, the calling principal, API tokens, users and organisations."""

from __future__ import annotations

from flask import Blueprint, current_app, request

from kernel.clock import isoformat
from kernel.errors import NotAuthenticated
from portal.accounts import services as accounts
from portal.accounts.models import ApiToken, Organisation, User
from portal.api import json_body, ok, public
from portal.auth import current_principal
from portal.db import get_session

bp = Blueprint("api_accounts", __name__)


def token_json(token: ApiToken, secret: str | None = None) -> dict:
    data = {"id": token.id, "name": token.name, "prefix": token.prefix, "scopes": token.scopes.split(),
            "created_at": isoformat(token.created_at), "expires_at": isoformat(token.expires_at),
            "last_used_at": isoformat(token.last_used_at) if token.last_used_at else None,
            "revoked": token.revoked_at is not None}
    if secret is not None:
        data["token"] = secret
    return data


def org_json(org: Organisation) -> dict:
    return {"id": org.id, "code": org.code, "name": org.name, "name_en": org.name_en, "kind": org.kind,
            "district": org.district}


def user_json(session, user: User) -> dict:
    return {"id": user.id, "username": user.username, "display_name": user.display_name, "email": user.email,
            "org_id": user.org_id, "active": user.active, "roles": accounts.user_roles(session, user)}


def _me_user(session) -> User:
    principal = current_principal()
    if principal.is_anonymous or principal.id is None:
        raise NotAuthenticated("log in first")
    return accounts.user_get(session, principal.id)


@bp.post("/auth/token")
@public
def login():
    body = json_body("LoginRequest")
    session = get_session()
    cfg = current_app.config
    user = accounts.authenticate(session, username=body["username"], password=body["password"],
                                 remote_addr=request.remote_addr or "",
                                 throttle=accounts.Throttle.from_config(cfg))
    principal = accounts.principal_for_user(session, user)
    token, secret = accounts.token_create(session, principal, user=user, name=body.get("token_name", "login"),
                                          days=body.get("days", 1))
    return ok(token_json(token, secret), 201)


@bp.get("/me")
def me():
    principal = current_principal()
    if principal.is_anonymous:
        raise NotAuthenticated("log in first")
    return ok({"kind": principal.kind, "id": principal.id, "name": principal.name, "org_id": principal.org_id,
               "org_kind": principal.org_kind, "roles": sorted(principal.roles),
               "scopes": sorted(principal.scopes) if principal.scopes is not None else None})


@bp.get("/tokens")
def list_tokens():
    session = get_session()
    user = _me_user(session)
    return ok({"items": [token_json(t) for t in accounts.token_list(session, current_principal(), user)]})


@bp.post("/tokens")
def create_token():
    session = get_session()
    principal = current_principal()
    user = _me_user(session)
    body = json_body("TokenRequest")
    token, secret = accounts.token_create(session, principal, user=user, name=body["name"],
                                          scopes=body.get("scopes"),
                                          days=body.get("days", int(current_app.config["TOKEN_DEFAULT_DAYS"])),
                                          max_days=int(current_app.config["TOKEN_MAX_DAYS"]))
    return ok(token_json(token, secret), 201)


@bp.delete("/tokens/<token_id>")
def revoke_token(token_id: str):
    token = accounts.token_revoke(get_session(), current_principal(), token_id)
    return ok(token_json(token))


@bp.get("/organisations")
def list_organisations():
    return ok({"items": [org_json(o) for o in accounts.org_list(get_session(), current_principal())]})


@bp.post("/organisations")
def create_organisation():
    principal = current_principal()
    body = json_body("OrganisationRequest")
    org = accounts.org_create(get_session(), principal, **body)
    return ok(org_json(org), 201)


@bp.get("/users")
def list_users():
    session = get_session()
    return ok({"items": [user_json(session, u) for u in accounts.user_list(session, current_principal())]})


@bp.post("/users")
def create_user():
    session = get_session()
    principal = current_principal()
    body = json_body("UserRequest")
    user = accounts.user_create(session, principal, **body)
    return ok(user_json(session, user), 201)
