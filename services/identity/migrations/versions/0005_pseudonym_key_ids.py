"""Which pseudonym key each account was last announced with (CitizenRegistered v4,
StaffAccountCreated v3, PseudonymsRekeyed): what `rekey-pseudonyms` re-announces after the key
is rotated. Accounts announced before keys had ids are under the original key, ``k0``
(``sanad.shared.pseudonym.ORIGINAL_KEY_ID``).

Revision ID: identity_0005
Revises: identity_0004
"""

from alembic import op
from sqlalchemy import Column, String, text

revision = "identity_0005"
down_revision = "identity_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "accounts",
        Column("pseudonym_key_id", String(32), nullable=False, server_default=text("'k0'")),
    )
    # The re-announcement walks the accounts of one key in id order.
    op.create_index("accounts_pseudonym_key_id", "accounts", ["pseudonym_key_id", "id"])


def downgrade() -> None:
    op.drop_index("accounts_pseudonym_key_id", "accounts")
    op.drop_column("accounts", "pseudonym_key_id")
