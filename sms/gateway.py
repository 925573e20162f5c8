"""The outbox's "sms" sender for the configured gateway (SMS_PROVIDER=twilio|aliyun).

Only this choice differs between providers: both are `SmsPort` adapters under the same
`SmsSender` (rate limit, retries, opt-outs, unreachable numbers), the same outbox, dispatcher and
receipt logic (sms/status.py).
"""

from __future__ import annotations

from core.database import Database
from core.kernel.settings import Settings
from core.outbox.senders import Sender


def build_sms_sender(settings: Settings, db: Database) -> Sender:
    if settings.sms_provider == "aliyun":
        from sms.aliyun_sender import build_aliyun_sender

        return build_aliyun_sender(settings, db)
    from sms.twilio_sender import build_sms_sender as build_twilio_sender

    return build_twilio_sender(settings, db)
