"""Settings, read once by the composition root (server/) from the environment and `.env`."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    """Every setting of a deployment. README's configuration table documents each one."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{PROJECT_ROOT / 'var' / 'chuangdai.db'}",
        description="SQLAlchemy URL: sqlite:///path or postgresql+psycopg://user:pw@host/db",
    )
    data_dir: Path = Field(
        default=PROJECT_ROOT / "var",
        description="Writable folder for the SQLite file, jieba cache and the document store",
    )
    document_dir: Path | None = Field(
        default=None,
        description="Document store folder (default DATA_DIR/documents), never served",
    )
    policy: str = Field(
        default="lanzhou-2013", description="Active policy file name under knowledge/policies/"
    )
    knowledge_dir: Path | None = Field(
        default=None, description="Alternative knowledge folder (default: the packaged knowledge/)"
    )
    log_level: str = Field(default="INFO", description="Python logging level")

    # Telegram
    telegram_bot_token: str | None = Field(default=None, description="Bot token from BotFather")
    telegram_webhook_secret: str | None = Field(
        default=None, description="Secret checked in X-Telegram-Bot-Api-Secret-Token"
    )
    telegram_api_base_url: str = Field(
        default="https://api.telegram.org/bot",
        description="Bot API base URL (a self-hosted Bot API server or the tests' fake)",
    )
    telegram_staff_chat_id: int | None = Field(
        default=None, description="Chat id of the staff group allowed to use staff commands"
    )

    # SMS (Twilio)
    twilio_account_sid: str | None = Field(default=None, description="Twilio account SID")
    twilio_auth_token: str | None = Field(default=None, description="Twilio auth token")
    twilio_messaging_service_sid: str | None = Field(
        default=None, description="Messaging Service SID (preferred over TWILIO_FROM)"
    )
    twilio_from: str | None = Field(default=None, description="Sender number in E.164")
    twilio_api_base_url: str | None = Field(
        default=None, description="Alternative Twilio REST base URL (the tests' fake server)"
    )
    public_base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Public URL of this server, used to validate Twilio signatures",
    )
    # SMS provider and Alibaba Cloud SMS (阿里云短信, mainland numbers)
    sms_provider: Literal["twilio", "aliyun"] = Field(
        default="twilio", description="SMS gateway: twilio or aliyun (阿里云短信, mainland China)"
    )
    aliyun_access_key_id: str | None = Field(
        default=None, description="Alibaba Cloud AccessKey ID (a RAM user allowed dysms only)"
    )
    aliyun_access_key_secret: SecretStr | None = Field(
        default=None, description="Alibaba Cloud AccessKey secret (never logged)"
    )
    aliyun_sms_sign_name: str | None = Field(
        default=None, description="Approved 签名 without brackets, e.g. 创业担保贷款"
    )
    aliyun_sms_endpoint: str = Field(
        default="https://dysmsapi.aliyuncs.com",
        description="Dysmsapi endpoint URL (http:// only for the tests' fake server)",
    )
    aliyun_sms_push_token: SecretStr | None = Field(
        default=None,
        description="Secret path segment of the SmsReport / SmsUp push URLs (/sms/aliyun/<token>/…)",
    )
    aliyun_sms_poll_seconds: float = Field(
        default=300.0,
        description="Poll QuerySendDetails for missing receipts every N seconds (0: push only)",
    )
    sms_signature: str = Field(default="【创业担保贷款】", description="SMS signature prefix")
    sms_unsubscribe_hint: str = Field(
        default="拒收请回复R", description="Appended to broadcast SMS"
    )
    sms_rate_per_second: float = Field(
        default=1.0,
        description="Outbound SMS per second per sender, shared by all workers "
        "(Aliyun: requests, a SendBatchSms carries up to 100)",
    )
    sms_replies_per_hour: int = Field(
        default=20, description="Max automatic SMS replies per number per hour"
    )

    # WeChat Official Account (微信公众号, wechat/)
    wechat_app_id: str | None = Field(default=None, description="公众号 AppID")
    wechat_app_secret: str | None = Field(
        default=None, description="公众号 AppSecret (fetches the access_token)"
    )
    wechat_token: str | None = Field(
        default=None, description="Token entered in the 公众号 server configuration (signatures)"
    )
    wechat_encoding_aes_key: str | None = Field(
        default=None,
        description="EncodingAESKey (43 characters); set it to use 安全模式 (encrypted messages)",
    )
    wechat_api_base_url: str = Field(
        default="https://api.weixin.qq.com/cgi-bin/",
        description="WeChat API base URL (a proxy, or the tests' fake)",
    )
    wechat_rate_per_second: float = Field(
        default=20.0, description="WeChat API sends per second per server process"
    )

    sms_segment_price_yuan: Decimal = Field(
        default=Decimal("0.05"), description="Price per SMS segment in 元, for cost estimates"
    )
    reminder_policy: str = Field(
        default="reminders-default", description="Reminder ladder file under knowledge/policies/"
    )

    # Documents
    max_upload_mb: int = Field(default=20, description="Largest accepted document, in MB")
    max_import_mb: int = Field(
        default=100, ge=1, description="Largest loan/payment import file (CSV or XLSX), in MB"
    )
    import_max_rows: int = Field(
        default=200_000, ge=1, description="Most data rows one import file may have"
    )
    import_max_columns: int = Field(
        default=64, ge=1, description="Most columns one import file may have"
    )

    # Reminders / outbox
    quiet_hours_start: str = Field(default="21:00", description="Quiet hours start (Asia/Shanghai)")
    quiet_hours_end: str = Field(default="08:00", description="Quiet hours end (Asia/Shanghai)")
    scheduler_enabled: bool = Field(
        default=True, description="Run the daily sweep and the outbox dispatcher in the server"
    )

    # Staff side
    secret_key: str = Field(
        default="dev-insecure-change-me",
        description="Signs console sessions and CSRF tokens; set a long random value in production",
    )
    guarantee_fund_yuan: int = Field(
        default=10_000_000,
        description="Guarantee fund size in yuan (5x leverage, 兰州 第十二条); also the fund of a "
        "district not listed in GUARANTEE_FUNDS",
    )
    guarantee_funds: dict[str, int] = Field(
        default_factory=dict,
        description='Guarantee fund per county/district in yuan, JSON (e.g. {"城关区": 10000000}): '
        "each handling bank's balance there is checked against leverage × its county's fund "
        "(兰州 第八条、第十二条)",
    )
    password_hash_time_cost: int = Field(
        default=3,
        ge=1,
        description="argon2id iterations for staff passwords (tests set 1; raising it re-costs "
        "only passwords set afterwards)",
    )
    password_hash_memory_kib: int = Field(
        default=65536,
        ge=32,
        description="argon2id memory per staff password hash, in KiB (64 MiB; at least 32)",
    )
    console_session_hours: int = Field(
        default=12,
        description="Console session lifetime in hours (logout or deactivation ends it at once)",
    )
    broadcast_confirm_threshold: int = Field(
        default=1000, description="Audiences above this size need a second confirmation"
    )

    @property
    def documents_path(self) -> Path:
        return self.document_dir or (self.data_dir / "documents")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
