"""The one table of Chinese labels for every code staff can see (category → code → label).

The console, the staff API (`*_label` fields beside each code), the XLSX exports and the CLI all
read it through `label(category, code)`; the feature modules' old names (`METHOD_LABELS`,
`STAGE_LABELS` …) are views of this table, not copies. A code with no label comes back unchanged
(a new code shows itself rather than failing a page); the tests walk the console for codes that
slipped through.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

_TABLE: dict[str, dict[str, str]] = {
    # core/loans/schedule.py
    "repayment_method": {
        "equal_principal": "等额本金",
        "interest_quarterly_principal_at_maturity": "按季付息、到期还本",
        "equal_installment": "等额本息",
    },
    "subsidy_kind": {
        "individual_full": "个人全额贴息",
        "individual_uncertified": "个人非微利项目不贴息",
        "actual_rate_half": "按实际利率50%贴息",
        "enterprise_half": "企业50%贴息",
        "none": "无贴息",
    },
    # core/loans/status.py: one instalment's status
    "installment_status": {
        "paid": "已还",
        "due": "今日应还",
        "overdue": "逾期",
        "not_due": "未到期",
        "nothing_due": "无需还款（贴息后应还为0）",
    },
    # LoanRow.status
    "loan_status": {
        "active": "在贷",
        "closed": "已还清",
        "settled": "已结清",
        "written_off": "已核销",
        "compensated": "已代偿",
    },
    # core/staff/overview.py and core/loans/status.py: days overdue
    "overdue_bucket": {"1-30": "1–30天", "31-90": "31–90天", "90+": "90天以上"},
    # core/staff/accounts.py
    "role": {"admin": "管理员", "officer": "经办人员", "viewer": "只读"},
    # the outbox (NoticeRow.status); `queued` is the CLI's name for pending+sending
    "notice_status": {
        "pending": "待发送",
        "sending": "发送中",
        "queued": "已排队",
        "sent": "已发出",
        "delivered": "已送达",
        "undelivered": "未送达",
        "failed": "失败",
        "cancelled": "已取消",
    },
    "notice_kind": {
        "reminder": "还款提醒",
        "overdue": "逾期通知",
        "broadcast": "政策公告",
        "relay": "人工回复",
        "reply": "人工回复",
        "review": "审核通知",
        "otp": "验证码",
        "notification": "通知",
    },
    # NoticeRow.recipient_role (the reminder ladder's recipients)
    "recipient": {
        "borrower": "借款人",
        "counter_guarantor": "反担保人",
        "employer": "工资代扣单位",
        "applicant": "申请人",
    },
    # every door a notice, a ticket or a chat can use
    "channel": {
        "telegram": "Telegram",
        "wechat": "微信",
        "sms": "短信",
        "terminal": "终端",
        "none": "无",
    },
    "document_status": {
        "missing": "未提交",
        "received": "待审核",
        "accepted": "已通过",
        "rejected": "已退回",
    },
    # core/applications/lifecycle.py
    "stage": {
        "draft": "草稿（材料准备中，尚未提交）",
        "submitted": "已提交，等待社区受理",
        "community_review": "社区调查推荐",
        "street_review": "乡镇（街道）复核",
        "guarantee_review": "担保机构审核",
        "bank_review": "经办银行核贷",
        "approved": "已批准，等待放款",
        "disbursed": "已放款",
        "rejected": "未通过",
        "withdrawn": "已撤回",
    },
    "stage_short": {
        "draft": "草稿",
        "submitted": "已提交",
        "community_review": "社区推荐",
        "street_review": "街道复核",
        "guarantee_review": "担保审核",
        "bank_review": "银行核贷",
        "approved": "已批准",
        "disbursed": "已放款",
        "rejected": "未通过",
        "withdrawn": "已撤回",
    },
    "applicant_type": {"individual": "个人", "partnership": "合伙", "enterprise": "小微企业"},
    "category": {
        "unemployed": "失业人员",
        "veteran": "退役军人",
        "graduate": "高校毕业生",
        "returnee": "返乡创业人员",
        "woman": "城乡妇女",
    },
    # the pre-check's answers (ApplicationRow.profile) and the intake's fields
    "precheck_field": {
        "applicant_type": "申请类型",
        "category": "人员类别",
        "has_certificate": "持有就业创业证明",
        "industry": "行业（经营项目）",
        "purpose": "贷款用途",
        "bad_credit": "有不良信用记录",
        "amount": "申请金额（元）",
        "term_months": "贷款期限（月）",
        "members": "合伙人数",
        "employees": "职工人数",
        "new_hires": "新招用符合条件人员",
        "contract_months": "劳动合同期限（月）",
        "applicant_name": "姓名",
        "member_names": "合伙人",
        "company_name": "企业名称",
        "business_type": "经营项目",
        "business_address": "经营地址",
        "planned_start": "开业时间",
        "district": "区县",
    },
    # core/broadcasts/common.py
    "broadcast_status": {
        "draft": "草稿",
        "pending_confirm": "待第二人确认",
        "scheduled": "已定时",
        "fanout": "正在排队",
        "queued": "发送中",
        "done": "已完成",
        "cancelled": "已取消",
    },
    "broadcast_group": {
        "all": "全部订阅用户",
        "applicants": "申请人（按阶段）",
        "borrowers": "在贷借款人",
        "overdue": "逾期借款人",
    },
    # hand-off tickets
    "ticket_status": {"open": "待处理", "closed": "已关闭"},
    "ticket_reason": {
        "user": "用户要求人工",
        "unknown": "未能回答的问题",
        "faq_handoff": "需人工办理的问题",
    },
    "message_sender": {"applicant": "用户", "staff": "工作人员"},
    "unanswered_status": {"new": "待处理", "resolved": "已解决", "ignored": "已忽略"},
    # knowledge/policies/*.yaml `id` → `name` (a test holds them equal)
    "policy": {
        "lanzhou-2013": "《兰州市失业人员小额担保贷款实施办法》",
        "national-2023": "《普惠金融发展专项资金管理办法》",
    },
    # knowledge/policies/reminders-default.yaml rule `id` → `title` (NoticeRow.rule; a test holds
    # them equal)
    "reminder_rule": {
        "before_7": "到期前7天提醒",
        "before_3": "到期前3天提醒",
        "before_1": "到期前1天提醒",
        "due_day": "还款日当天提醒",
        "maturity_30": "贷款到期前30天提醒（最后一期）",
        "overdue_1": "逾期贷款催收通知书",
        "overdue_7": "第二次催收通知",
        "wage_deduction_30": "扣划反担保人工资收入通知",
    },
    # AuditEventRow.action
    "audit_action": {
        "application.stage": "变更申请阶段",
        "broadcast.cancel": "取消群发",
        "broadcast.confirm": "确认群发",
        "broadcast.create": "创建群发",
        "broadcast.queued": "群发已排队",
        "broadcast.send": "发送群发",
        "broadcast.update": "修改群发",
        "document.view": "查看材料",
        "document.accept": "材料审核通过",
        "document.reject": "退回材料",
        "export.xlsx": "导出Excel",
        "handoff.close": "关闭工单",
        "handoff.reply": "回复工单",
        "identity.link": "绑定身份",
        "identity.opt_in": "恢复订阅",
        "identity.opt_out": "退订",
        "identity.verify_phone": "验证手机号",
        "import.loans": "导入贷款",
        "loans.import": "导入贷款",
        "payments.import": "导入还款",
        "import.payments": "导入还款",
        "knowledge.entry": "新增问答",
        "loan.note": "添加联系记录",
        "loan.payment": "手工登记还款",
        "loan.reversal": "撤销贷款操作",
        "loan.status": "变更贷款状态",
        "knowledge.paraphrase": "新增问法",
        "knowledge.reload": "重新加载知识库",
        "notice.requeue": "重新发送通知",
        "search.person": "按证件号或手机号查询",
        "staff.create": "创建员工账号",
        "staff.login": "登录",
        "staff.login_failed": "登录失败",
        "staff.login_locked": "登录被锁定",
        "staff.login_throttled": "登录过于频繁",
        "staff.logout": "退出登录",
        "staff.password": "修改密码",
        "staff.token": "签发接口令牌",
        "staff.update": "修改员工账号",
        "unanswered.ignored": "忽略未答问题",
        "unanswered.resolved": "解决未答问题",
    },
    # keys of the audit log's before/after
    "audit_field": {
        "file": "文件",
        "filters": "筛选条件",
        "ids": "编号",
        "ip": "IP地址",
        "list": "列表",
        "message_id": "消息编号",
        "note": "备注",
        "opted_out": "已退订",
        "people": "涉及人员编号",
        "per_channel": "各渠道数量",
        "person_id": "人员编号",
        "phone": "手机号",
        "q": "搜索内容",
        "questions": "问题数",
        "queued": "已排队",
        "reject_reason": "退回原因",
        "requeued": "重新发送数",
        "role": "角色",
        "rows": "行数",
        "stage": "阶段",
        "status": "状态",
        "username": "用户名",
        "title": "标题",
        "audience": "受众",
        "audience_size": "受众人数",
        "scheduled_at": "定时发送",
        "created": "新增",
        "updated": "更新",
        "unchanged": "未变化",
        "skipped": "跳过",
        "errors": "错误",
        "installments_created": "新增还款计划期数",
        "payments_applied": "入账还款笔数",
        "installments_settled": "结清期数",
        "landline_phones": "固定电话数",
        "default_base_rate_rows": "使用默认基准利率的行数",
        "imported": "已导入",
        "display_name": "显示名称",
        "active": "启用",
        "entry_id": "问答编号",
        "question": "问题",
        "entries": "问答条数",
        "channel": "渠道",
        "address": "地址",
    },
    "object_type": {
        "application": "申请",
        "broadcast": "群发",
        "document": "材料",
        "document_item": "材料",
        "handoff_ticket": "人工工单",
        "identity": "身份",
        "channel_identity": "身份",
        "import": "导入",
        "loan_import": "贷款导入",
        "payment_import": "还款导入",
        "knowledge": "知识库",
        "faq": "问答",
        "loan": "贷款",
        "notice": "通知",
        "person": "个人",
        "staff": "员工",
        "staff_user": "员工",
        "unanswered_question": "未答问题",
        "export": "导出",
    },
    # the exports (GET /api/staff/<list>/export.xlsx)
    "export_list": {
        "loans": "贷款",
        "overdue": "逾期贷款",
        "applications": "申请",
        "notices": "通知",
        "audit": "操作日志",
    },
    # Aliyun SMS template types (server/cli_sms.py)
    # core/staff/loan_actions.py: payments recorded by hand, collection notes, state changes
    "payment_source": {"import": "导入", "manual": "手工"},
    "loan_action": {"payment": "手工还款", "note": "联系记录", "status": "状态变更"},
    "note_contact": {"borrower": "借款人", "counter_guarantor": "反担保人", "other": "其他"},
    "note_channel": {
        "phone": "电话",
        "visit": "上门",
        "sms": "短信",
        "wechat": "微信",
        "letter": "信函",
        "other": "其他",
    },
    "note_outcome": {
        "promised": "承诺还款",
        "paid": "已还款",
        "no_answer": "无人接听",
        "unreachable": "无法联系",
        "refused": "拒绝还款",
        "other": "其他",
    },
    "sms_template_type": {
        "notification": "通知短信",
        "promotion": "推广短信",
        "verification": "验证码",
    },
}

LABELS: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {k: MappingProxyType(v) for k, v in _TABLE.items()}
)


def labels(category: str) -> Mapping[str, str]:
    """Every code → label of one category (KeyError for a category the table does not have)."""
    return LABELS[category]


def label(category: str, code: str | None) -> str:
    """The Chinese label of `code`; the code itself when the table has none; '' for None."""
    if code is None:
        return ""
    return LABELS[category].get(str(code), str(code))


def ticket_number(ticket_id: int | None) -> str:
    """How a hand-off ticket is named everywhere (console, API, chats, errors): '工单号 12'."""
    return f"工单号 {ticket_id}" if ticket_id is not None else ""


_ANSWER_CODES = {"applicant_type": "applicant_type", "category": "category"}


def answer_text(field: str, value: object) -> str:
    """One pre-check or intake answer (ApplicationRow.profile) as staff read it: 是/否, labels of
    codes, lists joined with 、, 不清楚 for an answer the applicant did not know."""
    if value is None:
        return "不清楚"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    if field in _ANSWER_CODES:
        return label(_ANSWER_CODES[field], str(value))
    return str(value)


def answers(profile: dict[str, object] | None) -> list[tuple[str, str, str]]:
    """(field, field label, answer text) for each answer of a profile, in its order."""
    return [(k, label("precheck_field", k), answer_text(k, v)) for k, v in (profile or {}).items()]
