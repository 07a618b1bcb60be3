"""A generator of realistic (synthetic) project libraries, with planted near-duplicates.

Used by the benchmark (``benchmarks/registry_similarity.py``), the tests and the demo. Proposals are built
from area-specific subjects, sentence templates with slots (places, objects, numbers, platforms) and
Chinese/English terms, so that any two generated proposals share vocabulary the way real ones do, while the
combination of sentences and slot values makes each one specific.

:func:`near_duplicate` makes the kind of copy duplicate construction produces: synonyms swapped
(paraphrase), sentences reordered, 10–30 % of the characters edited, some terms switched to English, tags and
data resources partly kept — and often submitted by another organisation.
"""

from __future__ import annotations

import random
from typing import Any

AREAS = {
    "public_safety": (["视频监控", "治安防控", "警情研判", "人口管理", "应急指挥", "消防预警"], ["视频分析", "人脸识别", "警情研判", "应急联动"]),
    "public_services": (["政务服务", "社保办理", "医疗健康", "教育服务", "养老服务", "电子证照"], ["一网通办", "电子证照", "统一预约", "移动办事"]),
    "city_governance": (["城市管理", "环境保护", "市容巡查", "河长制", "网格化治理", "违建治理"], ["网格管理", "事件分拨", "遥感监测", "巡查上报"]),
    "city_operations": (["城市运行", "交通运行", "能源调度", "水务调度", "地下管网", "智慧停车"], ["运行监测", "数字孪生", "GIS", "调度指挥"]),
    "city_big_data": (["数据共享", "数据治理", "人口库", "法人库", "空间地理库", "数据中台"], ["数据汇聚", "数据治理", "主数据", "数据服务"]),
    "sensing_system": (["物联感知", "环境监测", "桥梁监测", "井盖监测", "水质监测", "噪声监测"], ["物联网", "传感器", "边缘计算", "NB-IoT"]),
    "broadband_network": (["千兆光网", "5G基站", "政务外网", "无线城市", "骨干网络", "IPv6改造"], ["5G", "光网络", "IPv6", "网络切片"]),
    "smart_industry": (["产业服务", "企业画像", "招商引资", "工业互联网", "科技金融", "人才服务"], ["企业画像", "产业地图", "工业互联网", "精准招商"]),
    "network_security": (["安全运营", "态势感知", "密码应用", "数据安全", "漏洞管理", "安全审计"], ["态势感知", "威胁情报", "密码应用", "安全审计"]),
    "standards": (["标准体系", "数据标准", "接口规范", "编码规则", "元数据标准", "评估指标"], ["标准规范", "数据标准", "接口规范", "元数据"]),
}
MODES = ["citywide_vertical", "multi_department_led", "single_department_module"]
DEPLOYMENTS = ["government_cloud"] * 8 + ["exception_dedicated", "exception_classified"]
DISTRICTS = ["全市", "福田区", "罗湖区", "南山区", "盐田区", "宝安区", "龙岗区", "龙华区", "坪山区", "光明区", "大鹏新区"]
PLACES = ["社区", "街道", "学校", "医院", "地铁站", "口岸", "园区", "河道", "公园", "商圈", "工业区", "城中村", "交通枢纽",
          "体育场馆", "养老院", "图书馆", "菜市场", "建筑工地", "水库", "隧道", "高架桥", "海滨", "机场", "港区"]
OBJECTS = ["摄像头", "传感器", "业务系统", "数据目录", "办事事项", "预警模型", "知识图谱", "指挥大屏", "移动终端", "算法模型",
           "电子档案", "服务窗口", "巡查终端", "信用记录", "审批流程", "地图服务", "统计报表", "工单系统", "门户网站", "小程序"]
PLATFORMS = ["统一身份认证平台", "城市大数据中心", "视频共享平台", "政务云", "电子证照库", "统一地址库", "时空信息平台",
             "政务服务中台", "统一消息平台", "区块链基础平台"]
