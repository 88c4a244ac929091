"""suspected incidents: their cluster's subject, the alert that links to them, and every state change

Revision ID: 0009
Revises: 0008
"""

from alembic import op
import sqlalchemy as sa

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

OLD_ACTIVE = "state != 'resolved'"
ACTIVE = "state IN ('declared', 'resolving')"
SUSPECTED = "state = 'suspected'"


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch_op:
        batch_op.add_column(sa.Column("subject_key", sa.String(length=200), nullable=True))
        # Suspected and dismissed incidents write nothing to Zendesk: they do not hold the tag.
        batch_op.drop_index("one_active_incident_per_tag")
        batch_op.create_index("one_active_incident_per_tag", ["tag"], unique=True,
                              sqlite_where=sa.text(ACTIVE), postgresql_where=sa.text(ACTIVE))
        batch_op.create_index("one_suspected_incident_per_subject", ["subject_key"], unique=True,
                              sqlite_where=sa.text(SUSPECTED), postgresql_where=sa.text(SUSPECTED))
    with op.batch_alter_table("alerts") as batch_op:
        batch_op.add_column(sa.Column("incident_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("alerts_incident", "incidents", ["incident_id"], ["id"])
    op.create_table(
        "state_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("from_state", sa.String(length=20), nullable=True),
        sa.Column("to_state", sa.String(length=20), nullable=False),
        sa.Column("changed_by", sa.String(length=80), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("state_changes_by_incident", "state_changes", ["incident_id", "id"])


def downgrade() -> None:
    op.drop_index("state_changes_by_incident", table_name="state_changes")
    op.drop_table("state_changes")
    with op.batch_alter_table("alerts") as batch_op:
        batch_op.drop_constraint("alerts_incident", type_="foreignkey")
        batch_op.drop_column("incident_id")
    op.execute("DELETE FROM incidents WHERE state IN ('suspected', 'dismissed')")
    with op.batch_alter_table("incidents") as batch_op:
        batch_op.drop_index("one_suspected_incident_per_subject")
        batch_op.drop_index("one_active_incident_per_tag")
        batch_op.create_index("one_active_incident_per_tag", ["tag"], unique=True,
                              sqlite_where=sa.text(OLD_ACTIVE), postgresql_where=sa.text(OLD_ACTIVE))
        batch_op.drop_column("subject_key")
