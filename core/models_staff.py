"""Tables of the staff feature (kept apart from core/models.py)."""

from __future__ import annotations
