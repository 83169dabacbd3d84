"""Brands and licences.

Revision ID: 0005_brands
Revises: 0004_inspections_certificates
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_brands"
down_revision = "0004_inspections_certificates"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "brands",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("slug", sa.String(64), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("aliases", sa.JSON, nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("parent_id", sa.Integer, nullable=True),
        sa.Column("owner_id", sa.Integer, nullable=False),
        sa.Column("area", sa.JSON, nullable=False),
        sa.Column("products", sa.JSON, nullable=False),
        sa.Column("gi_number", sa.String(100), nullable=True),
        sa.Column("standard", sa.String(100), nullable=True),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("retired_on", sa.Date, nullable=True),
        sa.Column("ledger_seq", sa.BigInteger, nullable=False),
        sa.Column("search_text", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_brands"),
        sa.UniqueConstraint("slug", name="uq_brands_slug"),
        sa.ForeignKeyConstraint(["parent_id"], ["brands.id"], name="fk_brands_parent_id_brands"),
        sa.ForeignKeyConstraint(["owner_id"], ["organizations.id"], name="fk_brands_owner_id_organizations"),
    )
    op.create_index("ix_brands_category", "brands", ["category"])
    op.create_index("ix_brands_owner_id", "brands", ["owner_id"])
    op.create_table(
        "licenses",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("brand_id", sa.Integer, nullable=False),
        sa.Column("licensee_id", sa.Integer, nullable=False),
        sa.Column("products", sa.JSON, nullable=False),
        sa.Column("valid_from", sa.Date, nullable=False),
        sa.Column("valid_to", sa.Date, nullable=False),
        sa.Column("quantity", sa.Numeric(18, 3), nullable=False),
        sa.Column("unit", sa.String(8), nullable=False),
        sa.Column("bases", sa.JSON, nullable=False),
        sa.Column("granted_by", sa.String(64), nullable=False),
        sa.Column("ledger_seq", sa.BigInteger, nullable=False),
        sa.Column("revoked_on", sa.Date, nullable=True),
        sa.Column("revoke_reason", sa.String(500), nullable=True),
        sa.Column("revoke_seq", sa.BigInteger, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_licenses"),
        sa.ForeignKeyConstraint(["brand_id"], ["brands.id"], name="fk_licenses_brand_id_brands"),
        sa.ForeignKeyConstraint(["licensee_id"], ["organizations.id"], name="fk_licenses_licensee_id_organizations"),
    )
    op.create_index("ix_licenses_brand_id", "licenses", ["brand_id"])
    op.create_index("ix_licenses_licensee_id", "licenses", ["licensee_id"])


def downgrade():
    op.drop_table("licenses")
    op.drop_table("brands")
