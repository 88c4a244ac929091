"""comment_redactions: secrets redacted from customers' comments; inbox.secrets_checked_at

Revision ID: 0018
Revises: 0017
"""

from alembic import op
import sqlalchemy as sa

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "comment_redactions",
        sa.Column("comment_id", sa.BigInteger(), nullable=False),
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("kinds", sa.String(length=200), nullable=False),
        sa.Column("shown", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=40), nullable=False),
        sa.Column("updated_stamp", sa.String(length=40), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("comment_id"),
    )
    op.create_index("comment_redactions_state", "comment_redactions", ["state", "retry_at"])
    op.add_column("inbox", sa.Column("secrets_checked_at", sa.DateTime(timezone=True), nullable=True))
    # Deliveries stored before the upgrade are history: only comments arriving from now on are scanned.
    op.execute("UPDATE inbox SET secrets_checked_at = received_at")
    op.create_index("inbox_secrets_unchecked", "inbox", ["secrets_checked_at", "id"])


def downgrade() -> None:
    op.drop_index("inbox_secrets_unchecked", table_name="inbox")
    with op.batch_alter_table("inbox") as batch:
        batch.drop_column("secrets_checked_at")
    op.drop_index("comment_redactions_state", table_name="comment_redactions")
    op.drop_table("comment_redactions")
