"""Accounts: deactivation, forced password changes, token use.

(Placeholder: reserved for the admin work, which fills it in.)

Revision ID: 0021_accounts
Revises: 0020_personal_data
Create Date: 2026-12-06
"""

revision = "0021_accounts"
down_revision = "0020_personal_data"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
