"""Chinese text of the application intake (the questions staff need answered before review)."""

from __future__ import annotations

ASK = {
    "name": "请输入申请人姓名（与身份证一致）：",
    "id_number": "请输入申请人的18位身份证号：",
    "district": "您在哪个区县申请？（按经营地或户籍地所在区县，回复序号）",
    "business_type": "经营项目是什么？例如：开小饭馆、服装零售、汽车修理。",
    "business_address": "经营地址在哪里？（写到街道门牌；还没有店面可回复“跳过”）",
    "planned_start": "计划什么时候开业？例如：2027年3月、下个月；已经开业请回复“已开业”。",
    "amount": "您想申请多少钱？（例如 5万、50000元）",
    "term_months": "想贷多长时间？（例如 2年、24个月）",
    "members": "请输入其他合伙人的姓名，用顿号或空格分开（例如：李四、王五）：",
    "company_name": "请输入企业名称（与营业执照一致）：",
}
ASK_PHONE_TELEGRAM = "请点击下方按钮分享您的手机号；也可以直接输入手机号，我们会发送6位验证码。"
ASK_PHONE = "请输入您的手机号，我们会发送6位验证码到这个号码。"
PHONE_FROM_SMS = "手机号：{phone}（即您发短信的号码，已验证）。"
PHONE_BAD = "手机号格式不正确，请输入11位手机号，例如 13812345678。"
PHONE_TAKEN = (
    "这个手机号已与其他申请人关联，不能用于本申请。请换一个本人手机号，或回复“人工”由工作人员核实。"
)
PHONE_VERIFIED = "手机号已验证：{phone}。"
CODE_SENT = "验证码已通过短信发送到 {phone}，5分钟内有效。请回复6位验证码（收不到可回复“重发”）。"
CODE_WRONG = "验证码不正确，还可以再试{left}次。"
CODE_EXPIRED = "验证码已过期。请回复“重发”获取新的验证码。"
CODE_LOCKED = "验证码错误次数过多，已失效。请回复“重发”获取新的验证码。"
CODE_NONE = "没有待验证的验证码，请重新输入手机号。"
CODE_TOO_SOON = "验证码刚刚发送过，请{seconds}秒后再回复“重发”。"
CODE_TOO_MANY = "这个号码获取验证码过于频繁，请1小时后再试，或回复“人工”。"
CODE_ASK = "请回复短信里的6位验证码；换号码请直接输入新手机号，收不到可回复“重发”。"
RESEND_WORDS = ("重发", "重新发送", "再发一次", "没收到", "收不到")
ID_TAKEN = "这个身份证号已登记在其他申请人名下，请核对后重新输入，或回复“人工”。"
ID_SAVED = "身份证号已记录：{masked}。"
NAME_BAD = "姓名应为2到20个字，请重新输入。"
TEXT_BAD = "请用2到100个字回答。"
DISTRICT_BAD = "请回复列表中的序号，或直接输入区县名称。"
START_BAD = "没能识别开业时间，请按“2027年3月”“下个月”或“已开业”回答。"
START_OPEN = "已开业"
START_MONTH = "{year}年{month}月"
MONTHS = "{months}个月"
CONFIRM_WORDS = ("确认", "确定", "没问题", "对的", "无误")
SKIP_WORDS = ("跳过", "skip", "不填", "暂时没有")
MEMBERS_BAD = "请至少输入一位合伙人的姓名（每个姓名2到20个字）。"
REQUIRED = "这一项是受理必需的，不能跳过。"
SKIPPED = "已跳过，提交前可回复“修改 {label}”补充。"
OVER_CAP = "您申请的{asked}超过政策上限{cap}，已提示工作人员核实；预审按上限计算。"
OVER_TERM = "您申请的期限{asked}个月超过政策上限{cap}个月，已提示工作人员核实。"
CREATED = "已为您建立申请（编号 {app_id}），接下来请回答几个受理需要的问题。"

SUMMARY_HEAD = "请核对申请信息（编号 {app_id}）："
SUMMARY_LINE = "· {label}：{value}"
SUMMARY_FOOT = "需要修改请回复“修改 手机号”“修改 经营地址”等；确认无误请选择“确认”，然后提交材料。"
SUMMARY_OPTIONS = (("confirm", "确认，开始提交材料"),)
NOT_GIVEN = "（未填）"
VERIFIED = "（已验证）"
OVER_CAP_FLAG = "（超过上限{cap}）"
COMPANY_FACTS = "现有职工{employees}人，今年新招用{new_hires}人，劳动合同最短{contract}个月"
COMPANY_LABEL = "企业情况（预审填写）"
MEMBERS_FACT = "预审填写：符合条件合伙人{members}人"

EDIT_UNKNOWN = "请说明要修改哪一项，例如：修改 手机号。可修改：{labels}。"
EDIT_NO_DRAFT = "只有尚未提交的申请可以修改。需要更正已提交的信息请回复“人工”。"
EDIT_NOT_APPLICABLE = "这个申请没有“{label}”这一项。"
INCOMPLETE = "申请信息还没填完：{labels}。请先补充。"

LABELS = {
    "name": "姓名",
    "phone": "手机号",
    "id_number": "身份证号",
    "district": "区县",
    "business_type": "经营项目",
    "business_address": "经营地址",
    "planned_start": "开业时间",
    "amount": "申请金额",
    "term_months": "贷款期限",
    "members": "合伙人",
    "company_name": "企业名称",
}
# Words people use for each field in "修改 …".
FIELD_WORDS = {
    "name": ("姓名", "名字"),
    "phone": ("手机号", "手机", "电话", "号码", "手机号码"),
    "id_number": ("身份证号", "身份证", "证件号"),
    "district": ("区县", "地区", "区", "县", "所在区县"),
    "business_type": ("经营项目", "项目", "行业", "生意"),
    "business_address": ("经营地址", "地址", "店址"),
    "planned_start": ("开业时间", "开业", "开业日期"),
    "amount": ("申请金额", "金额", "额度", "贷款金额"),
    "term_months": ("贷款期限", "期限", "时间"),
    "members": ("合伙人", "合伙人姓名"),
    "company_name": ("企业名称", "公司名称", "企业", "公司"),
}
EDIT_PREFIXES = ("修改", "更改", "更正", "改")
