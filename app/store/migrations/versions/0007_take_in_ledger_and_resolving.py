"""take-in ledger (state, stamp, retries), notification kinds and retries, the resolve claim

Revision ID: 0007
Revises: 0006
"""

from alembic import op
import sqlalchemy as sa

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch_op:
        batch_op.add_column(sa.Column("resolve_claimed_at", sa.DateTime(timezone=True), nullable=True))
    # Tickets recorded by an older release were recorded once their take-in had landed.
    with op.batch_alter_table("affected_tickets") as batch_op:
        batch_op.add_column(sa.Column("state", sa.String(length=20), server_default="taken", nullable=False))
        batch_op.add_column(sa.Column("acknowledged", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("updated_stamp", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("detail", sa.Text(), nullable=True))
        batch_op.create_index("affected_tickets_state", ["incident_id", "state"])
    with op.batch_alter_table("notifications") as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=20), server_default="email", nullable=False))
        batch_op.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True))
    # The kind used to live inside the state ("callback-planned", "submitted:callback-planned").
    op.execute("UPDATE notifications SET kind = 'callback' WHERE state LIKE '%callback-planned'")
    op.execute("UPDATE notifications SET state = 'submitted' WHERE state LIKE 'submitted:%'")
    op.execute("UPDATE notifications SET state = 'planned' WHERE state = 'callback-planned'")
    op.execute("UPDATE notifications SET state = 'given_up' WHERE state = 'failed'")


def downgrade() -> None:
    op.execute("UPDATE notifications SET state = 'failed' WHERE state IN ('given_up', 'retry')")
    op.execute("UPDATE notifications SET state = 'submitted:callback-planned' "
               "WHERE state = 'submitted' AND kind = 'callback'")
    op.execute("UPDATE notifications SET state = 'submitted:planned' WHERE state = 'submitted'")
    op.execute("UPDATE notifications SET state = 'callback-planned' WHERE state = 'planned' AND kind = 'callback'")
    with op.batch_alter_table("notifications") as batch_op:
        batch_op.drop_column("retry_at")
        batch_op.drop_column("attempts")
        batch_op.drop_column("kind")
    with op.batch_alter_table("affected_tickets") as batch_op:
        batch_op.drop_index("affected_tickets_state")
        for column in ("detail", "retry_at", "attempts", "updated_stamp", "acknowledged", "state"):
            batch_op.drop_column(column)
    op.execute("UPDATE incidents SET state = 'declared' WHERE state = 'resolving'")
    with op.batch_alter_table("incidents") as batch_op:
        batch_op.drop_column("resolve_claimed_at")
