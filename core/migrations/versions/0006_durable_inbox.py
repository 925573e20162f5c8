"""Durable inbox: inbound_message keeps the payload of a stored-then-processed update, when the
engine committed it, when its replies went out, a processing lease and the rendered response.

Revision ID: 0006
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import core.models

revision: str = "0006"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payload", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("response", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("processed_at", core.models.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("answered_at", core.models.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("locked_until", core.models.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            "ix_inbound_message_pending", ["channel", "answered_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("inbound_message", schema=None) as batch_op:
        batch_op.drop_index("ix_inbound_message_pending")
        batch_op.drop_column("locked_until")
        batch_op.drop_column("answered_at")
        batch_op.drop_column("processed_at")
        batch_op.drop_column("response")
        batch_op.drop_column("payload")
