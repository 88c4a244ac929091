"""incidents.last_update_at: the interim-update interval, checked and taken in one statement

Revision ID: 0015
Revises: 0010 (0014 once the branches before it are merged)
"""

from alembic import op
import sqlalchemy as sa

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("incidents", sa.Column("last_update_at", sa.DateTime(timezone=True), nullable=True))
    # Updates posted before the upgrade still count for the interval.
    op.execute("UPDATE incidents SET last_update_at = "
               "(SELECT max(updates.created_at) FROM updates WHERE updates.incident_id = incidents.id)")


def downgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("last_update_at")
