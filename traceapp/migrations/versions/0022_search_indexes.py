"""Indexes for the record lists and searches (traceapp/lists): each list is read newest first, a
page at a time after the last row's key, so each needs an index in that order under its filter.

- batches (organization_id, harvest_date, id): a producer's batches; replaces the index on
  organization_id alone, its prefix.
- batches (origin_region, harvest_date, id): the regulator's search by region; replaces the
  index on origin_region alone.
- batches (brand, origin_region, harvest_date, id): a brand's batches in a county, and their
  count, from the index alone (the brand index would read each row for its region).
- batches (harvest_date, id): the regulator's search with no filter, or by product or state only.
- inspections (body_id, inspected_on, id): an inspection body's inspections; replaces the index on
  body_id alone. inspections (inspected_on, id): every inspection, for regulators.

Revision ID: 0022_search_indexes
Revises: 0021_accounts
Create Date: 2026-12-06
"""
from alembic import op

revision = "0022_search_indexes"
down_revision = "0021_accounts"
branch_labels = None
depends_on = None

REPLACED = [("batches", "ix_batches_organization_id", ["organization_id"], "ix_batches_org_harvest",
             ["organization_id", "harvest_date", "id"]),
            ("batches", "ix_batches_origin_region", ["origin_region"], "ix_batches_region_harvest",
             ["origin_region", "harvest_date", "id"]),
            ("inspections", "ix_inspections_body_id", ["body_id"], "ix_inspections_body_date",
             ["body_id", "inspected_on", "id"])]
ADDED = [("batches", "ix_batches_brand_region_harvest", ["brand", "origin_region", "harvest_date", "id"]),
         ("batches", "ix_batches_harvest", ["harvest_date", "id"]),
         ("inspections", "ix_inspections_date", ["inspected_on", "id"])]


def upgrade():
    for table, old, _old_columns, new, columns in REPLACED:
        op.create_index(new, table, columns)
        op.drop_index(old, table_name=table)
    for table, name, columns in ADDED:
        op.create_index(name, table, columns)


def downgrade():
    for table, name, _columns in ADDED:
        op.drop_index(name, table_name=table)
    for table, old, old_columns, new, _columns in REPLACED:
        op.create_index(old, table, old_columns)
        op.drop_index(new, table_name=table)
