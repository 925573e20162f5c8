"""The staff side written once: one command per staff operation, called by the staff API, the
console and the staff Telegram chat alike. Each command takes a Session and the acting staff
member, writes its audit entry itself and raises the typed errors of `core.staff.errors`.

Accounts (roles, password hashing, tokens) are in `core.staff.accounts`, re-exported here."""

from core.staff.accounts import (
    ROLE_LABELS,
    ROLES,
    PasswordHasher,
    StaffError,
    StaffNotFound,
    authenticate,
    create_staff,
    hash_token,
    issue_api_token,
    role_at_least,
    user_by_token,
)

__all__ = [
    "ROLES",
    "ROLE_LABELS",
    "PasswordHasher",
    "StaffError",
    "StaffNotFound",
    "authenticate",
    "create_staff",
    "hash_token",
    "issue_api_token",
    "role_at_least",
    "user_by_token",
]
