"""aftercare: requesters and organisations an outage hurt, and the raises of their new tickets

Revision ID: 0017
Revises: 0016
"""

from alembic import op
import sqlalchemy as sa


revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("incidents", sa.Column("aftercare_marked_at", sa.DateTime(timezone=True), nullable=True))
    # Outages resolved before the upgrade are not marked afterwards: their customers were looked after by hand.
    op.execute("UPDATE incidents SET aftercare_marked_at = ended_at WHERE state = 'resolved'")
    op.create_table(
        "aftercare",
        sa.Column("kind", sa.String(20), primary_key=True),
        sa.Column("zendesk_id", sa.BigInteger(), primary_key=True),
        sa.Column("incident_id", sa.Integer(), sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("marked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("aftercare_until", "aftercare", ["until"])
    op.create_table(
        "aftercare_tickets",
        sa.Column("ticket_id", sa.BigInteger(), primary_key=True),
        sa.Column("incident_id", sa.Integer(), sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("zendesk_id", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("from_priority", sa.String(20), nullable=True),
        sa.Column("to_priority", sa.String(20), nullable=False),
        sa.Column("updated_stamp", sa.String(40), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("aftercare_tickets")
    op.drop_index("aftercare_until", table_name="aftercare")
    op.drop_table("aftercare")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("aftercare_marked_at")
