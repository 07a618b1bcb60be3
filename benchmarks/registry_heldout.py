"""Held-out check of duplicate detection on a library NOT made by registry.generator.

The generator the detector is tuned on (registry.generator) builds proposals from one template set and makes its
English restatements word by word from its own dictionary. This library is built differently, by hand, here:
other subjects and sentence shapes, written as parallel Chinese/English sentence pairs (whole English sentences,
not word-by-word), other organisations, budgets and data resources. Its planted near-duplicates are of four
kinds: paraphrase (other synonyms), sentence reorder + clause drop, 8–20 % character edits, and the zh↔en
restatement of the issue (title in both languages, a third to half of the summary's sentences in English).

Everything goes through the product, as a new user would: ``citygov db upgrade``, ``citygov projects import``
with states (approved / in_construction / completed / evaluated / submitted), the near-duplicates imported as
submitted proposals, and one cold ``citygov projects similar --id DUP --format json`` process per planted
near-duplicate. Prints recall@5 and top-1 per kind.

    python benchmarks/registry_heldout.py                # 3,000 projects, 60 planted near-duplicates
    python benchmarks/registry_heldout.py --n 1000 --dups 40
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# (zh, en) subjects with their own data resources; none of these strings come from registry.generator
SUBJECTS = [
    ("校园安全", "campus safety", ["校园出入记录", "校园安防设备清单"]),
    ("食品安全追溯", "food safety traceability", ["食品生产企业名录", "食品抽检结果"]),
    ("危险化学品监管", "hazardous chemicals supervision", ["危化品企业名录", "危化品运输轨迹"]),
    ("住房保障", "housing support", ["保障房房源", "轮候家庭名册"]),
    ("公共法律服务", "public legal services", ["法律援助案件", "律师执业信息"]),
    ("劳动用工监测", "employment monitoring", ["用工备案信息", "欠薪投诉记录"]),
    ("垃圾分类", "waste sorting", ["垃圾收运车辆", "分类投放点位"]),
    ("燃气安全", "gas safety", ["燃气用户档案", "燃气管线巡检记录"]),
    ("文化场馆预约", "cultural venue booking", ["场馆开放时间", "预约记录"]),
    ("退役军人服务", "veterans services", ["退役军人档案", "优抚对象名册"]),
    ("慢病管理", "chronic disease management", ["慢病患者随访记录", "家庭医生签约信息"]),
    ("学位申请", "school place application", ["学位申请记录", "学区划分信息"]),
    ("建筑工地扬尘", "construction dust control", ["工地扬尘监测数据", "施工许可信息"]),
    ("电梯安全", "elevator safety", ["电梯维保记录", "电梯困人事件"]),
    ("海域使用监管", "sea area use supervision", ["用海项目清单", "海域巡查记录"]),
    ("公交运营", "bus operations", ["公交线路", "车辆到站数据"]),
    ("知识产权保护", "intellectual property protection", ["专利侵权案件", "商标注册信息"]),
    ("市场主体登记", "business registration", ["市场主体名录", "年报公示信息"]),
    ("不动产登记", "real estate registration", ["不动产权属信息", "抵押登记记录"]),
    ("人才住房", "talent housing", ["人才认定信息", "人才房配租记录"]),
]
ORGS = [("HO-EDU", "教育局"), ("HO-MARKET", "市场监管局"), ("HO-HOUSING", "住建局"), ("HO-JUSTICE", "司法局"),
        ("HO-HR", "人社局"), ("HO-ENV", "生态环境局"), ("HO-CULTURE", "文广旅体局"), ("HO-VETERANS", "退役军人事务局"),
        ("HO-HEALTHC", "卫健委"), ("HO-TRANSPORT", "交通运输局"), ("HO-OCEAN", "海洋渔业局"), ("HO-IP", "知识产权局")]
DISTRICTS = [("全市", "citywide"), ("福田区", "Futian District"), ("罗湖区", "Luohu District"), ("南山区", "Nanshan District"),
             ("宝安区", "Bao'an District"), ("龙岗区", "Longgang District"), ("光明区", "Guangming District")]
# parallel sentences: {s} subject, {n} number, {d} district, {r} data resource
PAIRS = [
    ("本项目面向{d}，建立{s}综合管理系统，归集{r}等数据{n}万条。",
     "This project sets up an integrated {s} management system for {d}, consolidating {n}0,000 records such as {r}."),
    ("通过手机端和窗口端双渠道受理{s}相关业务，平均办结时间压减至{n}个工作日。",
     "{S} requests are accepted both on mobile phones and at service counters, with the average completion time reduced to {n} working days."),
    ("依托市政务云资源部署，不新建机房，复用全市统一身份认证能力。",
     "The system is deployed on the municipal government cloud without new server rooms and reuses the citywide unified identity authentication."),
    ("对接市公共信用信息平台，实现{s}领域失信主体联合惩戒。",
     "It connects to the municipal public credit information platform to enable joint sanctions in {s}."),
    ("建立{s}风险分级模型，按高、中、低三级实施差异化监管。",
     "A risk grading model for {s} is established, with differentiated supervision at high, medium and low levels."),
    ("每季度向市政务数据管理部门汇交{r}，供各区各部门按需调用。",
     "Every quarter, {r} is delivered to the municipal data administration for on-demand use by districts and departments."),
    ("在{n}个试点单位布设智能终端，采集现场图像和环境参数。",
     "Smart terminals are installed at {n} pilot sites to collect on-site images and environmental parameters."),
    ("形成{s}一张图，为领导决策提供可视化支撑。",
     "A single map of {s} is produced to support decision-making with visualisation."),
    ("制定{s}数据元规范，统一编码规则和交换格式。",
     "Data element specifications for {s} are drafted, unifying coding rules and exchange formats."),
    ("开放{s}查询接口{n}个，向社会公众提供办事指南和进度查询。",
     "{n} {s} query APIs are opened, offering the public service guides and progress tracking."),
]
SYN = [("建立", "建成"), ("综合", "一体化"), ("受理", "办理"), ("部署", "上线"), ("对接", "联通"), ("实施", "开展"),
       ("形成", "绘制"), ("制定", "编制"), ("提供", "给予"), ("数据", "资料"), ("统一", "规范"), ("采集", "收集")]
NOISE = "的了和与及在对为将从把被让向于是有个中上下大小多少新旧高低前后内外左右东西南北"
STATES = [("approved", 0.35), ("in_construction", 0.3), ("completed", 0.15), ("evaluated", 0.1), ("submitted", 0.1)]


def make(rng: random.Random, i: int) -> dict:
    zh_s, en_s, resources = rng.choice(SUBJECTS)
    org_code, _org = rng.choice(ORGS)
    d_zh, d_en = rng.choice(DISTRICTS)
    chosen = rng.sample(range(len(PAIRS)), rng.randint(4, 6))
    r_zh = rng.choice(resources)
    zh_sent, en_sent = [], []
    for k in chosen:
        n = rng.randint(2, 90)
        zh_sent.append(PAIRS[k][0].format(s=zh_s, n=n, d=d_zh, r=r_zh))
        en_sent.append(PAIRS[k][1].format(s=en_s, S=en_s.capitalize(), n=n, d=d_en, r=f"the {en_s} records"))
    suffix = rng.choice(["信息系统", "综合平台", "监管平台", "服务平台", "管理系统"])
    suffix_en = {"信息系统": "information system", "综合平台": "integrated platform", "监管平台": "supervision platform",
                 "服务平台": "service platform", "管理系统": "management system"}[suffix]
    year = rng.randint(2019, 2025)
    state = rng.choices([s for s, _w in STATES], [w for _s, w in STATES])[0]
    doc = {
        "title": f"{'' if d_zh == '全市' else d_zh}{zh_s}{suffix}（{rng.choice(['一期', '二期', '扩容', '升级'])}）#{i}",
        "summary": "".join(zh_sent), "organisation": org_code, "district": d_zh,
        "area": rng.choice(["public_services", "city_governance", "public_safety", "smart_industry"]),
        "construction_mode": rng.choice(["citywide_vertical", "multi_department_led", "single_department_module"]),
        "budget": float(rng.randrange(50, 5000) * 10_000), "start_year": year, "end_year": year + rng.randint(0, 2),
        "deployment": "government_cloud", "data_resources": sorted(set(rng.sample(resources, rng.randint(1, 2)))),
        "data_aggregation": [r_zh], "interfaces_provided": [{"name": f"{zh_s}查询接口"}],
        "interfaces_consumed": [{"name": "统一身份认证接口"}], "capability_tags": [zh_s], "mlps_level": rng.choice([2, 3]),
        "security_plan": "按等保要求建设。", "attachments": ["feasibility_study", "budget_detail"],
        "shared_platforms": ["政务云"], "personal_data": False, "state": state,
        "_en": {"title": f"{d_en} {en_s} {suffix_en}", "sentences": en_sent},
    }
    doc["title"] = doc["title"].replace(f"#{i}", f"·{i}")
    dates = {"submitted": ("submitted_on",), "approved": ("approved_on",), "in_construction": ("approved_on", "started_on"),
             "completed": ("approved_on", "started_on", "completed_on"),
             "evaluated": ("approved_on", "started_on", "completed_on", "evaluated_on")}[state]
    for j, f in enumerate(dates):
        doc[f] = f"{min(year + j, 2025)}-{3 + j:02d}-15"
    if state != "submitted":
        doc["decision_ref"] = f"深发改〔{year}〕{rng.randint(1, 999)}号"
    return doc


def _edit(text: str, rate: float, rng: random.Random) -> str:
    chars = list(text)
    for _ in range(int(len(chars) * rate)):
        i = rng.randrange(len(chars))
        op = rng.random()
        if op < 0.5:
            chars[i] = rng.choice(NOISE)
        elif op < 0.75:
            del chars[i]
        else:
            chars.insert(i, rng.choice(NOISE))
    return "".join(chars)


def plant(doc: dict, kind: str, rng: random.Random) -> dict:
    sentences = [s + "。" for s in doc["summary"].split("。") if s]
    title = doc["title"]
    if kind == "paraphrase":
        summary = doc["summary"]
        for a, b in rng.sample(SYN, 6):
            summary, title = summary.replace(a, b), title.replace(a, b)
    elif kind == "reorder":
        rng.shuffle(sentences)
        if len(sentences) > 3:
            sentences.pop()
        summary = "".join(sentences)
    elif kind == "edit":
        summary = _edit(doc["summary"], rng.uniform(0.08, 0.2), rng)
        title = _edit(title, 0.05, rng)
    else:  # zh-en restatement: title in both languages, a third to half of the sentences in English
        en = doc["_en"]["sentences"]
        k = max(1, round(len(sentences) * rng.uniform(1 / 3, 1 / 2)))
        picked = set(rng.sample(range(len(sentences)), k))
        summary = " ".join(en[i] if i in picked else s for i, s in enumerate(sentences))
        title = f"{title} / {doc['_en']['title']}"
    dup = {k: v for k, v in doc.items() if not k.startswith("_") and not k.endswith("_on") and k != "decision_ref"}
    dup.update(title=title + "（新）", summary=summary, state="submitted", submitted_on="2026-01-15")
    if rng.random() < 0.5:
        dup["organisation"] = rng.choice([o for o, _n in ORGS if o != doc["organisation"]])
    return dup


def run(cmd: list[str], env: dict) -> tuple[dict, float]:
    t0 = time.perf_counter()
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:6])} failed ({r.returncode}):\n{r.stderr[-3000:]}\n{r.stdout[-3000:]}")
    return (json.loads(r.stdout) if r.stdout.strip().startswith("{") else {}), wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--dups", type=int, default=60)
    ap.add_argument("--seed", type=int, default=2027)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    docs = [make(rng, i) for i in range(args.n)]
    kinds = ["paraphrase", "reorder", "edit", "zh-en"]
    picks = rng.sample(range(args.n), args.dups)
    dups = [(i, kinds[j % len(kinds)], plant(docs[i], kinds[j % len(kinds)], rng)) for j, i in enumerate(picks)]
    with tempfile.TemporaryDirectory(prefix="citygov-heldout-") as tmp:
        tmp = Path(tmp)
        env = dict(os.environ, CITYGOV_INSTANCE_PATH=str(tmp / "inst"), CITYGOV_ENV="development",
                   CITYGOV_SECRET_KEY="heldout-" + "x" * 40, CITYGOV_DATABASE_URL=f"sqlite:///{tmp / 'db.sqlite'}",
                   PYTHONPATH=str(ROOT))
        cli = [sys.executable, "-c", "from portal.cli import main; main()"]
        run(cli + ["db", "upgrade"], env)
        lib = tmp / "library.ndjson"
        lib.write_text("\n".join(json.dumps({k: v for k, v in d.items() if not k.startswith("_")}, ensure_ascii=False)
                                 for d in docs), encoding="utf-8")
        out, import_s = run(cli + ["projects", "import", str(lib), "--create-organisations", "--format", "json"], env)
        ids = out["ids"]
        dfile = tmp / "dups.json"
        dfile.write_text(json.dumps([d for _i, _k, d in dups], ensure_ascii=False), encoding="utf-8")
        dout, _ = run(cli + ["projects", "import", str(dfile), "--create-organisations", "--format", "json"], env)
        per: dict[str, list[tuple[bool, bool]]] = {k: [] for k in kinds}
        strict: dict[str, list[bool]] = {k: [] for k in kinds}
        walls = []
        misses = []
        planted = set(dout["ids"])
        for (orig, kind, _d), dup_id in zip(dups, dout["ids"]):
            res, wall = run(cli + ["projects", "similar", "--id", dup_id, "--top", "100", "--format", "json"], env)
            walls.append(wall)
            everything = [m["id"] for m in res["items"]]
            strict[kind].append(ids[orig] in everything[:5])
            # each copy is submitted on its own: the other planted copies are not yet in the library
            got = [i for i in everything if i not in planted][:5]
            per[kind].append((ids[orig] in got, bool(got) and got[0] == ids[orig]))
            if ids[orig] not in got:
                misses.append((kind, docs[orig]["title"]))
    allr = [x for v in per.values() for x in v]
    counts = ", ".join(f"{s} {sum(d['state'] == s for d in docs)}" for s, _w in STATES)
    print(f"held-out library (benchmarks/registry_heldout.py, not registry.generator): {args.n:,} projects "
          f"({counts}), "
          f"{len(dups)} planted near-duplicates")
    print(f"  citygov projects import (with states, index + snapshot): {import_s:.1f} s; {len(ids):,} imported")
    for k, v in per.items():
        print(f"  {k:<11} recall@5 {sum(a for a, _b in v) / len(v):.3f}  top-1 {sum(b for _a, b in v) / len(v):.3f}  ({len(v)})")
    print(f"  all         recall@5 {sum(a for a, _b in allr) / len(allr):.3f}  top-1 {sum(b for _a, b in allr) / len(allr):.3f}")
    print("  (each copy ranked against the library without the other planted copies; with all of them present — copies "
          "of the same subject then match each other — recall@5 is " + ", ".join(
              f"{k} {sum(v) / len(v):.3f}" for k, v in strict.items()) + ")")
    print(f"  cold `citygov projects similar --id` per query: median {statistics.median(walls):.2f} s, "
          f"max {max(walls):.2f} s (process start included)")
    for kind, title in misses[:10]:
        print(f"  missed ({kind}): {title}")


if __name__ == "__main__":
    main()
