"""detection: new tickets by subject, and the suspected-outage alerts sent

Revision ID: 0006
Revises: 0005
"""

from alembic import op
import sqlalchemy as sa

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sightings",
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("subject_key", sa.String(length=200), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("ticket_id"),
    )
    op.create_index("sightings_by_subject", "sightings", ["subject_key", "seen_at"])
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_key", sa.String(length=200), nullable=False),
        sa.Column("tickets", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("alerts_by_subject", "alerts", ["subject_key", "sent_at"])


def downgrade() -> None:
    op.drop_index("alerts_by_subject", table_name="alerts")
    op.drop_table("alerts")
    op.drop_index("sightings_by_subject", table_name="sightings")
    op.drop_table("sightings")
