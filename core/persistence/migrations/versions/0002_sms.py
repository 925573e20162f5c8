"""Tables of the sms feature: shared rate-limit slots, status callback events, the reply cap log.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import core.persistence.models

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sms_rate_slot",
        sa.Column("sender_key", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("next_at_us", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", core.persistence.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sender_key"),
    )
    op.create_table(
        "sms_status_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_sid", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("error_code", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("idempotency_token", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("notice_id", sa.Integer(), nullable=True),
        sa.Column("applied", sa.Boolean(), nullable=False),
        sa.Column(
            "received_at", core.persistence.models.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(["notice_id"], ["notice.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_sid", "status", name="uq_sms_status_event"),
        sa.UniqueConstraint("idempotency_token", name="uq_sms_status_event_token"),
    )
    with op.batch_alter_table("sms_status_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sms_status_event_message_sid"), ["message_sid"], unique=False
        )
    op.create_table(
        "sms_auto_reply",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("message_sid", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("suppressed", sa.Boolean(), nullable=False),
        sa.Column("at", core.persistence.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_sid", name="uq_sms_auto_reply_sid"),
    )
    with op.batch_alter_table("sms_auto_reply", schema=None) as batch_op:
        batch_op.create_index("ix_sms_auto_reply_address_at", ["address", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sms_auto_reply", schema=None) as batch_op:
        batch_op.drop_index("ix_sms_auto_reply_address_at")
    op.drop_table("sms_auto_reply")
    with op.batch_alter_table("sms_status_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sms_status_event_message_sid"))
    op.drop_table("sms_status_event")
    op.drop_table("sms_rate_slot")
