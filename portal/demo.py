"""``citygov demo``: initialise an instance, seed a realistic city and run every module's main flow.

Everything is generated here (no network, no files outside the package). Running it again on the same
instance is safe: existing organisations and users are kept and the flows run again.
"""

from __future__ import annotations

import importlib
import pkgutil
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask
from sqlmodel import Session, select

from kernel.principal import Principal

ORGANISATIONS = [
    # code, name, english name, kind, district
    ("SZ-ICT", "市政务服务数据管理局（信息化委员会）", "City Informatization Commission", "commission", None),
    ("SZ-PSB", "市公安局", "Municipal Public Security Bureau", "department", None),
    ("SZ-HEALTH", "市卫生健康委员会", "Municipal Health Commission", "department", None),
    ("SZ-TRANS", "市交通运输局", "Municipal Transport Bureau", "department", None),
    ("SZ-PNR", "市规划和自然资源局", "Planning and Natural Resources Bureau", "department", None),
    ("SZ-FUTIAN", "福田区人民政府", "Futian District Government", "district", "福田区"),
    ("SZ-NANSHAN", "南山区人民政府", "Nanshan District Government", "district", "南山区"),
    ("V-PENGCHENG", "鹏城智慧科技有限公司", "Pengcheng Smart Technology Co., Ltd.", "vendor", None),
    ("V-HUAYUN", "华云数据服务有限公司", "Huayun Data Services Co., Ltd.", "vendor", None),
]

USERS = [
    # username, display name, org code, roles
    ("reviewer", "李审核", "SZ-ICT", ["commission_reviewer"]),
    ("expert.wang", "王专家", "SZ-ICT", ["expert"]),
    ("psb.submitter", "张警官", "SZ-PSB", ["department_submitter"]),
    ("health.submitter", "陈主任", "SZ-HEALTH", ["department_submitter"]),
    ("futian.submitter", "刘科长", "SZ-FUTIAN", ["department_submitter"]),
    ("vendor.pengcheng", "鹏城科技", "V-PENGCHENG", ["vendor"]),
    ("soc.analyst", "赵分析师", "SZ-ICT", ["security_analyst"]),
    ("data.steward", "孙数据", "SZ-ICT", ["data_steward"]),
    ("trans.steward", "周交通", "SZ-TRANS", ["data_steward"]),
    ("trans.approver", "吴审批", "SZ-TRANS", ["data_steward"]),
]


@dataclass
class DemoContext:
    app: Flask
    session: Session
    system: Principal
    instance: Path
    users: dict[str, Principal] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)


def run(instance: str, *, fmt: str = "text") -> dict[str, Any]:
    from portal.accounts import services as accounts
    from portal.accounts.models import Organisation, User
    from portal.cli import initialise
    from portal.cli._common import cli_session

    instance_path = Path(instance)
    cred_file = instance_path / "demo-credentials.txt"
    password = None
    if cred_file.exists():
        password = cred_file.read_text(encoding="utf-8").split()[-1]
    password = password or ("Demo-" + secrets.token_urlsafe(9))
    app, _generated = initialise(str(instance_path), admin_username="admin", admin_password=password,
                                 org_code="SZ-ICT", org_name=ORGANISATIONS[0][1])
    if not cred_file.exists():
        cred_file.write_text(f"admin / all demo users password: {password}\n", encoding="utf-8")
        cred_file.chmod(0o600)

    summary: dict[str, Any] = {"instance": str(instance_path), "database": app.config["DATABASE_URL"].split("?")[0],
                               "login": {"url": "http://127.0.0.1:8000/login  (after `citygov serve`)",
                                         "username": "admin", "password": password,
                                         "other_users": [u[0] for u in USERS]},
                               "flows": {}}
    with app.app_context(), cli_session("demo") as (session, system):
        for code, name, name_en, kind, district in ORGANISATIONS:
            if session.exec(select(Organisation).where(Organisation.code == code)).first() is None:
                accounts.org_create(session, system, code=code, name=name, name_en=name_en, kind=kind,
                                    district=district)
        for username, display, org, roles in USERS:
            if session.exec(select(User).where(User.username == username)).first() is None:
                accounts.user_create(session, system, username=username, display_name=display, password=password,
                                     org=org, roles=roles)
        ctx = DemoContext(app=app, session=session, system=system, instance=instance_path)
        for username in ["admin"] + [u[0] for u in USERS]:
            ctx.users[username] = accounts.principal_for_user(session, accounts.user_get(session, username))
        summary["organisations"] = len(accounts.org_list(session, system))
        summary["users"] = len(accounts.user_list(session, system))
        for name, module in _flows():
            summary["flows"][name] = module.run(ctx)
    return summary


def _flows():
    import portal.demo_flows as pkg

    modules = []
    for info in pkgutil.iter_modules([str(Path(pkg.__file__).parent)]):
        module = importlib.import_module(f"portal.demo_flows.{info.name}")
        modules.append((getattr(module, "ORDER", 100), info.name, module))
    return [(name, module) for _order, name, module in sorted(modules, key=lambda t: (t[0], t[1]))]


def render_text(summary: dict[str, Any]) -> str:
    lines = [
        "citygov demo finished.",
        f"  instance:      {summary['instance']}",
        f"  database:      {summary['database']}",
        f"  organisations: {summary['organisations']}   users: {summary['users']}",
    ]
    for name, result in summary["flows"].items():
        text = ", ".join(f"{k}={v}" for k, v in result.items()) if isinstance(result, dict) else str(result)
        lines.append(f"  {name + ':':<14} {text}")
    login = summary["login"]
    lines += [
        "",
        "Log in:",
        f"  citygov serve  (with CITYGOV_INSTANCE_PATH={summary['instance']}), then open {login['url'].split()[0]}",
        f"  user admin (commission admin), password {login['password']}",
        f"  other demo users, same password: {', '.join(login['other_users'])}",
    ]
    return "\n".join(lines)
