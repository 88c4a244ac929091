"""room in the ledger for its own states and for Zendesk's text, as PostgreSQL enforces lengths

Revision ID: 0004
Revises: 0003
"""

from alembic import op
import sqlalchemy as sa

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Batch: SQLite rebuilds these tables (nothing references them); PostgreSQL alters in place.
    with op.batch_alter_table("notifications") as batch_op:
        batch_op.alter_column("state", type_=sa.String(length=40), existing_nullable=False)
        batch_op.alter_column("language", type_=sa.Text(), existing_nullable=False)
        batch_op.alter_column("phone", type_=sa.Text(), existing_nullable=True)
        batch_op.alter_column("detail", type_=sa.Text(), existing_nullable=True)
    with op.batch_alter_table("tasks") as batch_op:
        batch_op.alter_column("outcome", type_=sa.Text(), existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("tasks") as batch_op:
        batch_op.alter_column("outcome", type_=sa.String(length=300), existing_nullable=True)
    with op.batch_alter_table("notifications") as batch_op:
        batch_op.alter_column("detail", type_=sa.String(length=300), existing_nullable=True)
        batch_op.alter_column("phone", type_=sa.String(length=40), existing_nullable=True)
        batch_op.alter_column("language", type_=sa.String(length=10), existing_nullable=False)
        batch_op.alter_column("state", type_=sa.String(length=20), existing_nullable=False)
