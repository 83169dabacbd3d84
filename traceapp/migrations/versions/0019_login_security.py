"""Login throttling, login log and session versions (filled in by the login work).

Revision ID: 0019_login_security
Revises: 0018_scan_warnings
Create Date: 2026-12-06
"""

revision = "0019_login_security"
down_revision = "0018_scan_warnings"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
