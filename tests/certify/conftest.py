"""Certification test helpers: the sample standard published through the standards services, a vendor
user and a commission reviewer made through the portal services."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from kernel.principal import Principal
from registry.certify import samples
from tests.factories import SYSTEM, make_org, make_user, principal_of


@dataclass
class World:
    vendor_user: object
    vendor: Principal
    reviewer_user: object
    reviewer: Principal
    standard_ref: str
    key_dir: object
    origin: str = "citygov.test/audit"


def publish_standard(session, version: str = "1.0.0", spec: dict | None = None) -> str:
    from standards import services as std

    std.publish(session, SYSTEM, samples.STANDARD_NAME, version,
                json.dumps(spec or samples.standard_spec(version)).encode(), kind="openapi", filename="uds.json")
    return f"{samples.STANDARD_NAME}@{version}"


@pytest.fixture
def world(db_session, tmp_path) -> World:
    vorg = make_org(db_session, "V-TEST", kind="vendor")
    corg = make_org(db_session, "C-TEST", kind="commission")
    vu = make_user(db_session, "vendor", org=vorg)
    ru = make_user(db_session, "commission_reviewer", org=corg)
    ref = publish_standard(db_session)
    return World(vu, principal_of(db_session, vu), ru, principal_of(db_session, ru), ref, tmp_path / "audit-keys")


def har_bytes(doc: dict) -> bytes:
    return json.dumps(doc).encode()
