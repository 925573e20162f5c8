"""Shared parameter types of the HTTP routes: every integer from a URL is bounded, so a value
beyond 64 bits is a 422 (never an OverflowError in the database driver, never a 500)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

MAX_ID = 2**31 - 1  # id columns are INTEGER (32 bits on PostgreSQL)
MAX_OFFSET = 2**63 - 1

DbId = Annotated[int, Path(ge=1, le=MAX_ID, description="row id")]
PageOffset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
