"""maintenance_windows: scheduled maintenance; updates may be a window's advance notice

Revision ID: 0014
Revises: 0010 (to be rebased on 0013)
"""

from alembic import op
import sqlalchemy as sa

revision = "0014"
down_revision = "0010"
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
    with op.batch_alter_table("updates") as batch:
        batch.alter_column("incident_id", existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column("maintenance_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("updates_maintenance_id_fkey", "maintenance_windows", ["maintenance_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("updates") as batch:
        batch.drop_constraint("updates_maintenance_id_fkey", type_="foreignkey")
        batch.drop_column("maintenance_id")
        batch.alter_column("incident_id", existing_type=sa.Integer(), nullable=False)
    op.drop_index("maintenance_windows_due", table_name="maintenance_windows")
    op.drop_table("maintenance_windows")
