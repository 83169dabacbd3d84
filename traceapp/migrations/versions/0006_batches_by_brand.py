"""Batches by brand and harvest date, covering what the brand page and the claim check sum.

The brand page lists a brand's latest batches (brand, harvest_date desc, id desc) and sums
each licensee's quantity in a year (organization_id, unit, quantity over a harvest-date
range); with those columns in the index both read the index alone, not a million rows.
It replaces the plain index on brand, which is its prefix.

Revision ID: 0006_batches_by_brand
Revises: 0005_brands
Create Date: 2026-11-23
"""
from alembic import op

revision = "0006_batches_by_brand"
down_revision = "0005_brands"
branch_labels = None
depends_on = None

COLUMNS = ["brand", "harvest_date", "id", "organization_id", "unit", "quantity"]


def upgrade():
    op.create_index("ix_batches_brand_harvest", "batches", COLUMNS)
    op.drop_index("ix_batches_brand", "batches")


def downgrade():
    op.create_index("ix_batches_brand", "batches", ["brand"])
    op.drop_index("ix_batches_brand_harvest", "batches")
