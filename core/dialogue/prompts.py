"""Every Chinese text the dialogue engine says (flows stay free of string literals for people)."""

from __future__ import annotations

WELCOME = (
    "您好！这里是创业担保贷款服务。政策问题请直接输入（如“失业人员能贷多少”）；"
    "也可以选择：资格预审、提交申请材料、查询办理进度、转人工。\n"
    "随时回复“帮助”查看本菜单。"
)
WELCOME_SMS = "创业担保贷款服务：直接发问题即可咨询。"
WELCOME_OPTIONS = (
    ("precheck", "资格预审"),
    ("docs", "提交申请材料"),
    ("status", "查询办理进度"),
    ("human", "转人工"),
)
HELP_IN_FLOW = "在任何一步都可以回复：返回（上一步）、重新开始、取消（退出当前流程）、人工。"
EMPTY_TEXT = "没有收到文字内容。请直接输入您的问题，或回复“帮助”查看我能做什么。"
CANCELLED = "已退出当前流程。有问题可直接输入，或回复“帮助”。"
NOTHING_TO_CANCEL = "当前没有进行中的流程。有问题可直接输入，或回复“帮助”。"
NOTHING_TO_GO_BACK = "已经是第一步了。"
NOT_UNDERSTOOD_STEP = "没能识别您的回答。"
TOO_LONG_NOTE = "（您的消息较长，我只读取了前面的部分。）"
RESUME = "我们继续刚才的步骤："

# Pre-check
PC_START = "好的，我们来做资格预审（约1分钟，结果仅供参考，最终以担保机构和经办银行审核为准）。"
PC_TYPE = "请问您以什么身份申请？"
PC_TYPE_OPTIONS = (("individual", "个人"), ("partnership", "合伙创业"), ("enterprise", "小企业"))
PC_CATEGORY = "您属于以下哪一类人员？"
PC_CATEGORY_OPTIONS = (
    ("unemployed", "失业/下岗人员"),
    ("veteran", "复员转业退役军人"),
    ("graduate", "大中专毕业生"),
    ("returnee", "回乡创业带头人"),
    ("woman", "城乡妇女"),
)
PC_CERT = "您是否持有《就业失业登记证》（各地也叫就业创业证、失业证）？"
PC_CERT_RURAL = "回乡创业带头人和农村妇女可用户籍证明。您能提供《就业失业登记证》或户籍证明吗？"
PC_INDUSTRY = "您打算（或正在）做什么行业、什么生意？例如：开小饭馆、服装零售、汽车修理。"
PC_PURPOSE = "贷款主要用来做什么？例如：进货、租店面、买设备。（不清楚可回复“跳过”）"
PC_CREDIT = (
    "您本人或反担保人（企业：法定代表人、股东）在人民银行征信中是否有不良记录（如逾期未还）？"
)
PC_CREDIT_OPTIONS = (("yes", "有不良记录"), ("no", "没有"), ("unknown", "不清楚"))
PC_MEMBERS = "一起申请的合伙人中，符合条件（持证）的共有几人？"
PC_EMPLOYEES = "企业现有在职职工多少人？"
PC_NEW_HIRES = "今年新招用的符合条件人员（持《就业失业登记证》的失业人员等）有多少人？"
PC_CONTRACT = "这些新招人员中，劳动合同期限最短的是几个月？（例如 12 或 一年）"
PC_AMOUNT = "您希望贷多少钱？（例如 5万、50000元；不确定可回复“跳过”）"
PC_TERM = "希望贷多长时间？（例如 2年、24个月；不确定可回复“跳过”）"
PC_BAD_NUMBER = "请输入一个合理的数字，例如 5万、3人、24个月。"
YES_NO = (("yes", "是"), ("no", "否"))
SKIP_WORDS = ("跳过", "不知道", "不清楚", "不确定", "没想好", "skip", "算了", "随便")

PC_RESULT_OK = "预审结果：初步符合申请条件 ✅"
PC_RESULT_NO = "预审结果：暂不符合申请条件"
PC_RESULT_FOOT = "以上为初步预审，最终以担保机构和经办银行审核为准。"
PC_AFTER_OK_OPTIONS = (("apply", "开始申请并提交材料"), ("restart", "重新预审"))
PC_AFTER_NO_OPTIONS = (("human", "转人工咨询"), ("restart", "重新预审"))

