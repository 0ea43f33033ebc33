"""Changes of mobile waiting for their two codes (to the old and the new number).

Revision ID: identity_0004
Revises: identity_0003
"""

from alembic import op
from sqlalchemy import Column, DateTime, ForeignKey, String, Uuid, func, text

revision = "identity_0004"
down_revision = "identity_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mobile_changes",
        Column("id", Uuid, primary_key=True),
        Column("account_id", Uuid, ForeignKey("accounts.id"), nullable=False),
        Column("old_mobile", String(16), nullable=False),
        Column("new_mobile", String(16), nullable=False),
        Column("status", String(16), nullable=False, server_default=text("'pending'")),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("completed_at", DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("mobile_changes")
