"""Demo flow of data opening.

1. A generated government table full of personal data is scanned, a policy is suggested from the scan
   and the table is desensitized with the instance's keys (the gate re-scans every output cell).
2. The catalog: the transport bureau's steward prepares datasets, the release gate refuses the raw
   citizen file first (naming column, rows and type), the desensitized file passes, a second steward
   approves and the datasets are published -- each step an audit entry with the file digests, the
   scan summary and the k reached. A dataset of conditional grade carries record-level data
   k-anonymous on its declared quasi-identifiers; a company applies for access to it and the owner
   approves with an expiry; the company collects its scoped key (written to demo-data/clinic-access-key.txt).
   A second application (a person's) waits in the transport bureau's inbox (/opendata/access/inbox) and
   a third was rejected with a reason, so both pages show each state. The company downloads the file with
   its key and a citizen downloads an open one: the stewards' download log (/opendata/usage-log) shows both.
"""

from __future__ import annotations

import csv
import random

from portal.demo import DemoContext

ORDER = 60

DATASETS = [
    # name, zh title, en title, theme, keywords, grade, quasi-identifiers
    ("sz-bus-stops", "公交站点", "Bus stops", "TRAN", ["公交", "站点", "bus"], "unconditional", []),
    ("sz-metro-ridership", "地铁客流（按区、月）", "Metro ridership by district and month", "TRAN", ["地铁", "客流", "metro"],
     "unconditional", []),
    ("sz-clinic-visits", "社区门诊就诊记录（已匿名）", "Community clinic visits (anonymised)", "HEAL", ["医疗", "门诊", "health"],
     "conditional", ["区", "年龄段", "性别"]),
    ("sz-citizen-services", "政务服务办件（已脱敏）", "Citizen service cases (desensitised)", "GOVE", ["政务服务", "办件"],
     "conditional", []),
]


def _write(path, rows):
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def _tables(folder, rnd):
    districts = ["福田区", "罗湖区", "南山区", "宝安区", "龙岗区", "龙华区"]
    stops = [["站点编号", "站点名称", "区", "经度", "纬度"]] + [
        [f"BS{i:05d}", f"{rnd.choice(['科技园', '市民中心', '深大', '车公庙', '华强北', '后海'])}{i}号站", rnd.choice(districts),
         f"{113.8 + rnd.random() * 0.5:.5f}", f"{22.45 + rnd.random() * 0.3:.5f}"] for i in range(400)]
    metro = [["区", "月份", "进站人次"]] + [[d, f"2026-{m:02d}", str(rnd.randint(200000, 900000))]
                                          for d in districts for m in range(1, 11)]
    visits = [["区", "年龄段", "性别", "科室", "费用区间"]] + [
        [rnd.choice(districts), rnd.choice(["0-17", "18-39", "40-59", "60+"]), rnd.choice(["男", "女"]),
         rnd.choice(["全科", "儿科", "口腔", "中医"]), rnd.choice(["<100", "100-500", ">500"])] for _ in range(3000)]
    return {"sz-bus-stops": _write(folder / "bus-stops.csv", stops),
            "sz-metro-ridership": _write(folder / "metro-ridership.csv", metro),
            "sz-clinic-visits": _write(folder / "clinic-visits.csv", visits)}


