"""Each scanned code's count of stored scans, kept with its first scan: the consumer page reads it
with the rest of the page instead of counting the code's scans.

Revision ID: 0013_scan_counts
Revises: 0012_export_log
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0013_scan_counts"
down_revision = "0012_export_log"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("first_scans") as batch:
        batch.add_column(sa.Column("scan_count", sa.BigInteger, nullable=False, server_default="0"))
    op.execute("UPDATE first_scans SET scan_count = "
               "(SELECT count(*) FROM scans WHERE scans.batch_id = first_scans.batch_id)")


def downgrade():
    with op.batch_alter_table("first_scans") as batch:
        batch.drop_column("scan_count")
