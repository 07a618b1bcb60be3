"""The database session type used by every service signature.

Services receive a ``Session`` (SQLModel's, an SQLAlchemy 2 ORM session) and never create engines.
"""

from __future__ import annotations

from sqlmodel import Session

__all__ = ["Session", "dialect_name"]


def dialect_name(session: Session) -> str:
    """``sqlite`` or ``postgresql``: for the few places where locking differs by back-end."""
    bind = session.get_bind()
    return bind.dialect.name
