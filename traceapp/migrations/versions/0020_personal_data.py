"""Personal data kept off the ledger (placeholder: the personal-data work fills it in).

Revision ID: 0020_personal_data
Revises: 0019_login_security
Create Date: 2026-12-06
"""

revision = "0020_personal_data"
down_revision = "0019_login_security"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
