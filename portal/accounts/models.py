from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from kernel.clock import utcnow
from kernel.ids import new_id


def _ts(**kw) -> Column:
    return Column(DateTime(timezone=True), **kw)


class Organisation(SQLModel, table=True):
    __tablename__ = "portal_organisation"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    code: str = Field(max_length=64, unique=True, index=True)
    name: str = Field(max_length=200)
    name_en: str | None = Field(default=None, max_length=200)
    kind: str = Field(max_length=32)  # kernel.principal.OrgKind
    district: str | None = Field(default=None, max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))


class User(SQLModel, table=True):
    __tablename__ = "portal_user"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    username: str = Field(max_length=64, unique=True, index=True)
    display_name: str = Field(max_length=200)
    email: str | None = Field(default=None, max_length=254)
    password_hash: str = Field(sa_column=Column(String(255), nullable=False))
    org_id: str = Field(foreign_key="portal_organisation.id", max_length=32, index=True)
    active: bool = Field(default=True)
    locale: str | None = Field(default=None, max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    last_login_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class Membership(SQLModel, table=True):
    """A role held by a user (roles are global; their reach is the user's organisation)."""

    __tablename__ = "portal_membership"
    __table_args__ = (UniqueConstraint("user_id", "role", name="uq_portal_membership_user_role"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    user_id: str = Field(foreign_key="portal_user.id", max_length=32, index=True)
    role: str = Field(max_length=32)


class ApiToken(SQLModel, table=True):
    """A bearer token: only its SHA-256 is stored; the secret is shown once at creation."""

    __tablename__ = "portal_api_token"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    user_id: str = Field(foreign_key="portal_user.id", max_length=32, index=True)
    name: str = Field(max_length=100)
    prefix: str = Field(max_length=16, index=True)
    token_hash: str = Field(max_length=64, unique=True)
    scopes: str = Field(default="*", max_length=1000)  # space-separated action patterns
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    expires_at: datetime = Field(sa_column=_ts(nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))
    last_used_at: datetime | None = Field(default=None, sa_column=_ts(nullable=True))


class LoginAttempt(SQLModel, table=True):
    """Failed logins per username and per client address, for throttling."""

    __tablename__ = "portal_login_attempt"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, index=True)
    remote_addr: str = Field(default="", max_length=64, index=True)
    at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False, index=True))
    succeeded: bool = Field(default=False)


class WebSession(SQLModel, table=True):
    """A browser session signed in: its cookie carries a random id, this row its SHA-256. Logging out deletes
    the row, so a copy of the cookie is worth nothing afterwards (the cookie is signed, not a credential
    on its own); a password change deletes all of the user's rows."""

    __tablename__ = "portal_web_session"

    id_hash: str = Field(primary_key=True, max_length=64)
    user_id: str = Field(foreign_key="portal_user.id", max_length=32, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_ts(nullable=False))
    expires_at: datetime = Field(sa_column=_ts(nullable=False))
