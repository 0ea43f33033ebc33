"""The id of the pseudonym key each stored pseudonym was made with, so the key can be rotated:
rows are re-keyed from identity's PseudonymsRekeyed, and a typed national ID is compared with
each row under the row's key. Rows stored before keys had ids are under the original key,
``k0`` (``sanad.shared.pseudonym.ORIGINAL_KEY_ID``; profile_0004 converted under it too).

Revision ID: profile_0005
Revises: profile_0004
"""

import sqlalchemy as sa
from alembic import op

revision = "profile_0005"
down_revision = "profile_0004"
branch_labels = None
depends_on = None

TABLES = ("profiles", "family_register", "staff_ids")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(
            table,
            sa.Column("key_id", sa.String(32), nullable=False, server_default=sa.text("'k0'")),
        )
    # PseudonymsRekeyed re-keys a staff member's row by their account.
    op.create_index("staff_ids_account_id", "staff_ids", ["account_id"])


def downgrade() -> None:
    op.drop_index("staff_ids_account_id", "staff_ids")
    for table in TABLES:
        op.drop_column(table, "key_id")
