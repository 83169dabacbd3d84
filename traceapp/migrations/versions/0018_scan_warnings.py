"""What scan warnings count: each stored scan is one client's first view of a code in its period
(``period``, the Unix second the SCAN_ALERT_WINDOW-long period starts; unique with the code and the
client, so that one client's repeats count once however many workers see them), and the region a
trusted proxy named (``region``). Scans stored before keep no period: they stay as they were.

Revision ID: 0018_scan_warnings
Revises: 0017_brand_attachments
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0018_scan_warnings"
down_revision = "0017_brand_attachments"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("scans") as batch:
        batch.add_column(sa.Column("period", sa.BigInteger, nullable=True))
        batch.add_column(sa.Column("region", sa.String(32), nullable=True))
    op.create_index("uq_scans_batch_id_client_period", "scans", ["batch_id", "client", "period"], unique=True)


def downgrade():
    op.drop_index("uq_scans_batch_id_client_period", table_name="scans")
    with op.batch_alter_table("scans") as batch:
        batch.drop_column("region")
        batch.drop_column("period")
