"""Personal data kept off the ledger: the salt and clear value of each personal field an entry
holds as a commitment, until erased.

Revision ID: 0020_personal_data
Revises: 0019_login_security
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0020_personal_data"
down_revision = "0019_login_security"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "personal_data",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), nullable=False),
        sa.Column("path", sa.String(100), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("salt", sa.LargeBinary, nullable=True),
        sa.Column("value", sa.Text, nullable=True),
        sa.Column("erased_seq", sa.BigInteger, nullable=True),
        sa.PrimaryKeyConstraint("seq", "path", name="pk_personal_data"),
    )
    op.create_index("ix_personal_data_subject", "personal_data", ["subject"])


def downgrade():
    op.drop_table("personal_data")
