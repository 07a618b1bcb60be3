"""Factories that create objects through the services, never by raw inserts."""

from __future__ import annotations

import itertools

from sqlmodel import Session, select

from kernel.principal import Principal, system_principal
from portal.accounts import services as accounts
from portal.accounts.models import Organisation, User

PASSWORD = "correct horse battery staple"
_seq = itertools.count(1)
SYSTEM = system_principal("tests")


def make_org(session: Session, code: str | None = None, kind: str = "department", **kw) -> Organisation:
    code = code or f"ORG-{next(_seq)}"
    existing = session.exec(select(Organisation).where(Organisation.code == code)).first()
    if existing:
        return existing
    return accounts.org_create(session, SYSTEM, code=code, name=kw.pop("name", f"机构 {code}"), kind=kind, **kw)


def make_user(session: Session, *roles: str, org: Organisation | str | None = None, username: str | None = None,
              password: str = PASSWORD) -> User:
    if org is None:
        org = make_org(session, kind="commission" if any(r.startswith("commission") for r in roles) else "department")
    elif isinstance(org, str):
        org = make_org(session, org)
    username = username or f"user{next(_seq)}"
    return accounts.user_create(session, SYSTEM, username=username, display_name=username.title(),
                                password=password, org=org.code, roles=list(roles))


def principal_of(session: Session, user: User) -> Principal:
    return accounts.principal_for_user(session, user)


class AuthActions:
    """``auth.headers(user)`` gives bearer headers for a user; ``auth.login(client, ...)`` logs in the web."""

    def __init__(self, session: Session):
        self.session = session

    def user(self, *roles: str, **kw) -> User:
        return make_user(self.session, *roles, **kw)

    def token(self, user: User, scopes: list[str] | None = None) -> str:
        _token, secret = accounts.token_create(self.session, principal_of(self.session, user), user=user,
                                               name="test", scopes=scopes)
        return secret

    def headers(self, user: User, scopes: list[str] | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user, scopes)}"}

    def principal(self, user: User) -> Principal:
        return principal_of(self.session, user)

    def login(self, client, username: str, password: str = PASSWORD):
        page = client.get("/login")
        return client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": csrf_token(page)})


def csrf_token(response) -> str:
    import re

    match = re.search(r'name="csrf_token" value="([^"]+)"', response.get_data(as_text=True))
    assert match, "page has no CSRF token"
    return match.group(1)
