"""One logging configuration for every logger of the process, uvicorn's access log included.

Every record goes through one root handler whose formatter masks the *formatted* line (message,
arguments and traceback alike): ID and phone numbers (`core.kernel.identity.mask_text`), staff API
tokens (cd_…), the Telegram bot token in Bot API URLs, secret-looking query parameters, and the
whole query string of staff routes (/api/staff, /console), where searches carry names and numbers.
"""

from __future__ import annotations

import logging
import re

from core.kernel.identity import mask_text

_STAFF_QUERY = re.compile(r"((?:/api/staff|/console)[^\s?\"']*)\?[^\s\"']*")
_SECRET_PARAM = re.compile(
    r"(?i)\b(token|secret|password|passwd|signature|csrf[_a-z]*|session)=([^&\s\"']+)"
)
_STAFF_TOKEN = re.compile(r"\bcd_[A-Za-z0-9_-]{16,}")
_BOT_TOKEN = re.compile(r"\bbot\d+:[A-Za-z0-9_-]+")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}")


def mask_log_text(text: str) -> str:
    """`text` as it may be logged: no personal numbers, tokens, secrets or staff query strings."""
    text = _STAFF_QUERY.sub(r"\1?…", text)
    text = _SECRET_PARAM.sub(r"\1=***", text)
    text = _STAFF_TOKEN.sub("cd_***", text)
    text = _BOT_TOKEN.sub("bot***", text)
    text = _BEARER.sub(r"\1 ***", text)
    return mask_text(text)


class MaskingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return mask_log_text(super().format(record))


class MaskingFilter(logging.Filter):
    """Masks a record's message and arguments (for handlers other code attaches)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask_log_text(record.msg)
        if record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(mask_log_text(a) if isinstance(a, str) else a for a in args)
        return True


FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: str = "INFO") -> None:
    """Install the masking handler on the root logger and route every other logger to it
    (uvicorn installs its own handlers before the app exists: they are removed here)."""
    root = logging.getLogger()
    ours = [h for h in root.handlers if isinstance(h.formatter, MaskingFormatter)]
    if not ours:
        handler = logging.StreamHandler()
        handler.setFormatter(MaskingFormatter(FORMAT))
        handler.addFilter(MaskingFilter())
        root.addHandler(handler)
    for other in list(root.handlers):  # e.g. a basicConfig handler: would log unmasked
        if type(other) is logging.StreamHandler and not isinstance(
            other.formatter, MaskingFormatter
        ):
            root.removeHandler(other)
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger) and (logger.handlers or name.startswith("uvicorn")):
            for attached in list(logger.handlers):
                logger.removeHandler(attached)
            logger.propagate = True
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).propagate = True
        logger = logging.getLogger(name)  # LOG_LEVEL applies to them too (a stricter level stays)
        logger.setLevel(max(logger.level, logging.getLevelName(level.upper())))
    root.setLevel(level.upper())
