"""Organizations, users and API tokens.

Revision ID: 0002_organizations_users
Revises: 0001_ledger
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = "0002_organizations_users"
down_revision = "0001_ledger"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "organizations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("uscc", sa.String(18), nullable=True),
        sa.Column("region", sa.String(6), nullable=False),
        sa.Column("address", sa.String(300), nullable=False),
        sa.Column("contact", sa.String(200), nullable=False),
        sa.Column("demo", sa.Boolean, nullable=False),
        sa.Column("ledger_seq", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_organizations"),
        sa.UniqueConstraint("uscc", name="uq_organizations_uscc"),
    )
    op.create_index("ix_organizations_kind", "organizations", ["kind"])
    op.create_index("ix_organizations_region", "organizations", ["region"])
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=True),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("organization_id", sa.Integer, nullable=True),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("username", name="uq_users_username"),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"],
                                name="fk_users_organization_id_organizations"),
    )
    op.create_index("ix_users_organization_id", "users", ["organization_id"])
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_api_tokens_user_id_users"),
    )
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"])


def downgrade():
    op.drop_table("api_tokens")
    op.drop_table("users")
    op.drop_table("organizations")
