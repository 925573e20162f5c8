"""The base of the policy data models and the text form their words match on."""

from __future__ import annotations

import functools
import unicodedata

from pydantic import BaseModel, ConfigDict


@functools.lru_cache(maxsize=8192)
def normalize_text(text: str) -> str:
    """Full-width to half-width (NFKC), lower case, whitespace removed: the form words match on
    (kept for the policy's own words, which every exclusion check normalises again)."""
    return "".join(unicodedata.normalize("NFKC", text).lower().split())


class FrozenModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
