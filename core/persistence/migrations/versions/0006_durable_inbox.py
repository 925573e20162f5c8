"""Durable inbox and login throttling. inbound_message keeps the payload of a stored-then-processed update, when the
engine committed it, when its replies went out, a processing lease and the rendered response;
login_failure records failed console logins by address and network.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import core.persistence.models

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_failure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("ip", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("network", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("at", core.persistence.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("login_failure", schema=None) as batch_op:
        for column in ("username", "ip", "network", "at"):
            batch_op.create_index(f"ix_login_failure_{column}", [column], unique=False)
    with op.batch_alter_table("inbound_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payload", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("response", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "processed_at", core.persistence.models.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column(
                "answered_at", core.persistence.models.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column(
                "locked_until", core.persistence.models.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.create_index(
            "ix_inbound_message_pending", ["channel", "answered_at"], unique=False
        )


def downgrade() -> None:
    op.drop_table("login_failure")
    with op.batch_alter_table("inbound_message", schema=None) as batch_op:
        batch_op.drop_index("ix_inbound_message_pending")
        batch_op.drop_column("locked_until")
        batch_op.drop_column("answered_at")
        batch_op.drop_column("processed_at")
        batch_op.drop_column("response")
        batch_op.drop_column("payload")
