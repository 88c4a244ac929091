"""merges and reopened_tickets: duplicates merged into the customer's first ticket, tickets reopened after the fix

Revision ID: 0019
Revises: 0018
"""

from alembic import op
import sqlalchemy as sa

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "merges",
        sa.Column("incident_id", sa.Integer(), sa.ForeignKey("incidents.id"), primary_key=True),
        sa.Column("source_ticket_id", sa.BigInteger(), primary_key=True),
        sa.Column("target_ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("requester_id", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("job_id", sa.String(100), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("merges_state", "merges", ["incident_id", "state"])
    op.create_table(
        "reopened_tickets",
        sa.Column("ticket_id", sa.BigInteger(), primary_key=True),
        sa.Column("incident_id", sa.Integer(), sa.ForeignKey("incidents.id"), primary_key=True),
        sa.Column("reopened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("followup_incident_id", sa.Integer(),
                  sa.ForeignKey("incidents.id", name="reopened_followup_fkey"), nullable=True),
        sa.Column("flag_claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
    )
    op.create_index("reopened_by_incident", "reopened_tickets", ["incident_id", "state"])


def downgrade() -> None:
    op.drop_index("reopened_by_incident", table_name="reopened_tickets")
    op.drop_table("reopened_tickets")
    op.drop_index("merges_state", table_name="merges")
    op.drop_table("merges")
