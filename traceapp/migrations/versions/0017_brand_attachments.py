"""Sub-brand attachment requests, and certificates tied to the body that issued them.

A brand placed under another owner's parent brand waits in ``brand_attachments`` until the
parent's brand manager accepts or refuses it. A certificate names the registered certification
body that issued it (``issuer_id``) and says whether an admin entered it. Existing certificates
keep ``issuer_id`` empty and ``entered_by_admin`` false: their ledger entries say neither.

Revision ID: 0017_brand_attachments
Revises: 0016_transfers
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0017_brand_attachments"
down_revision = "0016_transfers"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "brand_attachments",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("brand_id", sa.Integer, nullable=False),
        sa.Column("parent_id", sa.Integer, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("ledger_seq", sa.BigInteger, nullable=False),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decided_on", sa.Date, nullable=True),
        sa.Column("reason", sa.String(500), nullable=True),
        sa.Column("decision_seq", sa.BigInteger, nullable=True),
        sa.ForeignKeyConstraint(["brand_id"], ["brands.id"], name="fk_brand_attachments_brand_id_brands"),
        sa.ForeignKeyConstraint(["parent_id"], ["brands.id"], name="fk_brand_attachments_parent_id_brands"),
        sa.PrimaryKeyConstraint("id", name="pk_brand_attachments"),
    )
    op.create_index("ix_brand_attachments_brand_id", "brand_attachments", ["brand_id"])
    op.create_index("ix_brand_attachments_parent_id", "brand_attachments", ["parent_id"])
    with op.batch_alter_table("certifications") as batch:
        batch.add_column(sa.Column("issuer_id", sa.Integer, nullable=True))
        batch.add_column(sa.Column("entered_by_admin", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.create_foreign_key("fk_certifications_issuer_id_organizations", "organizations", ["issuer_id"], ["id"])


def downgrade():
    with op.batch_alter_table("certifications") as batch:
        batch.drop_constraint("fk_certifications_issuer_id_organizations", type_="foreignkey")
        batch.drop_column("entered_by_admin")
        batch.drop_column("issuer_id")
    op.drop_index("ix_brand_attachments_parent_id", "brand_attachments")
    op.drop_index("ix_brand_attachments_brand_id", "brand_attachments")
    op.drop_table("brand_attachments")
