"""Typed errors of the staff commands (defined in core.kernel.errors so every feature can raise them)."""

from core.kernel.errors import Conflict, Forbidden, Invalid, NotFound, StaffCommandError

__all__ = ["Conflict", "Forbidden", "Invalid", "NotFound", "StaffCommandError"]
