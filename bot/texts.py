"""Chinese text the Telegram adapter itself shows (the conversation's text lives in core/dialogue)."""

from __future__ import annotations

from core.kernel.labels import labels

# The command menu set with setMyCommands at start (command, description).
COMMAND_MENU: tuple[tuple[str, str], ...] = (
    ("start", "开始 / 主菜单"),
    ("help", "帮助：我能做什么"),
    ("ask", "咨询政策问题，如 /ask 失业人员能贷多少"),
    ("check", "资格预审"),
    ("docs", "提交申请材料"),
    ("status", "查询办理进度"),
    ("human", "转人工服务"),
    ("stop", "退订通知和公告"),
    ("subscribe", "重新订阅通知和公告"),
)
STAFF_COMMAND_MENU: tuple[tuple[str, str], ...] = (
    ("broadcast", "起草政策公告（预览后确认发送）"),
    ("reply", "答复工单：/reply 工单号 内容"),
)

CONTACT_BUTTON = "📱 分享我的手机号"
CONTACT_NOT_OWN = "为保护您的信息，只能分享您本人的手机号。请点击下方按钮分享。"

STAFF_ONLY = "此命令仅限工作人员群使用。"
BROADCAST_USAGE = (
    "用法：/broadcast 标题（换行）正文；只有一行时作为正文。发送前会先预览并显示受众人数。"
)
BROADCAST_DEFAULT_TITLE = "通知"
BROADCAST_PREVIEW = (
    "【公告预览】草稿 #{draft}\n\n{text}\n\n"
    "受众：{audience}\n"
    "共 {total} 人，其中 Telegram {telegram} 人；已排除退订 {opted_out} 人、无法送达 {unreachable} 人。"
)
BROADCAST_SMS = "短信 {sms} 人，每条 {segments} 段，预计费用 {cost} 元。"
BROADCAST_SECOND_PERSON = "受众超过 {threshold} 人，需由另一位工作人员再次确认。"
BROADCAST_ASK_CONFIRM = "确认后才会发送。"
BROADCAST_CONFIRM = "✅ 确认发送"
BROADCAST_CANCEL = "取消"
BROADCAST_WAITING = (
    "公告 #{draft} 已提交：受众 {size} 人，超过 {threshold} 人，请另一位工作人员点击「确认发送」。"
)
BROADCAST_QUEUED = "公告 #{draft} 已由 {who} 确认，{count} 条消息已排入发送队列。"
BROADCAST_CANCELLED = "公告 #{draft} 已取消。"
BROADCAST_GONE = "该公告已处理，不能重复操作。"

REPLY_USAGE = "用法：/reply 工单号 回复内容，或直接回复机器人发来的工单通知消息。"
REPLY_SENT = "已记录，工单号 {ticket} 的答复将发送给申请人。"

TICKET_ALERT = (
    "🔔 工单号 {ticket}（{channel}，{who}）{kind}\n{text}\n\n"
    "直接回复本消息即可答复申请人，或发送 /reply {ticket} 内容"
)
TICKET_NEW = "新工单"
TICKET_MORE = "申请人补充"
TICKET_NO_TEXT = "（申请人请求人工服务）"
CHANNEL_LABELS = labels("channel")

INTERNAL_ERROR = "抱歉，系统暂时繁忙，请稍后再试。"
