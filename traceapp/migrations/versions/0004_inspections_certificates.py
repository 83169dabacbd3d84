"""Inspections, certifications, 合格证 (compliance certificates), batch corrections and
API idempotency keys.

Revision ID: 0004_inspections_certificates
Revises: 0003_batches
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = "0004_inspections_certificates"
down_revision = "0003_batches"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}")


def upgrade():
    op.create_table(
        "inspections",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("batch_id", sa.Integer, nullable=False),
        sa.Column("inspected_on", sa.Date, nullable=False),
        sa.Column("body_id", sa.Integer, nullable=False),
        sa.Column("report_no", sa.String(64), nullable=False),
        sa.Column("items", sa.JSON, nullable=False),
        sa.Column("verdict", sa.String(8), nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("ledger_seq", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_inspections"),
        sa.UniqueConstraint("body_id", "report_no", name="uq_inspections_body_id_report_no"),
        _fk("inspections", "batch_id", "batches"),
        _fk("inspections", "body_id", "organizations"),
    )
    op.create_index("ix_inspections_batch_id", "inspections", ["batch_id"])
    op.create_index("ix_inspections_body_id", "inspections", ["body_id"])
    op.create_table(
        "certifications",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("holder_id", sa.Integer, nullable=False),
        sa.Column("products", sa.JSON, nullable=False),
        sa.Column("valid_from", sa.Date, nullable=False),
        sa.Column("valid_to", sa.Date, nullable=False),
        sa.Column("issuer", sa.String(200), nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("ledger_seq", sa.BigInteger, nullable=False),
        sa.Column("revoked_on", sa.Date, nullable=True),
        sa.Column("revoke_reason", sa.String(500), nullable=True),
        sa.Column("revoke_seq", sa.BigInteger, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_certifications"),
        sa.UniqueConstraint("kind", "number", name="uq_certifications_kind_number"),
        _fk("certifications", "holder_id", "organizations"),
    )
    op.create_index("ix_certifications_holder_id", "certifications", ["holder_id"])
    op.create_table(
        "compliance_certificates",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("batch_id", sa.Integer, nullable=False),
        sa.Column("basis", sa.String(32), nullable=False),
        sa.Column("inspection_id", sa.Integer, nullable=True),
        sa.Column("quantity", sa.Numeric(18, 3), nullable=False),
        sa.Column("issued_on", sa.Date, nullable=False),
        sa.Column("promiser", sa.String(16), nullable=False),
        sa.Column("contact", sa.String(200), nullable=False),
        sa.Column("issued_by", sa.String(64), nullable=False),
        sa.Column("ledger_seq", sa.BigInteger, nullable=False),
        sa.Column("voided_on", sa.Date, nullable=True),
        sa.Column("void_reason", sa.String(500), nullable=True),
        sa.Column("void_seq", sa.BigInteger, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_compliance_certificates"),
        sa.UniqueConstraint("code", name="uq_compliance_certificates_code"),
        _fk("compliance_certificates", "batch_id", "batches"),
        _fk("compliance_certificates", "inspection_id", "inspections"),
    )
    op.create_index("ix_compliance_certificates_batch_id", "compliance_certificates", ["batch_id"])
    op.create_table(
        "batch_corrections",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("batch_id", sa.Integer, nullable=False),
        sa.Column("fields", sa.JSON, nullable=False),
        sa.Column("previous", sa.JSON, nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("corrected_by", sa.String(64), nullable=False),
        sa.Column("corrected_at", sa.DateTime, nullable=False),
        sa.Column("ledger_seq", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_batch_corrections"),
        _fk("batch_corrections", "batch_id", "batches"),
    )
    op.create_index("ix_batch_corrections_batch_id", "batch_corrections", ["batch_id"])
    op.create_table(
        "idempotency_keys",
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("response", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.PrimaryKeyConstraint("user_id", "key", name="pk_idempotency_keys"),
        _fk("idempotency_keys", "user_id", "users"),
    )


def downgrade():
    op.drop_table("idempotency_keys")
    op.drop_table("batch_corrections")
    op.drop_table("compliance_certificates")
    op.drop_table("certifications")
    op.drop_table("inspections")
