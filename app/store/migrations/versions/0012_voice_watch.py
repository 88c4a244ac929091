"""voice_watches and voice_lines: the phone queue watch and the greeting ledger

Revision ID: 0012
Revises: 0010 (0011 once the branches are merged)
"""

from alembic import op
import sqlalchemy as sa

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "voice_watches",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("calls_waiting", sa.Integer(), nullable=True),
        sa.Column("polled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("routing_armed", sa.Integer(), server_default="1", nullable=False),
        sa.Column("crossings", sa.Integer(), server_default="0", nullable=False),
        sa.Column("crossings_alerted", sa.Integer(), server_default="0", nullable=False),
        sa.Column("switched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notes", sa.Text(), server_default="", nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"]),
        sa.PrimaryKeyConstraint("incident_id"),
    )
    op.create_table(
        "voice_lines",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("phone_number_id", sa.BigInteger(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("previous_greeting_ids", sa.Text(), nullable=False),
        sa.Column("outage_greeting_id", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"]),
        sa.PrimaryKeyConstraint("incident_id", "phone_number_id"),
    )
    op.create_index("voice_lines_state", "voice_lines", ["state", "incident_id"])


def downgrade() -> None:
    op.drop_index("voice_lines_state", table_name="voice_lines")
    op.drop_table("voice_lines")
    op.drop_table("voice_watches")
