"""setting_changes, checklist_items and checklist_posts: agent settings for the outage

Revision ID: 0013
Revises: 0012
"""

from alembic import op
import sqlalchemy as sa

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

LIVE = "state IN ('applying', 'applied', 'restoring')"


def upgrade() -> None:
    op.create_table(
        "setting_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("setting", sa.String(length=40), nullable=False),
        sa.Column("previous", sa.Text(), nullable=True),
        sa.Column("outage_value", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("restored_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("one_live_change_per_setting", "setting_changes", ["setting"], unique=True,
                    sqlite_where=sa.text(LIVE), postgresql_where=sa.text(LIVE))
    op.create_index("setting_changes_by_incident", "setting_changes", ["incident_id"])
    op.create_table(
        "checklist_items",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("item", sa.String(length=40), nullable=False),
        sa.Column("phase", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("ticked_by", sa.BigInteger(), nullable=True),
        sa.Column("ticked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"]),
        sa.PrimaryKeyConstraint("incident_id", "item"),
    )
    op.create_table(
        "checklist_posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("phase", sa.String(length=20), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("one_checklist_post_per_phase", "checklist_posts", ["incident_id", "phase"], unique=True)


def downgrade() -> None:
    op.drop_index("one_checklist_post_per_phase", table_name="checklist_posts")
    op.drop_table("checklist_posts")
    op.drop_table("checklist_items")
    op.drop_index("setting_changes_by_incident", table_name="setting_changes")
    op.drop_index("one_live_change_per_setting", table_name="setting_changes")
    op.drop_table("setting_changes")
