"""Audit test helpers: principals, a key directory, and throw-away databases for tests that must
really commit from several connections (parallel writers, atomicity)."""

from __future__ import annotations

import os
import re
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from kernel.principal import Principal, Role, system_principal

PG_ENV = "CITYGOV_TEST_DATABASE_URL"

SYSTEM = system_principal("tests:audit")
ADMIN = Principal(kind="user", id="admin-1", name="admin", roles=frozenset({Role.COMMISSION_ADMIN.value}))
REVIEWER = Principal(kind="user", id="rev-1", name="reviewer", roles=frozenset({Role.COMMISSION_REVIEWER.value}))


@pytest.fixture
def key_dir(tmp_path):
    return tmp_path / "audit-keys"


def _backends():
    return [
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql",
                     marks=pytest.mark.skipif(not os.environ.get(PG_ENV), reason=f"needs {PG_ENV}")),
    ]


@pytest.fixture(params=_backends())
def fresh_db_url(request, tmp_path):
    """A new, migrated database of its own (committed data does not leak into other tests)."""
    from portal import db as db_mod

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'audit-fresh.sqlite'}"
        db_mod.upgrade(url)
        yield url
        return
    base = make_url(os.environ[PG_ENV])
    worker = re.sub(r"\W", "", os.environ.get("PYTEST_XDIST_WORKER", "main"))
    name = f"{base.database}_audit_{worker}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        db_mod.upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