# Application and documents
APPLY_NEED_PRECHECK = "请先完成资格预审（回复“预审”），初步符合条件后即可开始申请。"
DOCS_HEADER = "申请编号 {app_id} 的材料清单（已收 {received}/{total} 项）："
DOCS_HOW = "回复序号选择要提交的材料，再发送照片或PDF（jpg/png/pdf，不超过{max_mb}MB）。原件请在现场核验时携带。"
DOCS_NO_APP = "您还没有申请。请先回复“预审”完成资格预审，再开始申请。"
DOCS_CHOSEN = "请发送《{label}》的照片或PDF。"
DOCS_RECEIVED = "已收到第{index}项《{label}》（已收 {received}/{total} 项）。"
DOCS_REPLACED = "已用新文件替换第{index}项《{label}》（已收 {received}/{total} 项）。"
DOCS_DUPLICATE = "这个文件已作为第{index}项《{label}》提交过，无需重复发送。"
DOCS_NEXT = "下一项：第{index}项《{label}》。"
DOCS_ALL_DONE = "材料已全部收到。确认无误后请选择“提交申请”。"
DOCS_SUBMIT_OPTIONS = (("submit", "提交申请"), ("docs", "查看材料清单"))
DOCS_NOT_ALL = "还有 {count} 项材料未提交：{labels}。全部提交后才能提交申请。"
DOCS_SUBMITTED = (
    "申请已提交（编号 {app_id}）。按规定，材料齐全时原则上在{days}个工作日内完成放款"
    "（按工作日推算约为{date}{estimate}，补材料时间不计）。回复“进度”随时查询。"
)
# Expected disbursement, in the words of 第十三条/第十六条 ("原则上…个工作日内"), never a promise.
PC_EXPECTED = "放款时限：材料齐全时原则上在{days}个工作日内完成（按工作日推算约为{date}{estimate}，补材料时间不计）"
PC_EXPECTED_SMS = "材料齐全原则上{days}个工作日内放款（约{month}月{day}日{estimate}）。"
# Said when the date lies in a year whose holiday arrangement is not yet published.
ESTIMATE_NOTE = "，当年节假日安排尚未公布，日期为估算"
ESTIMATE_NOTE_SMS = "，估算"
DOCS_ALREADY_SUBMITTED = "申请 {app_id} 已提交，当前阶段：{stage}。如需更换材料请回复“人工”。"
DOCS_FILE_WITHOUT_APP = "收到文件，但您还没有申请。请先回复“预审”，初步符合条件后再提交材料。"
DOCS_BAD_INDEX = "请回复 1 到 {total} 之间的序号。"
DOCS_STATUS = {
    "missing": "未交",
    "received": "已收",
    "accepted": "已审核通过",
    "rejected": "被退回",
}

# Status
STATUS_NONE = (
    "没有查到与您当前账号关联的申请或贷款。如已在线下申请，请回复“人工”由工作人员为您关联。"
)
STATUS_APP = "申请编号 {app_id}：当前阶段「{stage}」（{since} 起）。"
STATUS_MISSING = "尚缺材料：{labels}。"
STATUS_EXPECTED = (
    "按规定，材料齐全时原则上在{days}个工作日内完成放款（按工作日推算约为{date}{estimate}，"
    "补材料时间不计）。"
)
STATUS_LOAN = "贷款 {loan_no}：下一期应还 {amount}，到期日 {date}。"
STATUS_LOAN_OVERDUE = "贷款 {loan_no}：有 {count} 期已逾期，合计 {amount}，请尽快联系经办银行还款。"
STATUS_LOAN_DONE = "贷款 {loan_no}：目前没有待还款项。"
LINK_OK = "已与您的手机号关联，{name}。之后可回复“进度”查询贷款和还款提醒。"
LINK_NO_MATCH = "这个手机号没有在我们的系统中登记。如您已申请或已放款，请回复“人工”。"
LINK_TOKEN_BAD = "链接已失效或不正确。请联系工作人员重新获取，或回复“人工”。"
LINK_ASK_CONTACT = "如您已办理贷款，可点击下方按钮分享手机号，以便接收还款提醒和查询进度。"

# Hand-off
HANDOFF_OPENED = (
    "已为您转接工作人员（工单号 {ticket}）。工作人员会在工作时间尽快在这里回复您。"
    "您可以继续留言；回复“结束”返回自助服务。"
)
HANDOFF_APPENDED = "已转给工作人员（工单号 {ticket}），请耐心等待回复。回复“结束”返回自助服务。"
HANDOFF_ENDED = "已返回自助服务。工作人员回复后仍会在这里通知您。"
HANDOFF_ESC_NOTE = (
    "此问题需要工作人员确认，已为您生成工单（工单号 {ticket}），工作人员会在这里回复您。"
)
UNKNOWN_NOTE = "已记录您的问题（工单号 {ticket}），工作人员会尽快回复。"