def run(ctx: DemoContext) -> dict:
    from sqlalchemy import func
    from sqlmodel import select

    from opendata.catalog import dataset_create, dataset_grade, distribution_add
    from opendata.desensitize import desensitize
    from opendata.generate import write_csv
    from opendata.models import Dataset, Distribution, Download
    from opendata.policy import suggest_policy
    from opendata.release import ReleaseRefused, dataset_approve, dataset_check, dataset_publish
    from opendata.scan import scan_table
    from opendata.tabular import open_table
    from portal.cli.opendata import _instance_keys
    from portal.web.opendata import storage_dir

    folder = ctx.instance / "demo-data"
    folder.mkdir(exist_ok=True)
    raw = folder / "citizens-raw.csv"
    write_csv(raw, rows=2000, seed=2026)
    report = scan_table(open_table(str(raw)), sample_rows=None)
    found = {c.name: c.detections[0]["entity"] for c in report.direct_identifiers() if c.detections}
    policy = suggest_policy(report)
    opened = folder / "citizens-open.csv"
    result = desensitize(open_table(str(raw)), policy, opened, keys=_instance_keys())

    s = ctx.session
    prep, appr = ctx.users["trans.steward"], ctx.users["trans.approver"]
    with ctx.app.app_context():
        store = storage_dir()
    files = _tables(folder, random.Random(2026))
    files["sz-citizen-services"] = opened
    published, refused_first = [], "-"
    for name, zh, en, theme, kw, grade, qi in DATASETS:
        ds = s.exec(select(Dataset).where(Dataset.name == name)).first()
        if ds is not None and ds.state == "published":
            published.append(name)
            continue
        if ds is None:
            ds = dataset_create(s, prep, {
                "name": name, "title_zh": zh, "title_en": en, "description_zh": f"{zh}。由市交通运输局数据专员维护。",
                "description_en": f"{en}. Maintained by the Municipal Transport Bureau's data steward.", "theme": theme,
                "keywords": kw, "licence": "CC-BY-4.0", "frequency": "MONTHLY", "contact_email": "opendata@sz.gov.cn",
                "temporal_start": "2026-01-01", "temporal_end": "2026-10-31", "spatial": "http://sws.geonames.org/1795565/",
                "quasi_identifiers": qi}, organisation="市交通运输局")
            dataset_grade(s, prep, name, grade, "按《深圳经济特区数据条例》分级：" + ("无个人信息" if grade == "unconditional"
                                                                             else "含个人信息，经去标识化/匿名化后有条件开放"))
        if name == "sz-citizen-services":
            # the raw file first: the gate refuses it, naming column, rows and type
            if not s.exec(select(Distribution).where(Distribution.dataset_id == ds.id)).first():
                distribution_add(s, prep, name, source=raw, filename="citizens.csv", fmt="CSV", storage=store)
                try:
                    dataset_check(s, prep, name, storage=store)
                except ReleaseRefused as exc:
                    first = [e for e in exc.errors if e.get("entity")][0]
                    refused_first = f"{first['column']}:{first['entity']}:rows {first['rows'][:3]}"
                for d in s.exec(select(Distribution).where(Distribution.dataset_id == ds.id)):
                    s.delete(d)
                s.commit()
            distribution_add(s, prep, name, source=opened, filename="citizen-services.csv", fmt="CSV", storage=store)
        elif not s.exec(select(Distribution).where(Distribution.dataset_id == ds.id)).first():
            distribution_add(s, prep, name, source=files[name], filename=files[name].name, fmt="CSV", storage=store)
        dataset_check(s, prep, name, storage=store)
        dataset_approve(s, appr, name, note="两人复核通过")
        dataset_publish(s, appr, name, storage=store)
        published.append(name)
    # a company analyst applies for the conditional clinic dataset; the owner approves for 90 days
    from datetime import timedelta

    from kernel.clock import utcnow
    from opendata.access import access_apply, access_decide, access_key_issue
    from opendata.models import AccessApplication

    clinic = s.exec(select(Dataset).where(Dataset.name == "sz-clinic-visits")).one()
    access = s.exec(select(AccessApplication).where(AccessApplication.dataset_id == clinic.id,
                                                    AccessApplication.state == "approved")).first()
    if access is None:
        applicant = ctx.users["vendor.pengcheng"]
        access = access_apply(s, applicant, "sz-clinic-visits", purpose="社区医疗资源配置研究（深圳市南山区）")
        access = access_decide(s, appr, access.id, approve=True, expires_at=utcnow() + timedelta(days=90),
                               note="用途明确，限研究使用")
        access, key = access_key_issue(s, applicant, access.id)  # the applicant collects it; the steward never sees it
        (folder / "clinic-access-key.txt").write_text(key + "\n", encoding="utf-8")
        (folder / "clinic-access-key.txt").chmod(0o600)
        # downloads are logged (the steward's /opendata/downloads): the applicant's, with the key, and a public one
        from kernel.principal import ANONYMOUS
        from opendata.access import download_authorize

        for ds_name, who, with_key in (("sz-clinic-visits", applicant, key), ("sz-metro-ridership", ANONYMOUS, None)):
            ds_row = s.exec(select(Dataset).where(Dataset.name == ds_name)).first()
            dist = s.exec(select(Distribution).where(Distribution.dataset_id == ds_row.id)).first() if ds_row else None
            if dist is not None and ds_row.state == "published":
                download_authorize(s, who, dist, key=with_key)
    if s.exec(select(AccessApplication).where(AccessApplication.dataset_id == clinic.id,
                                              AccessApplication.state.in_(("pending", "rejected")))).first() is None:
        person = ctx.users["futian.submitter"]
        rejected = access_apply(s, person, "sz-clinic-visits", purpose="想看看我家附近诊所的就诊人数")
        access_decide(s, appr, rejected.id, approve=False, note="用途不足以说明需要记录级数据，请使用公开的统计数据")
        access_apply(s, person, "sz-clinic-visits", purpose="福田区社区卫生服务中心布局评估（区政府委托课题）")
    return {"rows": result.rows, "direct_identifier_columns": len(found),
            "gate": "passed" if result.gate and result.gate["passed"] else "refused",
            "published_datasets": len(published), "refused_first": refused_first,
            "access_application": access.state, "access_key_file": str(folder / "clinic-access-key.txt"),
            "downloads_logged": s.exec(select(func.count()).select_from(Download)).one(),
            "catalog": "/api/3/action/package_search  /catalog.ttl"}
