"""sidebar tasks; incidents finished by the worker; settings learnt by setup

Revision ID: 0002
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch_op:
        batch_op.add_column(sa.Column("backfilled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("origin_ticket_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("backfill_claimed_at", sa.DateTime(timezone=True), nullable=True))
    # Incidents declared before this revision were backfilled by the CLI that declared them.
    op.execute("UPDATE incidents SET backfilled_at = declared_at, backfill_claimed_at = declared_at")
    op.create_table(
        "tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.BigInteger(), nullable=True),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("tasks") as batch_op:
        batch_op.create_index("tasks_pending", ["done_at", "id"], unique=False)
    op.create_table(
        "settings",
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("settings")
    with op.batch_alter_table("tasks") as batch_op:
        batch_op.drop_index("tasks_pending")
    op.drop_table("tasks")
    with op.batch_alter_table("incidents") as batch_op:
        batch_op.drop_column("backfill_claimed_at")
        batch_op.drop_column("origin_ticket_id")
        batch_op.drop_column("backfilled_at")
