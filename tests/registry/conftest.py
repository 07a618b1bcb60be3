"""Registry test helpers: a valid proposal, organisations and principals made through the services."""

from __future__ import annotations

import copy
import itertools

import pytest

from tests.factories import make_org

_seq = itertools.count(1)

BASE = {
    "title": "全市公共视频共享平台建设项目",
    "summary": "整合全市公安、交通、城管的公共视频资源，建设统一的视频共享平台，提供视频调阅、智能分析和事件联动能力。",
    "organisation": "SZ-PSB",
    "district": "全市",
    "area": "public_safety",
    "construction_mode": "citywide_vertical",
    "budget": 12_000_000,
    "start_year": 2026,
    "end_year": 2027,
    "deployment": "government_cloud",
    "shared_platforms": ["统一身份认证平台"],
    "data_resources": ["视频点位目录", "视频事件库"],
    "data_aggregation": ["视频点位目录", "视频事件库"],
    "interfaces_provided": [{"name": "视频调阅接口"}],
    "interfaces_consumed": [{"name": "统一身份认证接口"}],
    "capability_tags": ["视频分析", "事件联动"],
    "mlps_level": 3,
    "security_plan": "按等保三级要求建设。",
    "attachments": ["feasibility_study", "budget_detail"],
    "contacts": [{"name": "张警官", "phone": "0755-0000"}],
}


def proposal(**overrides) -> dict:
    doc = copy.deepcopy(BASE)
    doc.update(overrides)
    return {k: v for k, v in doc.items() if v is not None}


def principal(role: str, org, name: str | None = None):
    """A principal as the portal would build it (the registry never looks users up), without the cost of
    hashing a password per user: registry services only read ``id``, ``org_id`` and ``roles``."""
    from kernel.ids import new_id
    from kernel.principal import Principal

    return Principal(kind="user", id=new_id(), name=name or f"{role}-{next(_seq)}", org_id=org.id,
                     org_kind=org.kind, roles=frozenset({role}))


@pytest.fixture
def world(db_session):
    """Two departments with a submitter each, a commission admin and reviewer, four experts (one from
    department A) and a vendor."""
    s = db_session
    n = next(_seq)
    a = make_org(s, f"DEP-A{n}", name=f"甲局{n}")
    b = make_org(s, f"DEP-B{n}", name=f"乙局{n}")
    c = make_org(s, f"COM{n}", kind="commission", name=f"委员会{n}")
    e = make_org(s, f"EXP{n}", kind="commission", name=f"专家库{n}")
    roles = {"sub_a": ("department_submitter", a), "sub_b": ("department_submitter", b),
             "admin": ("commission_admin", c), "reviewer": ("commission_reviewer", c), "exp1": ("expert", e),
             "exp2": ("expert", e), "exp3": ("expert", e), "exp_a": ("expert", a), "vendor": ("vendor", e)}

    class W:
        session = s
        org_a, org_b, org_c = a, b, c
        p = {k: principal(role, org, name=k) for k, (role, org) in roles.items()}

    return W


def expert_refs(world, *names):
    from registry.services import ExpertRef

    return [ExpertRef(id=world.p[n].id, name=world.p[n].name, org_id=world.p[n].org_id, roles=world.p[n].roles)
            for n in names]
