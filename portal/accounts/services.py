"""Identity use cases. Each takes the session and the acting principal, checks its policy, validates,
changes state, records the audit event and commits — or changes nothing."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func
from sqlmodel import Session, select

import audit
from kernel.clock import as_utc, utcnow
from kernel.errors import Conflict, NotAuthenticated, NotFound, TooManyRequests, ValidationFailed
from kernel.permissions import authorize, is_allowed
from kernel.principal import OrgKind, Principal, Role
from portal.accounts.models import ApiToken, LoginAttempt, Membership, Organisation, User
from portal.accounts.passwords import hash_password, needs_rehash, password_problems, verify_password

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
ORG_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
SCOPE_RE = re.compile(r"^(\*|[a-z_*]+(:[a-z_*]+){0,2})$")
TOKEN_PREFIX = "cgv_"

ROLE_NAMES = [r.value for r in Role]
ORG_KINDS = [k.value for k in OrgKind]


# ---------------------------------------------------------------- organisations


def org_create(session: Session, principal: Principal, *, code: str, name: str, kind: str,
               name_en: str | None = None, district: str | None = None, commit: bool = True) -> Organisation:
    """``commit=False`` leaves the commit to the caller (an import creating organisations all-or-nothing)."""
    authorize(principal, "portal:organisation:create")
    errors = []
    if not ORG_CODE_RE.match(code or ""):
        errors.append({"field": "code", "message": "letters, digits, '.', '_' or '-', at most 64"})
    if not (name or "").strip():
        errors.append({"field": "name", "message": "required"})
    if kind not in ORG_KINDS:
        errors.append({"field": "kind", "message": f"one of {', '.join(ORG_KINDS)}"})
    if errors:
        raise ValidationFailed("organisation is invalid", errors=errors)
    if session.exec(select(Organisation).where(Organisation.code == code)).first():
        raise Conflict(f"organisation {code!r} exists")
    org = Organisation(code=code, name=name.strip(), kind=kind, name_en=name_en, district=district)
    session.add(org)
    session.flush()
    audit.record(session, principal, "portal:organisation:create", object_type="organisation",
                 object_id=org.id, state=_org_state(org))
    if commit:
        session.commit()
    return org


def org_get(session: Session, ref: str) -> Organisation:
    org = session.get(Organisation, ref) or session.exec(select(Organisation).where(Organisation.code == ref)).first()
    if org is None:
        raise NotFound(f"no organisation {ref!r}")
    return org


def org_list(session: Session, principal: Principal) -> list[Organisation]:
    authorize(principal, "portal:organisation:list")
    return list(session.exec(select(Organisation).order_by(Organisation.code)))


def _org_state(org: Organisation) -> dict:
    return {"id": org.id, "code": org.code, "name": org.name, "name_en": org.name_en, "kind": org.kind,
            "district": org.district}


# ---------------------------------------------------------------- users


def user_create(session: Session, principal: Principal, *, username: str, display_name: str, password: str,
                org: str, roles: list[str] | tuple[str, ...] = (), email: str | None = None) -> User:
    authorize(principal, "portal:user:create")
    errors = []
    username = (username or "").strip().lower()
    if not USERNAME_RE.match(username):
        errors.append({"field": "username", "message": "2-64 lower-case letters, digits, '.', '_' or '-'"})
    if not (display_name or "").strip():
        errors.append({"field": "display_name", "message": "required"})
    for problem in password_problems(password or "", username):
        errors.append({"field": "password", "message": problem})
    bad_roles = [r for r in roles if r not in ROLE_NAMES]
    if bad_roles:
        errors.append({"field": "roles", "message": f"unknown roles {bad_roles}; known: {ROLE_NAMES}"})
    if email is not None and "@" not in email:
        errors.append({"field": "email", "message": "not an e-mail address"})
    organisation = None
    try:
        organisation = org_get(session, org)
    except NotFound:
        errors.append({"field": "org", "message": f"no organisation {org!r}"})
    if errors:
        raise ValidationFailed("user is invalid", errors=errors)
    if session.exec(select(User).where(User.username == username)).first():
        raise Conflict(f"user {username!r} exists")
    user = User(username=username, display_name=display_name.strip(), password_hash=hash_password(password),
                org_id=organisation.id, email=email)
    session.add(user)
    session.flush()
    for role in sorted(set(roles)):
        session.add(Membership(user_id=user.id, role=role))
    session.flush()
    audit.record(session, principal, "portal:user:create", object_type="user", object_id=user.id,
                 state=_user_state(session, user), private_details={"email": email} if email else None)
    session.commit()
    return user


def user_get(session: Session, ref: str) -> User:
    user = session.get(User, ref) or session.exec(select(User).where(User.username == ref)).first()
    if user is None:
        raise NotFound(f"no user {ref!r}")
    return user


def user_list(session: Session, principal: Principal) -> list[User]:
    authorize(principal, "portal:user:list")
    return list(session.exec(select(User).order_by(User.username)))


def user_roles(session: Session, user: User) -> list[str]:
    return sorted(session.exec(select(Membership.role).where(Membership.user_id == user.id)))


def user_set_roles(session: Session, principal: Principal, user_ref: str, roles: list[str]) -> User:
    user = user_get(session, user_ref)
    authorize(principal, "portal:user:update", user)
    bad = [r for r in roles if r not in ROLE_NAMES]
    if bad:
        raise ValidationFailed("unknown roles", errors=[{"field": "roles", "message": f"unknown roles {bad}"}])
    for m in session.exec(select(Membership).where(Membership.user_id == user.id)):
        session.delete(m)
    session.flush()
    for role in sorted(set(roles)):
        session.add(Membership(user_id=user.id, role=role))
    session.flush()
    audit.record(session, principal, "portal:user:update", object_type="user", object_id=user.id,
                 state=_user_state(session, user), details={"roles": sorted(set(roles))})
    session.commit()
    return user


def user_set_active(session: Session, principal: Principal, user_ref: str, active: bool) -> User:
    user = user_get(session, user_ref)
    authorize(principal, "portal:user:update", user)
    user.active = active
    session.add(user)
    if not active:
        for token in session.exec(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))):
            token.revoked_at = utcnow()
            session.add(token)
    session.flush()
    audit.record(session, principal, "portal:user:activate" if active else "portal:user:deactivate",
                 object_type="user", object_id=user.id, state=_user_state(session, user))
    session.commit()
    return user


def _user_state(session: Session, user: User) -> dict:
    return {"id": user.id, "username": user.username, "display_name": user.display_name, "org_id": user.org_id,
            "active": user.active, "roles": user_roles(session, user)}


def token_scopes(text: str) -> frozenset[str] | None:
    """A token's stored scopes: None for ``*`` (the owner's roles in full), else the set of action patterns."""
    return None if text.strip() == "*" else frozenset(text.split())


def principal_for_user(session: Session, user: User, *, token: ApiToken | None = None) -> Principal:
    org = session.get(Organisation, user.org_id)
    return Principal(
        kind="token" if token else "user",
        id=user.id,
        name=user.username,
        org_id=user.org_id,
        org_kind=org.kind if org else None,
        roles=frozenset(user_roles(session, user)),
        scopes=None if token is None else token_scopes(token.scopes),
        token_id=token.id if token else None,
    )


# ---------------------------------------------------------------- login


@dataclass(frozen=True)
class Throttle:
    """Login throttling settings (``CITYGOV_LOGIN_*``).

    * per (user name, address) pair: ``max_failures`` free failures, then each further attempt waits
      ``backoff_seconds`` × 2^(failures − max_failures), at most ``window_seconds``; a success resets the pair.
      Failures against ``admin`` from one address never delay ``admin`` logging in from another address.
    * per address across user names (password spraying): ``address_max_failures`` failures within
      ``window_seconds`` block that address until they age out.
    """

    max_failures: int = 5
    window_seconds: int = 900
    backoff_seconds: int = 30
    address_max_failures: int = 20

    @classmethod
    def from_config(cls, cfg) -> "Throttle":
        return cls(max_failures=int(cfg["LOGIN_MAX_FAILURES"]), window_seconds=int(cfg["LOGIN_WINDOW_SECONDS"]),
                   backoff_seconds=int(cfg["LOGIN_BACKOFF_SECONDS"]),
                   address_max_failures=int(cfg["LOGIN_ADDRESS_MAX_FAILURES"]))


def _failures(session: Session, *conds) -> tuple[int, datetime | None, datetime | None]:
    count, last, first = session.exec(
        select(func.count(), func.max(LoginAttempt.at), func.min(LoginAttempt.at))
        .select_from(LoginAttempt).where(LoginAttempt.succeeded.is_(False), *conds)
    ).one()
    return int(count or 0), (as_utc(last) if last else None), (as_utc(first) if first else None)


def login_wait(session: Session, *, username: str, remote_addr: str, throttle: Throttle) -> int:
    """Seconds this (user name, address) must wait before trying again; 0 when it may try now."""
    now = utcnow()
    since = now - timedelta(seconds=throttle.window_seconds)
    n_addr, _last, first = _failures(session, LoginAttempt.remote_addr == remote_addr, LoginAttempt.at >= since)
    if remote_addr and n_addr >= throttle.address_max_failures and first is not None:
        return max(1, int((first + timedelta(seconds=throttle.window_seconds) - now).total_seconds()) + 1)
    last_ok = session.exec(
        select(func.max(LoginAttempt.at)).where(LoginAttempt.succeeded.is_(True), LoginAttempt.username == username,
                                                LoginAttempt.remote_addr == remote_addr)
    ).one()
    pair_since = max(since, as_utc(last_ok)) if last_ok else since
    n_pair, last, _first = _failures(session, LoginAttempt.username == username,
                                     LoginAttempt.remote_addr == remote_addr, LoginAttempt.at > pair_since)
    if n_pair < throttle.max_failures or last is None:
        return 0
    delay = min(throttle.window_seconds,
                throttle.backoff_seconds * 2 ** min(n_pair - throttle.max_failures, 30))
    remaining = (last + timedelta(seconds=delay) - now).total_seconds()
    return max(0, int(remaining) + (1 if remaining > int(remaining) else 0))


def authenticate(session: Session, *, username: str, password: str, remote_addr: str = "",
                 throttle: Throttle | None = None, max_failures: int | None = None,
                 window_seconds: int | None = None) -> User:
    """Check a password, throttled per (user name, address) pair with exponential backoff and per address
    across user names (see :class:`Throttle`).

    Raises TooManyRequests (with ``retry_after``) while the pair or the address must wait — the attempt is
    then neither checked nor recorded — and NotAuthenticated on a bad user name or password (the same
    message for both). Checked attempts are recorded and committed either way.
    """
    throttle = throttle or Throttle()
    if max_failures is not None or window_seconds is not None:
        throttle = replace(throttle, max_failures=throttle.max_failures if max_failures is None else max_failures,
                           window_seconds=throttle.window_seconds if window_seconds is None else window_seconds)
    username = (username or "").strip().lower()[:64]
    remote_addr = (remote_addr or "")[:64]
    wait = login_wait(session, username=username, remote_addr=remote_addr, throttle=throttle)
    if wait:
        raise TooManyRequests("too many failed logins; try again later", retry_after=wait)
    user = session.exec(select(User).where(User.username == username)).first()
    ok = verify_password(user.password_hash if user else None, password or "")
    ok = ok and user is not None and user.active
    session.add(LoginAttempt(username=username, remote_addr=remote_addr, succeeded=ok))
    if ok:
        user.last_login_at = utcnow()
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        session.add(user)
    session.commit()
    if not ok:
        raise NotAuthenticated("wrong username or password")
    return user


def password_change(session: Session, principal: Principal, user_ref: str, new_password: str) -> User:
    user = user_get(session, user_ref)
    if user.id != principal.id:
        authorize(principal, "portal:user:update", user)
    problems = password_problems(new_password, user.username)
    if problems:
        raise ValidationFailed("password too weak", errors=[{"field": "password", "message": p} for p in problems])
    user.password_hash = hash_password(new_password)
    session.add(user)
    from portal.accounts.websessions import close_all

    close_all(session, user.id)  # every browser session of the user ends (the one that changed it logs in again)
    session.flush()
    audit.record(session, principal, "portal:user:password", object_type="user", object_id=user.id,
                 state=_user_state(session, user))
    session.commit()
    return user


# ---------------------------------------------------------------- API tokens


def _hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def token_create(session: Session, principal: Principal, *, user: User, name: str, scopes: list[str] | None = None,
                 days: int = 90, max_days: int = 366) -> tuple[ApiToken, str]:
    """Create a token for ``user``; returns the row and the secret, which is never stored or shown again."""
    authorize(principal, "portal:token:create", user)
    errors = []
    if not (name or "").strip() or len(name) > 100:
        errors.append({"field": "name", "message": "1-100 characters"})
    scopes = list(scopes or ["*"])
    bad = [s for s in scopes if not SCOPE_RE.match(s)]
    if bad:
        errors.append({"field": "scopes", "message": f"invalid scope patterns {bad}"})
    if isinstance(days, float) and days.is_integer():
        days = int(days)  # JSON's 140.0 is the integer 140 (JSON Schema agrees)
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= max_days:
        errors.append({"field": "days", "message": f"between 1 and {max_days}"})
    if errors:
        raise ValidationFailed("token is invalid", errors=errors)
    prefix = secrets.token_hex(4)
    secret = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken(user_id=user.id, name=name.strip(), prefix=prefix, token_hash=_hash_token(secret),
                     scopes=" ".join(sorted(set(scopes))), expires_at=utcnow() + timedelta(days=days))
    session.add(token)
    session.flush()
    audit.record(session, principal, "portal:token:create", object_type="api_token", object_id=token.id,
                 state=token_state(token))
    session.commit()
    return token, secret


def token_list(session: Session, principal: Principal, user: User) -> list[ApiToken]:
    authorize(principal, "portal:token:list", user)
    return list(session.exec(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at)))


def token_revoke(session: Session, principal: Principal, token_id: str) -> ApiToken:
    token = session.get(ApiToken, token_id) if isinstance(token_id, str) else None
    if token is None or not is_allowed(principal, "portal:token:revoke", token):
        if token is not None and principal.is_anonymous:
            authorize(principal, "portal:token:revoke", token)  # 401: log in first
        raise NotFound(f"no token {token_id!r}")  # another user's token: not even its existence is confirmed
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.add(token)
        session.flush()
        audit.record(session, principal, "portal:token:revoke", object_type="api_token", object_id=token.id,
                     state=token_state(token))
        session.commit()
    return token


def token_state(token: ApiToken) -> dict:
    return {"id": token.id, "user_id": token.user_id, "name": token.name, "prefix": token.prefix,
            "scopes": token.scopes.split(), "expires_at": as_utc(token.expires_at).isoformat(),
            "revoked": token.revoked_at is not None}


#: a token, its owner, the owner's organisation and roles (a row per role) in one statement, built once: every
#: API request runs it, so it reads columns, not ORM objects
_TOKEN_PRINCIPAL = (
    select(ApiToken.id, ApiToken.scopes, ApiToken.expires_at, ApiToken.revoked_at, ApiToken.last_used_at,
           User.id, User.username, User.active, User.org_id, Organisation.kind, Membership.role)
    .join(User, User.id == ApiToken.user_id)
    .outerjoin(Organisation, Organisation.id == User.org_id)
    .outerjoin(Membership, Membership.user_id == User.id)
    .where(ApiToken.token_hash == bindparam("token_hash")))


def principal_for_token(session: Session, secret: str) -> Principal:
    """The principal a bearer secret stands for; NotAuthenticated if unknown, expired or revoked."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        raise NotAuthenticated("invalid token")
    rows = session.execute(_TOKEN_PRINCIPAL, {"token_hash": _hash_token(secret)}).all()
    if not rows:
        raise NotAuthenticated("invalid, expired or revoked token")
    token_id, scopes, expires_at, revoked_at, last_used_at, user_id, username, active, org_id, org_kind, _ = rows[0]
    if revoked_at is not None or as_utc(expires_at) <= utcnow():
        raise NotAuthenticated("invalid, expired or revoked token")
    if not active:
        raise NotAuthenticated("token owner is inactive")
    roles = frozenset(r[-1] for r in rows if r[-1] is not None)
    now = utcnow()
    if last_used_at is None or (now - as_utc(last_used_at)) > timedelta(minutes=5):
        # coarse, so that reads rarely write; skipped (tried again next time) if a read request cannot write
        from sqlalchemy import update

        from portal.db import stamp

        stamp(session, update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))
    return Principal(kind="token", id=user_id, name=username, org_id=org_id, org_kind=org_kind, roles=roles,
                     scopes=token_scopes(scopes), token_id=token_id)
