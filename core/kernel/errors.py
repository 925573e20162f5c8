"""The four kinds of refusal a staff operation can end in; the message is Chinese, for staff.

Every domain error a staff command raises is one of these (the feature errors such as
`BroadcastError` subclass them), so the doors choose the HTTP status by type: NotFound → 404,
Conflict → 409, Forbidden → 403, Invalid → 422 (server/staff/errors.py), never by the text.
"""

from __future__ import annotations


class StaffCommandError(ValueError):
    """A staff operation that cannot be done; str(error) is the Chinese message."""


class NotFound(StaffCommandError):
    """The object the operation names does not exist."""


class Conflict(StaffCommandError):
    """The object exists but its state forbids the operation (closed, already sent …)."""


class Forbidden(StaffCommandError):
    """The acting staff member may not do this (e.g. confirm their own broadcast)."""


class Invalid(StaffCommandError):
    """The input itself is wrong (empty text, unknown role, bad file …)."""
