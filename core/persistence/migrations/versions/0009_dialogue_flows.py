"""Dialogue split into flows: typed conversation state, intake fields, one-time codes.

- `conversation`: the ad-hoc state keys of older rows become the typed state of
  core/dialogue/state.py (docs_app/docs_item -> docs, suggestions -> faq; flow apply_name -> apply).
- `application`: the intake fields business_type, business_address, planned_start, company_name.
- `one_time_code`: codes sent by SMS to verify a mobile number (core/dialogue/otp.py).

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
import sqlmodel
from alembic import op

import core.persistence.models

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_conv = sa.table(
    "conversation",
    sa.column("id", sa.Integer),
    sa.column("flow", sa.String),
    sa.column("step", sa.String),
    sa.column("state", sa.JSON),
)


def typed_state(old: dict[str, Any]) -> dict[str, Any]:
    """An old ad-hoc state dict as the typed state (unknown keys dropped)."""
    return {
        "options": [str(k) for k in old.get("options") or []],
        "faq": {
            "suggestions": list(old.get("suggestions") or []),
            "suggestion_ids": list(old.get("suggestion_ids") or []),
        },
        "precheck": old.get("precheck"),
        "last_precheck": old.get("last_precheck"),
        "apply": {"app_id": None, "editing": False, "pending_phone": None, "skipped": []},
        "docs": {"app_id": old.get("docs_app"), "item": old.get("docs_item")},
    }


def old_state(new: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"options": new.get("options") or []}
    faq = new.get("faq") or {}
    if faq.get("suggestions"):
        out["suggestions"] = faq["suggestions"]
        out["suggestion_ids"] = faq.get("suggestion_ids") or []
    for key in ("precheck", "last_precheck"):
        if new.get(key) is not None:
            out[key] = new[key]
    docs = new.get("docs") or {}
    if docs.get("app_id") is not None:
        out["docs_app"] = docs["app_id"]
    if docs.get("item") is not None:
        out["docs_item"] = docs["item"]
    return out


def _convert(flow_map: dict[str, tuple[str, str | None]], convert: Any) -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.select(_conv.c.id, _conv.c.flow, _conv.c.step, _conv.c.state)).all()
    for row in rows:
        flow, step = row.flow, row.step
        if flow in flow_map:
            flow, step = flow_map[flow]
        conn.execute(
            _conv.update()
            .where(_conv.c.id == row.id)
            .values(flow=flow, step=step, state=convert(row.state or {}))
        )


def upgrade() -> None:
    op.create_table(
        "one_time_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("code_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("expires_at", core.persistence.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", core.persistence.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", core.persistence.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("one_time_code", schema=None) as batch_op:
        batch_op.create_index(
            "ix_one_time_code_subject", ["channel", "address", "created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_one_time_code_phone"), ["phone"], unique=False)
    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("business_type", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "business_address", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column("planned_start", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )
        batch_op.add_column(
            sa.Column("company_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True)
        )
    _convert({"apply_name": ("apply", "name")}, typed_state)


def downgrade() -> None:
    _convert({"apply": ("apply_name", None)}, old_state)
    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.drop_column("company_name")
        batch_op.drop_column("planned_start")
        batch_op.drop_column("business_address")
        batch_op.drop_column("business_type")
    with op.batch_alter_table("one_time_code", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_one_time_code_phone"))
        batch_op.drop_index("ix_one_time_code_subject")
    op.drop_table("one_time_code")