ORGS = ["SZ-PSB", "SZ-HEALTH", "SZ-TRANS", "SZ-PNR", "SZ-FUTIAN", "SZ-NANSHAN"]
TEMPLATES = [
    "建设{s}平台，整合全市{n}个{p}的{o}，实现统一接入和集中管理。",
    "围绕{s}业务需求，新建{o}{n}套，覆盖{p}和{p2}等重点场所。",
    "依托{pf}，打通{s}相关部门之间的数据壁垒，推动{o}共享复用。",
    "利用人工智能和大数据技术，对{p}的{o}进行实时分析，提升{s}的预警能力。",
    "按照统一标准改造{n}个{o}，实现{s}业务的线上办理和全程留痕。",
    "构建{s}专题数据库，汇聚{p}、{p2}等{n}类数据，形成{o}。",
    "完善{s}指挥调度体系，在{p}部署{o}，缩短处置时间{n}%。",
    "开展{s}试点，在{district}{n}个{p}先行先试，形成可复制推广的经验。",
    "优化{s}流程，压缩办理时限{n}%，减少群众跑动次数。",
    "接入{pf}，复用已有{o}，避免重复投资和重复建设。",
    "建立{s}评价指标体系，按月发布{o}运行报告。",
    "对{p}的{o}进行升级改造，提升{s}的覆盖率至{n}%。",
    "打造{s}移动应用，为市民提供{o}查询、预约和反馈服务。",
    "推进{s}与{s2}的业务协同，实现跨部门{o}互认。",
    "部署边缘计算节点{n}个，就近处理{p}产生的{o}数据。",
    "制定{s}数据标准和接口规范，支撑全市{o}互联互通。",
    "The project builds a {se} platform covering {n} sites and integrates existing {oe} across departments.",
    "Data produced by the {se} system will be aggregated to the city big data centre in real time.",
    "A unified {oe} service is provided through open APIs to district governments and partner agencies.",
    "Machine learning models analyse {oe} from {n} locations to support {se} decisions.",
]
EN = {"视频监控": "video surveillance", "治安防控": "public order", "政务服务": "government services",
      "医疗健康": "healthcare", "城市管理": "urban management", "环境保护": "environmental protection",
      "交通运行": "traffic operations", "数据共享": "data sharing", "物联感知": "IoT sensing",
      "千兆光网": "gigabit fibre", "产业服务": "industry services", "安全运营": "security operations",
      "标准体系": "standards system", "应急指挥": "emergency command", "数据治理": "data governance"}
OBJ_EN = {"摄像头": "cameras", "传感器": "sensors", "业务系统": "business systems", "数据目录": "data catalogues",
          "预警模型": "early-warning models", "算法模型": "algorithms", "工单系统": "work orders", "地图服务": "map services"}
SYNONYMS = [("建设", "搭建"), ("平台", "系统"), ("实现", "达成"), ("提升", "提高"), ("整合", "融合"), ("数据", "信息"),
            ("统一", "一体化"), ("全市", "全域"), ("能力", "水平"), ("部署", "布设"), ("改造", "升级"), ("推进", "推动"),
            ("构建", "打造"), ("覆盖", "涵盖"), ("汇聚", "归集"), ("重点", "关键"), ("市民", "群众"), ("实时", "即时")]
TERMS_EN = [("视频", "video "), ("平台", " platform "), ("数据", " data "), ("人工智能", " AI "), ("物联网", " IoT "),
            ("大数据", " big data "), ("接口", " API "), ("系统", " system "), ("传感器", " sensors ")]
NOISE = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选标写存候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁价严"


def _fill(template: str, rng: random.Random, subject: str, subject2: str, district: str) -> str:
    return template.format(
        s=subject, s2=subject2, n=rng.randint(3, 300), p=rng.choice(PLACES), p2=rng.choice(PLACES),
        o=rng.choice(OBJECTS), pf=rng.choice(PLATFORMS), district=district if district != "全市" else "",
        se=EN.get(subject, "smart city"), oe=OBJ_EN.get(rng.choice(OBJECTS), "city services"))


def make_proposal(rng: random.Random, *, orgs: list[str] | None = None, index: int = 0) -> dict[str, Any]:
    area = rng.choice(list(AREAS))
    subjects, tags = AREAS[area]
    subject = rng.choice(subjects)
    subject2 = rng.choice([s for a in AREAS.values() for s in a[0]])
    district = rng.choice(DISTRICTS)
    sentences = [_fill(t, rng, subject, subject2, district) for t in rng.sample(TEMPLATES, rng.randint(4, 6))]
    obj = rng.choice(OBJECTS)
    place = rng.choice(PLACES)
    kind = rng.choice(["平台", "系统", "工程", "中心", "应用"])
    prefix = "" if district == "全市" else district
    title = f"{prefix}{subject}{place}{obj}{kind}建设项目" if rng.random() < 0.8 else \
        f"{prefix}{subject}{kind}（{rng.choice(['一期', '二期', '升级改造', '扩容'])}）"
    start = rng.randint(2024, 2028)
    resources = sorted({f"{subject}{rng.choice(['台账', '目录', '事件库', '主题库', '档案', '指标库'])}",
                        f"{place}{obj}信息"} | ({f"{rng.choice(PLACES)}基础信息"} if rng.random() < 0.5 else set()))
    personal = area in ("public_safety", "public_services") and rng.random() < 0.7
    deployment = rng.choice(DEPLOYMENTS)
    budget = round(rng.choice([rng.uniform(3e5, 5e6), rng.uniform(5e6, 5e7), rng.uniform(5e7, 3e8)]), -3)
    doc = {
        "title": title,
        "summary": "".join(sentences),
        "organisation": rng.choice(orgs or ORGS),
        "district": district,
        "area": area,
        "construction_mode": rng.choice(MODES),
        "budget": budget,
        "start_year": start,
        "end_year": start + rng.randint(0, 2),
        "deployment": deployment,
        "shared_platforms": rng.sample(PLATFORMS, rng.randint(0, 3)),
        "data_resources": resources,
        "data_aggregation": resources if rng.random() < 0.85 else resources[:1],
        "personal_data": personal,
        "interfaces_provided": [{"name": f"{subject}{rng.choice(['查询', '推送', '订阅', '统计'])}接口"}],
        "interfaces_consumed": [{"name": rng.choice(["统一身份认证接口", "电子证照核验接口", "人口信息核验接口", "地址匹配接口"])}],
        "capability_tags": sorted(set(rng.sample(tags, rng.randint(1, 3)))),
        "mlps_level": 3 if personal or rng.random() < 0.4 else 2,
        "attachments": ["feasibility_study", "budget_detail"] if rng.random() < 0.8 else ["budget_detail"],
        "contacts": [{"name": rng.choice(["张伟", "王芳", "李娜", "刘洋", "陈静", "杨帆"]), "phone": f"0755-{rng.randint(20000000, 29999999)}"}],
    }
    if deployment != "government_cloud" and rng.random() < 0.7:
        doc["deployment_justification"] = "涉及专网设备接入，需在专有机房部署。"
    if doc["mlps_level"] >= 3:
        doc["security_plan"] = "按照网络安全等级保护三级要求建设安全防护体系。"
    return doc


