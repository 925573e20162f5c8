"""Typed errors of the staff commands (defined in core.errors so every feature can raise them)."""

from core.errors import Conflict, Forbidden, Invalid, NotFound, StaffCommandError

__all__ = ["Conflict", "Forbidden", "Invalid", "NotFound", "StaffCommandError"]
