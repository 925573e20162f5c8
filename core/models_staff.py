"""Tables added by the staff feature (kept apart from core/models.py so features evolve independently)."""

from __future__ import annotations
