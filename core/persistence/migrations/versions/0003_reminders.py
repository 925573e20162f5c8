"""Tables of the reminders feature.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import core.persistence.models

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sweep_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("policy", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("candidates", sa.Integer(), nullable=False),
        sa.Column("planned", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("worker", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("started_at", core.persistence.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", core.persistence.models.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("sweep_run", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sweep_run_day"), ["day"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sweep_run", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sweep_run_day"))
    op.drop_table("sweep_run")
