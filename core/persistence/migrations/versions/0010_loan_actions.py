"""Staff actions on loans and staff FAQ additions in the database.

- `payment.source`: `import` (a payments file, the default for existing rows) or `manual`.
- `loan_action`: manual payments, collection notes (联系记录) and state changes (结清 / 代偿 / 核销),
  each reversible by an admin with a reason (core/staff/loan_actions.py).
- `faq_addition`: the FAQ entries staff add from the knowledge page (formerly
  knowledge/faq/staff_additions.yaml; core/staff/faq_edits.py moves an existing file's entries
  here on first use).

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import core.persistence.models

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = core.persistence.models.UTCDateTime


def upgrade() -> None:
    with op.batch_alter_table("payment") as batch:
        batch.add_column(
            sa.Column(
                "source",
                sqlmodel.sql.sqltypes.AutoString(length=16),
                nullable=False,
                server_default="import",
            )
        )
    op.create_table(
        "loan_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("loan_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("happened_on", sa.Date(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=True),
        sa.Column("status_from", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("status_to", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", _TS(timezone=True), nullable=False),
        sa.Column("reversed_at", _TS(timezone=True), nullable=True),
        sa.Column("reversed_by", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("reversal_reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.ForeignKeyConstraint(["loan_id"], ["loan.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_loan_action_loan_id", "loan_action", ["loan_id"])
    op.create_index("ix_loan_action_status_to", "loan_action", ["status_to"])
    op.create_table(
        "faq_addition",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", _TS(timezone=True), nullable=False),
        sa.Column("updated_at", _TS(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("entry_id"),
    )


def downgrade() -> None:
    op.drop_table("faq_addition")
    op.drop_index("ix_loan_action_status_to", table_name="loan_action")
    op.drop_index("ix_loan_action_loan_id", table_name="loan_action")
    op.drop_table("loan_action")
    with op.batch_alter_table("payment") as batch:
        batch.drop_column("source")
