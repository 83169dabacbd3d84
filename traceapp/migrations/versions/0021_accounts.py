"""Accounts: deactivating organizations, passwords to change at the next sign-in, API tokens
named by their prefix and last use and revoked by their owner, and the log of account actions.

Revision ID: 0021_accounts
Revises: 0020_personal_data
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0021_accounts"
down_revision = "0020_personal_data"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("organizations") as batch:
        batch.add_column(sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()))
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("must_change_password", sa.Boolean, nullable=False, server_default=sa.false()))
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("prefix", sa.String(16), nullable=True))
        batch.add_column(sa.Column("last_used_at", sa.DateTime, nullable=True))
        batch.add_column(sa.Column("revoked_at", sa.DateTime, nullable=True))
    op.create_table(
        "account_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("actor_id", sa.Integer, nullable=True),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("user_id", sa.Integer, nullable=True),
        sa.Column("detail", sa.Text, nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("id", name="pk_account_events"),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name="fk_account_events_actor_id_users"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_account_events_user_id_users"),
    )
    op.create_index("ix_account_events_user_id", "account_events", ["user_id"])


def downgrade():
    op.drop_table("account_events")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("revoked_at")
        batch.drop_column("last_used_at")
        batch.drop_column("prefix")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("must_change_password")
    with op.batch_alter_table("organizations") as batch:
        batch.drop_column("active")
