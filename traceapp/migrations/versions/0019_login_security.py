"""Login security: each user's session version (logout and password changes end every session
signed before them) and the login log the throttle counts.

Revision ID: 0019_login_security
Revises: 0018_scan_warnings
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0019_login_security"
down_revision = "0018_scan_warnings"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("session_version", sa.Integer, nullable=False, server_default="0"))
    op.create_table(
        "login_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer, nullable=True),
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_login_events"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_login_events_user_id_users"),
    )
    op.create_index("ix_login_events_username_at", "login_events", ["username", "at"])
    op.create_index("ix_login_events_client_at", "login_events", ["client", "at"])


def downgrade():
    op.drop_table("login_events")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("session_version")
