"""WeChat door: the shared access_token row (link codes live in one_time_code, revision 0009).

Revision ID: 0008
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import core.persistence.models

revision: str = "0008"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "wechat_token",
        sa.Column("app_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("access_token", sqlmodel.sql.sqltypes.AutoString(length=512), nullable=True),
        sa.Column("expires_at", core.persistence.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "refreshing_until", core.persistence.models.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("fetched", sa.Integer(), nullable=False),
        sa.Column("updated_at", core.persistence.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("app_id"),
    )


def downgrade() -> None:
    op.drop_table("wechat_token")
