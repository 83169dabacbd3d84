"""Licences by licensee and brand: the consumer page and every brand claim look up the
licence a producer holds for one brand; the brand's own index would scan all its licensees.

Revision ID: 0011_licenses_by_licensee
Revises: 0010_verification_runs
Create Date: 2026-11-23
"""
from alembic import op

revision = "0011_licenses_by_licensee"
down_revision = "0010_verification_runs"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_licenses_licensee_id_brand_id", "licenses", ["licensee_id", "brand_id"])
    op.drop_index("ix_licenses_licensee_id", "licenses")


def downgrade():
    op.create_index("ix_licenses_licensee_id", "licenses", ["licensee_id"])
    op.drop_index("ix_licenses_licensee_id_brand_id", "licenses")
