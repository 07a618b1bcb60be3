"""A labelled citizen file with look-alikes (issue 13, fix-first 2), built independently of the
recognisers: the values follow the public formats (GB 11643 / GB 32100 check characters, IIN ranges
of real Chinese issuers, IMEI reporting bodies of Chinese and global handsets, express-company number
formats, date-prefixed order numbers), and the look-alikes are made as hard as possible: every order,
courier and IMEI number is given a *valid* Luhn digit. Area codes come from the shared
``stdnum_cn_loc.dat`` (real administrative divisions).

Each cell carries the set of entities a perfect detector reports in it."""

from __future__ import annotations

import random
from pathlib import Path

from opendata.validators import resident_id_check_char, uscc_check_char

_LUHN_DOUBLE = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


def luhn_complete(body: str) -> str:
    """``body`` + the digit that makes it Luhn-valid."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        total += _LUHN_DOUBLE[d] if i % 2 == 0 else d
    return body + str((10 - total % 10) % 10)


# the 100 most common surnames (2020 household register order), less common ones, compound ones
COMMON = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩邓冯曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任卢"
          "姚沈钟姜崔谭陆范汪廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛闫段雷龙黎史陶贺毛郝顾龚邵万覃武钱戴严欧莫孔向常汤康易乔")
RARE = "晁禄逄訾蒯郦桓綦璩暨厍蔚濮隗"
COMPOUND = ("欧阳", "司马", "诸葛", "上官", "慕容", "令狐")
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志文斌宇浩然子涵梓轩欣怡雨泽一诺佳琪思远俊"
MINORITY = ("阿依古丽·买买提", "热依拉·艾力", "买买提·吐尔逊", "努尔兰·沙依兰", "古丽娜尔·吾斯曼", "扎西·次仁")
UNIONPAY_BINS = ("622202", "621700", "622848", "621226", "622588", "628288", "621661", "622262", "623668", "621483")
DOMAINS = ("163.com", "qq.com", "126.com", "sina.com", "gmail.com", "foxmail.com", "sz.gov.cn", "tencent.com", "outlook.com")
PINYIN = ("zhang", "wang", "li", "liu", "chen", "yang", "huang", "zhao", "zhou", "xu", "sun", "ma", "hu", "guo", "lin")
REMARKS = ("已办结", "材料齐全，已受理", "请于三个工作日内补交材料", "无", "电话回访满意", "窗口咨询", "转街道办处理")


def _areas(pii_dir: Path) -> list[str]:
    codes, prov = [], ""
    for line in (pii_dir / "cn" / "stdnum_cn_loc.dat").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        tok = line.split(" ", 1)[0] if not line.startswith(" ") else line.split()[0]
        if not line.startswith(" "):
            prov = tok
        elif len(tok) == 4 and tok.isdigit() and not tok.endswith("00") and prov not in ("71", "81", "82"):
            codes.append(prov + tok)
    return sorted(set(codes))


class Labelled:
    def __init__(self, pii_dir: Path, seed: int = 2026):
        self.r = random.Random(seed)
        self.areas = _areas(pii_dir)

    def name(self) -> str:
        r = self.r
        x = r.random()
        if x < 0.03:
            return r.choice(MINORITY)
        surname = r.choice(COMPOUND) if x < 0.05 else (r.choice(RARE) if x < 0.10 else r.choice(COMMON))
        return surname + "".join(r.choice(GIVEN) for _ in range(r.choice((1, 2, 2, 2))))

    def resident_id(self) -> str:
        r = self.r
        body = f"{r.choice(self.areas)}{r.randint(1940, 2012)}{r.randint(1, 12):02d}{r.randint(1, 28):02d}{r.randint(0, 999):03d}"
        return body + resident_id_check_char(body)

    def legacy_id(self) -> str:
        r = self.r
        return f"{r.choice(self.areas)}{r.randint(30, 84):02d}{r.randint(1, 12):02d}{r.randint(1, 28):02d}{r.randint(0, 999):03d}"

    def mobile(self) -> str:
        r = self.r
        return r.choice(("138", "139", "135", "136", "150", "151", "158", "186", "188", "177", "199", "131", "156")) + \
            "".join(r.choice("0123456789") for _ in range(8))

    def email(self) -> str:
        r = self.r
        local = r.choice(PINYIN) + r.choice(("", ".", "_")) + r.choice(PINYIN) + str(r.randint(0, 999) if r.random() < 0.5 else "")
        return f"{local}@{r.choice(DOMAINS)}"

    def bank_card(self) -> str:
        r = self.r
        x = r.random()
        if x < 0.75:
            n = r.choice((16, 19, 19))
            body = r.choice(UNIONPAY_BINS) + "".join(r.choice("0123456789") for _ in range(n - 7))
            return luhn_complete(body)
        if x < 0.9:
            return luhn_complete("4" + "".join(r.choice("0123456789") for _ in range(14)))
        return luhn_complete(str(r.randint(51, 55)) + "".join(r.choice("0123456789") for _ in range(13)))

    def imei(self) -> str:
        r = self.r
        tac = (r.choice(("86", "86", "86", "35")) + "".join(r.choice("0123456789") for _ in range(6)))
        return luhn_complete(tac + "".join(r.choice("0123456789") for _ in range(6)))

    def uscc(self) -> str:
        r = self.r
        auth_type = r.choice(("91", "91", "91", "92", "12", "52", "11", "93", "51"))
        alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
        body = auth_type + r.choice(self.areas) + "".join(r.choice(alphabet) for _ in range(8)) + r.choice("0123456789X")
        body = body[:17]
        return body + uscc_check_char(body)

    def order_no(self) -> str:
        r = self.r
        date = f"20{r.randint(19, 26)}{r.randint(1, 12):02d}{r.randint(1, 28):02d}"
        x = r.random()
        if x < 0.5:  # 18 characters: the shape of a resident ID / credit code
            return luhn_complete(date + "".join(r.choice("0123456789") for _ in range(9)))
        if x < 0.75:  # 16 digits, card-sized
            return luhn_complete(date + "".join(r.choice("0123456789") for _ in range(7)))
        return luhn_complete(r.choice("123") + "".join(r.choice("0123456789") for _ in range(17)))  # 19 digits

    def courier_no(self) -> str:
        r = self.r
        digits = lambda n: "".join(r.choice("0123456789") for _ in range(n))  # noqa: E731
        kind = r.choice(("SF", "YT", "JD", "ZTO", "YD13", "YD15", "EMS", "JT"))
        if kind == "SF":
            return "SF" + luhn_complete(digits(12))
        if kind == "YT":
            return "YT" + luhn_complete(digits(12))
        if kind == "JD":
            return "JDV" + luhn_complete(digits(11))
        if kind == "ZTO":
            return luhn_complete("7" + digits(10))
        if kind == "YD13":
            return luhn_complete("43" + digits(10))
        if kind == "YD15":
            return luhn_complete(r.choice(("31", "46")) + digits(12))
        if kind == "EMS":
            return luhn_complete("1" + digits(11))
        return "JT" + luhn_complete(digits(12))


COLUMNS = ("姓名", "身份证号", "手机", "邮箱", "银行卡号", "设备IMEI", "统一社会信用代码", "订单号", "快递单号", "备注")


def build(pii_dir: Path, rows: int = 4000, seed: int = 2026) -> tuple[list[list[str]], list[list[set[str]]]]:
    """(table rows without header, expected entity sets per cell)."""
    g = Labelled(pii_dir, seed)
    r = g.r
    data, truth = [], []
    for _ in range(rows):
        legacy = r.random() < 0.1
        pid = g.legacy_id() if legacy else g.resident_id()
        row = [g.name(), pid, g.mobile(), g.email(), g.bank_card(), g.imei(), g.uscc(), g.order_no(), g.courier_no()]
        exp = [{"CN_NAME"}, {"CN_RESIDENT_ID_15" if legacy else "CN_RESIDENT_ID"}, {"CN_MOBILE"}, {"EMAIL"},
               {"BANK_CARD"}, {"DEVICE_IMEI"}, {"CN_USCC"}, set(), set()]
        x = r.random()
        if x < 0.25:
            remark, ent = f"{r.choice(('请发送至', '联系邮箱', '材料已发', '回复'))}{g.email()}{r.choice(('谢谢', '', '。'))}", {"EMAIL"}
        elif x < 0.32:
            remark, ent = f"申请人身份证{g.resident_id()}，{r.choice(REMARKS)}", {"CN_RESIDENT_ID"}
        elif x < 0.40:
            remark, ent = f"本人手机{g.mobile()}，{r.choice(REMARKS)}", {"CN_MOBILE"}
        elif x < 0.50:
            remark, ent = f"订单{g.order_no()}已发货，快递{g.courier_no()}", set()
        elif x < 0.55:
            remark, ent = f"设备IMEI:{g.imei()}", {"DEVICE_IMEI"}
        else:
            remark, ent = r.choice(REMARKS), set()
        row.append(remark)
        exp.append(ent)
        data.append(row)
        truth.append(exp)
    return data, truth


def score(pred: list[list[set[str]]], truth: list[list[set[str]]]) -> dict[str, dict[str, float]]:
    """Per entity type: cell-level true positives, false positives, false negatives, precision, recall."""
    tp: dict[str, int] = {}
    fp: dict[str, int] = {}
    fn: dict[str, int] = {}
    for prow, trow in zip(pred, truth):
        for p, t in zip(prow, trow):
            for e in p & t:
                tp[e] = tp.get(e, 0) + 1
            for e in p - t:
                fp[e] = fp.get(e, 0) + 1
            for e in t - p:
                fn[e] = fn.get(e, 0) + 1
    out = {}
    for e in sorted(set(tp) | set(fp) | set(fn)):
        a, b, c = tp.get(e, 0), fp.get(e, 0), fn.get(e, 0)
        out[e] = {"tp": a, "fp": b, "fn": c, "precision": a / (a + b) if a + b else 0.0, "recall": a / (a + c) if a + c else 0.0}
    return out
