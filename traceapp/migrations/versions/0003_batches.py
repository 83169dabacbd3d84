"""Batches and their inputs.

Revision ID: 0003_batches
Revises: 0002_organizations_users
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = "0003_batches"
down_revision = "0002_organizations_users"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "batches",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("organization_id", sa.Integer, nullable=False),
        sa.Column("product", sa.String(100), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("brand", sa.String(64), nullable=True),
        sa.Column("quantity", sa.Numeric(18, 3), nullable=False),
        sa.Column("unit", sa.String(8), nullable=False),
        sa.Column("harvest_date", sa.Date, nullable=False),
        sa.Column("pack_date", sa.Date, nullable=True),
        sa.Column("origin_region", sa.String(6), nullable=False),
        sa.Column("base", sa.String(200), nullable=False),
        sa.Column("gtin", sa.String(14), nullable=True),
        sa.Column("lot", sa.String(20), nullable=True),
        sa.Column("registered_by", sa.String(64), nullable=False),
        sa.Column("ledger_seq", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_batches"),
        sa.UniqueConstraint("code", name="uq_batches_code"),
        sa.UniqueConstraint("gtin", "lot", name="uq_batches_gtin_lot"),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"],
                                name="fk_batches_organization_id_organizations"),
    )
    op.create_index("ix_batches_organization_id", "batches", ["organization_id"])
    op.create_index("ix_batches_brand", "batches", ["brand"])
    op.create_index("ix_batches_origin_region", "batches", ["origin_region"])
    op.create_table(
        "batch_inputs",
        sa.Column("batch_id", sa.Integer, nullable=False),
        sa.Column("input_id", sa.Integer, nullable=False),
        sa.Column("quantity", sa.Numeric(18, 3), nullable=False),
        sa.PrimaryKeyConstraint("batch_id", "input_id", name="pk_batch_inputs"),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.id"], name="fk_batch_inputs_batch_id_batches"),
        sa.ForeignKeyConstraint(["input_id"], ["batches.id"], name="fk_batch_inputs_input_id_batches"),
    )
    op.create_index("ix_batch_inputs_input_id", "batch_inputs", ["input_id"])


def downgrade():
    op.drop_table("batch_inputs")
    op.drop_table("batches")