def _edit_chars(text: str, rate: float, rng: random.Random) -> str:
    chars = list(text)
    n = int(len(chars) * rate)
    for _ in range(n):
        if not chars:
            break
        i = rng.randrange(len(chars))
        op = rng.random()
        if op < 0.4:
            chars[i] = rng.choice(NOISE)
        elif op < 0.7:
            del chars[i]
        else:
            chars.insert(i, rng.choice(NOISE))
    return "".join(chars)


def near_duplicate(doc: dict[str, Any], rng: random.Random, *, edit_rate: float | None = None,
                   orgs: list[str] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """A planted near-duplicate of ``doc`` and a description of what was done to it."""
    edit_rate = rng.uniform(0.10, 0.30) if edit_rate is None else edit_rate
    ops = []
    title, summary = doc["title"], doc["summary"]
    if rng.random() < 0.7:  # paraphrase: synonyms
        for a, b in rng.sample(SYNONYMS, 8):
            title, summary = title.replace(a, b), summary.replace(a, b)
        ops.append("paraphrase")
    sentences = [s for s in summary.replace("。", "。\n").replace(". ", ".\n").split("\n") if s.strip()]
    if len(sentences) > 1 and rng.random() < 0.7:  # reorder sentences
        rng.shuffle(sentences)
        ops.append("reorder")
    summary = "".join(sentences)
    if rng.random() < 0.4:  # mixed Chinese/English
        for a, b in rng.sample(TERMS_EN, 3):
            summary = summary.replace(a, b, 2)
        ops.append("english-terms")
    summary = _edit_chars(summary, edit_rate, rng)
    title = _edit_chars(title, edit_rate / 2, rng)
    ops.append(f"edit-{edit_rate:.2f}")
    dup = dict(doc, title=title, summary=summary)
    tags = list(doc["capability_tags"])
    if len(tags) > 1 and rng.random() < 0.5:
        tags.pop(rng.randrange(len(tags)))
    dup["capability_tags"] = tags
    resources = list(doc["data_resources"])
    if len(resources) > 1 and rng.random() < 0.5:
        resources.pop(rng.randrange(len(resources)))
    dup["data_resources"] = resources
    dup["data_aggregation"] = resources
    if rng.random() < 0.6:
        dup["organisation"] = rng.choice([o for o in (orgs or ORGS) if o != doc["organisation"]] or [doc["organisation"]])
        ops.append("other-organisation")
    return dup, {"ops": ops, "edit_rate": round(edit_rate, 3)}


def library(n: int, seed: int = 7, *, orgs: list[str] | None = None) -> list[dict[str, Any]]:
    return list(iter_library(n, seed, orgs=orgs))


def iter_library(n: int, seed: int = 7, *, orgs: list[str] | None = None):
    rng = random.Random(seed)
    for i in range(n):
        yield make_proposal(rng, orgs=orgs, index=i)


# ------------------------------------------------------------------------------- mixed-language restatements

#: the generator's own word list for restating sentences in English (greedy longest match, word by word)
ZH_EN = {
    **{k: v for k, v in EN.items()}, **{k: v for k, v in OBJ_EN.items()},
    "建设": "build", "搭建": "build", "平台": "platform", "系统": "system", "整合": "integrate", "全市": "citywide",
    "实现": "achieve", "统一": "unified", "接入": "access", "集中": "centralised", "管理": "management",
    "围绕": "around", "业务": "business", "需求": "needs", "新建": "new", "覆盖": "covering", "重点": "key",
    "场所": "sites", "依托": "relying on", "打通": "connect", "相关部门": "relevant departments", "部门": "departments",
    "数据": "data", "壁垒": "barriers", "推动": "promote", "共享": "sharing", "复用": "reuse", "利用": "use",
    "人工智能": "artificial intelligence", "大数据": "big data", "技术": "technology", "实时": "real-time",
    "分析": "analysis", "提升": "improve", "预警": "early warning", "能力": "capability", "按照": "according to",
    "标准": "standard", "改造": "upgrade", "线上": "online", "办理": "processing", "全程": "end-to-end",
    "留痕": "traceability", "构建": "build", "专题": "thematic", "数据库": "database", "汇聚": "aggregate",
    "形成": "form", "完善": "improve", "指挥": "command", "调度": "dispatch", "体系": "system", "部署": "deploy",
    "缩短": "shorten", "处置": "handling", "时间": "time", "开展": "carry out", "试点": "pilot",
    "可复制": "replicable", "推广": "promotion", "经验": "experience", "优化": "optimise", "流程": "process",
    "压缩": "cut", "时限": "time limit", "减少": "reduce", "群众": "citizens", "跑动": "trips", "次数": "number",
    "已有": "existing", "避免": "avoid", "重复": "duplicate", "投资": "investment",
    "评价": "evaluation", "指标": "indicator", "按月": "monthly", "发布": "publish", "运行": "operation",
    "报告": "report", "升级": "upgrade", "覆盖率": "coverage", "打造": "create", "移动应用": "mobile app",
    "市民": "citizens", "提供": "provide", "查询": "query", "预约": "booking", "反馈": "feedback", "服务": "service",
    "推进": "advance", "协同": "collaboration", "跨部门": "cross-department", "互认": "mutual recognition",
    "边缘计算": "edge computing", "节点": "nodes", "就近": "nearby", "处理": "process", "产生": "generated",
    "制定": "formulate", "接口规范": "interface specification", "支撑": "support", "互联互通": "interconnection",
    "建设项目": "construction project", "项目": "project", "工程": "programme", "中心": "centre", "应用": "application",
    "社区": "communities", "街道": "streets", "学校": "schools", "医院": "hospitals", "地铁站": "metro stations",
    "口岸": "ports", "园区": "parks", "河道": "rivers", "公园": "parks", "商圈": "shopping districts",
    "城市大数据中心": "city big data centre", "政务云": "government cloud", "视频共享平台": "video sharing platform",
    "统一身份认证平台": "unified identity authentication platform", "电子证照库": "e-licence library",
}
_ZH_KEYS = sorted(ZH_EN, key=len, reverse=True)


def to_english(sentence: str) -> str:
    """A crude word-by-word English restatement (numbers kept, unknown characters dropped)."""
    out, i = [], 0
    while i < len(sentence):
        ch = sentence[i]
        if ch.isdigit():
            j = i
            while j < len(sentence) and sentence[j].isdigit():
                j += 1
            out.append(sentence[i:j])
            i = j
            continue
        for k in _ZH_KEYS:
            if sentence.startswith(k, i):
                out.append(ZH_EN[k])
                i += len(k)
                break
        else:
            i += 1
    text = " ".join(out).strip()
    return (text[:1].upper() + text[1:] + ".") if text else ""


def mixed_language(doc: dict[str, Any], rng: random.Random, *, orgs: list[str] | None = None
                   ) -> tuple[dict[str, Any], dict[str, Any]]:
    """A department restating a Chinese proposal partly in English: the title in both languages and a third to
    half of the summary's sentences translated (the rest kept, a few characters edited)."""
    sentences = [s for s in doc["summary"].replace("。", "。\n").split("\n") if s.strip()]
    k = max(1, round(len(sentences) * rng.uniform(1 / 3, 1 / 2)))
    picked = set(rng.sample(range(len(sentences)), min(k, len(sentences))))
    parts = [to_english(s) if i in picked and any("\u4e00" <= c <= "\u9fff" for c in s) else s
             for i, s in enumerate(sentences)]
    summary = _edit_chars(" ".join(parts), 0.05, rng)
    dup = dict(doc, title=f"{doc['title']} ({to_english(doc['title']).rstrip('.')})", summary=summary)
    if rng.random() < 0.5:
        dup["organisation"] = rng.choice([o for o in (orgs or ORGS) if o != doc["organisation"]] or [doc["organisation"]])
    return dup, {"ops": ["zh-en-restatement"], "translated": len(picked), "sentences": len(sentences)}
