"""A brand may choose that its batches' QR codes encode the GS1 Digital Link URI.

Revision ID: 0009_digital_link
Revises: 0008_scans_code_states
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

revision = "0009_digital_link"
down_revision = "0008_scans_code_states"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("brands") as batch:
        batch.add_column(sa.Column("qr_digital_link", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table("brands") as batch:
        batch.drop_column("qr_digital_link")
