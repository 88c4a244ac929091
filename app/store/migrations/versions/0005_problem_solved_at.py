"""when the problem ticket's solve landed, so a rerun of resolve does not ask Zendesk again

Revision ID: 0005
Revises: 0004
"""

from alembic import op
import sqlalchemy as sa

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Incidents resolved before this revision get it on their next resolve, which finds the problem solved.
    with op.batch_alter_table("incidents") as batch_op:
        batch_op.add_column(sa.Column("problem_solved_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("incidents") as batch_op:
        batch_op.drop_column("problem_solved_at")
