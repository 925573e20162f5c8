"""Tables added by the sms feature (kept apart from core/models.py so features evolve independently)."""

from __future__ import annotations