# Opt-out
OPTED_OUT = "已退订政策公告类消息。与您本人贷款有关的还款提醒仍会发送。回复“订阅”可重新订阅。"
OPTED_IN = "已重新订阅政策公告消息。回复“退订”可随时退订。"

# Pre-check decision lines (core/dialogue/decision.py)
PC_LINE_AMOUNT = "可申请额度：最高{amount}"
PC_LINE_TERM = "贷款期限：最长{months}个月"
PC_LINE_BASIS = "依据："
PC_LINE_REASON = "· {message}（{article}）"
PC_LINE_SUBSIDY = "贴息：{subsidy}"
PC_LINE_DOCS = "需准备材料（{count}项）："
PC_LINE_NEXT = "下一步：{next_steps}"
PC_SMS_OK = "预审：初步符合。"
PC_SMS_AMOUNT = "最高{amount}"
PC_SMS_TERM = "、{months}个月"
PC_SMS_CITED = "（{articles}）。"
PC_SMS_NO = "预审：暂不符合。"
PC_SMS_NO_WHY = "预审：暂不符合。{why}（{article}）"

# FAQ and general
FAQ_SOURCE = "{text}\n（依据：{source}）"
OPT_HUMAN = "转人工"
ASK_EMPTY = "请在 /ask 后面写上您的问题，例如：/ask 失业人员能贷多少"

# Document lines
DOCS_LINE = "{index}. {label}【{status}】"
DOCS_SMS = "申请{app_id}材料已收{received}/{total}项。回复序号选择材料后发送照片或PDF。"
DOCS_TOO_LARGE = "文件超过{max_mb}MB，请压缩后或分页拍照再发送。"
DOCS_LABEL = "《{label}》"

# Forgiving answers
EMPTY_IN_FLOW = "没有收到文字内容。"
PC_CREDIT_UNKNOWN = (
    "好的，征信情况记为“未确认”。您可以到中国人民银行征信中心查询本人（及反担保人）的个人信用报告，"
    "确认没有不良记录后再申请；预审结果会注明征信情况未确认。"
)
PC_CERT_UNKNOWN = (
    "没关系。《就业失业登记证》（各地也叫就业创业证、失业证）由当地就业服务机构办理，"
    "请确认后再回答；也可以回复“人工”咨询。"
)
PC_AMOUNT_DEFAULT = "最高{cap}，按最高额度预审可以吗？"
PC_TERM_DEFAULT = "最长{months}个月，按最长期限预审可以吗？"
PC_AMOUNT_NOT_POSITIVE = "金额需大于0，请重新输入，例如 5万。"
PC_TERM_NOT_POSITIVE = "期限需大于0，请重新输入，例如 24个月。"
NUMBER_WITHOUT_OPTIONS = "现在没有可选的序号。请直接输入您的问题，或回复“帮助”查看菜单。"
HANDOFF_TICKET_CLOSED = "您的工单（工单号 {ticket}）已由工作人员结束，已返回自助服务。"
# Linking a chat to the number on file with an SMS one-time code (core/dialogue/otp.py, purpose link; flow in core/dialogue/linking.py)
LINK_CODE_HINT = "已办理贷款或已提交申请的用户，回复“绑定”并输入登记的手机号，用短信验证码关联后可查询贷款和接收还款提醒。"
LINK_CODE_ASK_PHONE = "请输入您办理贷款时登记的手机号（11位）。回复“取消”可退出。"
LINK_CODE_BAD_PHONE = "手机号格式不正确，请输入11位手机号，例如 13812345678。"
LINK_CODE_SENT = (
    "如该号码已在我们这里登记，验证码短信已发送到 {phone}，5分钟内有效。请回复6位验证码。"
)
LINK_CODE_ASK_CODE = "请回复短信中的6位验证码。没收到可回复“绑定”重新获取，或回复“取消”。"
LINK_CODE_WRONG = "验证码不正确，还可以再试{tries}次。"
LINK_CODE_EXPIRED = "验证码已过期或已失效。请回复“绑定”重新获取。"
LINK_CODE_LOCKED = "验证码错误次数过多，已失效。请稍后回复“绑定”重新获取。"
LINK_CODE_TOO_SOON = (
    "验证码发送过于频繁，请{seconds}秒后再试。如已收到验证码，请直接回复6位验证码。"
)
LINK_CODE_TOO_MANY = "验证码获取次数已达上限，请稍后再试，或回复“人工”。"
LINK_CODE_ALREADY = "您的账号已关联登记的手机号。回复“进度”可查询办理进度和贷款。"
LINK_CODE_SMS = "短信渠道以您的手机号为准，无需绑定。"
