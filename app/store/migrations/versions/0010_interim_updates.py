"""updates and update_replies: interim updates and their ledger

Revision ID: 0010
Revises: 0009
"""

from alembic import op
import sqlalchemy as sa

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "updates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("texts", sa.Text(), nullable=True),
        sa.Column("macro", sa.Text(), nullable=True),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("planned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("updates_by_incident", "updates", ["incident_id", "created_at"])
    op.create_table(
        "update_replies",
        sa.Column("update_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("language", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=40), nullable=False),
        sa.Column("author_id", sa.BigInteger(), nullable=True),
        sa.Column("updated_stamp", sa.String(length=40), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["update_id"], ["updates.id"]),
        sa.PrimaryKeyConstraint("update_id", "ticket_id"),
    )
    op.create_index("update_replies_state", "update_replies", ["update_id", "state"])


def downgrade() -> None:
    op.drop_index("update_replies_state", table_name="update_replies")
    op.drop_table("update_replies")
    op.drop_index("updates_by_incident", table_name="updates")
    op.drop_table("updates")
