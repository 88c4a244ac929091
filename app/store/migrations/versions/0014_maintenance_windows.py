"""maintenance_windows: scheduled maintenance; updates may be a window's advance notice

Revision ID: 0014
Revises: 0010 (to be rebased on 0013)
"""

from contextlib import contextmanager

from alembic import op
import sqlalchemy as sa

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "maintenance_windows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("tag", sa.String(length=80), nullable=False),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("cr_value", sa.String(length=200), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("maintenance_windows_due", "maintenance_windows", ["ended_at", "starts_at"])
    # An advance notice is an interim update of a window, sent before its incident exists.
    with _replies_set_aside(), op.batch_alter_table("updates") as batch:
        batch.alter_column("incident_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("maintenance_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("updates_maintenance_id_fkey", "maintenance_windows", ["maintenance_id"], ["id"])


def downgrade() -> None:
    op.execute("DELETE FROM update_replies WHERE update_id IN (SELECT id FROM updates WHERE incident_id IS NULL)")
    op.execute("DELETE FROM updates WHERE incident_id IS NULL")
    with _replies_set_aside(), op.batch_alter_table("updates") as batch:
        batch.drop_constraint("updates_maintenance_id_fkey", type_="foreignkey")
        batch.drop_column("maintenance_id")
        batch.alter_column("incident_id", existing_type=sa.Integer(), nullable=False)
    op.drop_index("maintenance_windows_due", table_name="maintenance_windows")
    op.drop_table("maintenance_windows")


@contextmanager
def _replies_set_aside():
    """SQLite rebuilds `updates` (drop, recreate), which it refuses while update_replies rows reference it
    (foreign keys are on, and cannot be turned off inside the migration's transaction): the ledger waits in
    a copy meanwhile. PostgreSQL alters the table in place."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("CREATE TEMP TABLE update_replies_aside AS SELECT * FROM update_replies")
        op.execute("DELETE FROM update_replies")
    yield
    if sqlite:
        op.execute("INSERT INTO update_replies SELECT * FROM update_replies_aside")
        op.execute("DROP TABLE update_replies_aside")
