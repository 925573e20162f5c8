"""Recognising commands, opt-out words and option answers in what people type."""

from __future__ import annotations

import re
import unicodedata

_PUNCT = re.compile(r"[\s\.,!?;:'\"“”‘’。，！？；：、~～…（）()【】\[\]<>《》]+")

COMMANDS: dict[str, tuple[str, ...]] = {
    "back": ("返回", "上一步", "后退", "回上一步", "back", "/back"),
    "restart": ("重新开始", "重来", "从头开始", "重新来", "restart", "/restart"),
    "cancel": ("取消", "退出", "不办了", "不弄了", "cancel", "/cancel"),
    "help": ("帮助", "菜单", "help", "/help", "功能", "你能做什么", "主菜单"),
    "human": (
        "人工",
        "转人工",
        "人工客服",
        "人工服务",
        "找人工",
        "客服",
        "/human",
        "我要人工",
        "真人",
        "转工作人员",
        "找工作人员",
        "人工咨询",
    ),
    "status": ("进度", "查进度", "查询进度", "我的申请", "办理进度", "/status", "查询", "状态"),
    "precheck": ("预审", "资格预审", "开始预审", "测资格", "/check", "测一测", "重新预审"),
    "docs": ("材料", "交材料", "提交材料", "上传材料", "/docs", "材料清单", "查看材料清单"),
    "apply": ("申请", "开始申请", "我要申请", "/apply", "开始申请并提交材料"),
    "end": ("结束", "结束人工", "退出人工", "/end"),
    "submit": ("提交", "提交申请", "/submit"),
    "link": ("绑定", "绑定手机", "绑定手机号", "关联手机号", "手机号绑定", "/link"),
    "opt_out": ("/stop",),
    "opt_in": ("/subscribe",),
}
_LOOKUP = {word.lower(): cmd for cmd, words in COMMANDS.items() for word in words}

OPT_OUT_WORDS = {"r", "td", "t", "stop", "退订", "拒收", "unsubscribe", "取消订阅", "退订短信"}
OPT_IN_WORDS = {"订阅", "start", "重新订阅", "subscribe", "恢复订阅"}
_NEGATED_OPT_OUT = ("不退订", "不拒收", "别退订", "不要退订", "不用退订", "不想退订")
_SMS_CANCEL_OUT = ("取消订阅", "取消短信", "取消发送", "取消通知", "我要取消", "请取消")
_EN_OPT_OUT = re.compile(r"(please)?(stop|unsubscribe)(please|sending|texting|texts|messages|now)?")
_QUESTION_HINTS = ("怎么", "如何", "吗", "么", "能不能", "可不可以", "咋", "阿么", "什么")


def squash(text: str) -> str:
    """NFKC, lower-case, no spaces or punctuation: the form commands are compared in."""
    return _PUNCT.sub("", unicodedata.normalize("NFKC", text)).lower()


def detect_command(text: str) -> str | None:
    t = squash(text)
    if not t:
        return None
    if t.startswith("/"):
        t = t.split("@", 1)[0]
    return _LOOKUP.get(t)


def detect_opt(text: str, channel: str, in_flow: bool) -> str | None:
    """'out' / 'in' when the message is an opt-out / opt-in, else None.

    Alone or in a short sentence ("我要退订"); a question about opting out ("怎么退订") is not one.
    On SMS a bare 取消 outside any flow also opts out (inside a flow it cancels the flow)."""
    t = squash(text)
    if not t:
        return None
    if t in OPT_OUT_WORDS and (channel == "sms" or t not in {"t", "r"}):
        return "out"
    if t in OPT_IN_WORDS:
        return "in"
    if t == "取消" and channel == "sms" and not in_flow:
        return "out"
    if _EN_OPT_OUT.fullmatch(t):
        return "out"
    if len(t) <= 12 and not any(h in t for h in _QUESTION_HINTS):
        if any(n in t for n in _NEGATED_OPT_OUT):
            return None
        if "退订" in t or "拒收" in t or "取消订阅" in t:
            return "out"
        if channel == "sms" and not in_flow and any(p in t for p in _SMS_CANCEL_OUT):
            return "out"
        if "订阅" in t and "不" not in t:
            return "in"
    return None


YES_WORDS = ("是", "有", "对", "嗯", "yes", "y", "好", "行", "可以", "持有", "有的", "是的", "对的")
NO_WORDS = ("否", "没有", "无", "不是", "no", "n", "没", "不", "没得", "木有", "没有的")


UNKNOWN_WORDS = (
    "不知道",
    "不清楚",
    "不确定",
    "忘了",
    "不记得",
    "不晓得",
    "说不清",
    "不太清楚",
    "搞不清",
)
# At an amount or term question: "whatever you suggest" (the cap is offered as the default).
DEFAULT_WORDS = (
    *UNKNOWN_WORDS,
    "没有",
    "没想好",
    "随便",
    "你看着办",
    "看着办",
    "都行",
    "无所谓",
    "都可以",
    "你定",
)


def is_unknown(text: str) -> bool:
    """不知道 / 不清楚 / 不确定 / 忘了 (alone or in a short sentence such as "我也不清楚")."""
    t = squash(text)
    return bool(t) and len(t) <= 8 and any(w in t for w in UNKNOWN_WORDS)


def wants_default(text: str) -> bool:
    t = squash(text)
    return bool(t) and len(t) <= 8 and any(w in t for w in DEFAULT_WORDS)


def parse_yes_no(text: str) -> str | None:
    """'yes', 'no', 'unknown' (不知道/不清楚/不确定/忘了 are never 'no'), or None."""
    t = squash(text)
    if not t:
        return None
    if is_unknown(text):
        return "unknown"
    for w in sorted(NO_WORDS, key=len, reverse=True):
        if t == w or (len(t) <= 6 and t.startswith(w)):
            return "no"
    for w in sorted(YES_WORDS, key=len, reverse=True):
        if t == w or (len(t) <= 6 and t.startswith(w)):
            return "yes"
    return None


APPLICANT_TYPE_WORDS = {
    "individual": ("个人", "自己", "本人", "我一个人", "一个人", "个体", "个体户"),
    "partnership": ("合伙", "几个人", "一起", "合伙人", "合伙创业", "我们几个", "朋友一起"),
    "enterprise": ("企业", "公司", "小企业", "单位", "厂", "小微企业"),
}
CATEGORY_WORDS = {
    "unemployed": ("失业", "下岗", "没工作", "无业", "待业", "失业人员", "下岗工人"),
    "veteran": ("退役", "军人", "转业", "复员", "当兵", "退伍"),
    "graduate": ("毕业", "大学生", "毕业生", "中专", "大专", "本科", "职校", "研究生"),
    "returnee": ("回乡", "返乡", "农民", "回村", "农民工", "回老家"),
    "woman": ("妇女", "女", "女性", "农村妇女", "宝妈"),
}


def parse_keyword_choice(text: str, table: dict[str, tuple[str, ...]]) -> str | None:
    """The one key whose words occur in the text; None if none or several match."""
    t = squash(text)
    if not t:
        return None
    hits = {key for key, words in table.items() if any(w in t for w in words)}
    return hits.pop() if len(hits) == 1 else None


def looks_like_question(text: str) -> bool:
    t = text.strip()
    return t.endswith(("?", "？")) or any(
        h in t for h in ("吗", "多少", "怎么", "什么", "能不能", "可不可以", "如何", "咋", "阿么")
    )
