"""Deliveries record when their send started and which claim holds them.

``send_started_at`` is committed just before the provider call: a row abandoned without it
was never handed to a provider and goes back to pending; only a row with it is "outcome
unknown". ``claim_token`` (new per claim) fences a worker whose claim was taken over, so
it can neither start a send nor record an outcome for a row it no longer holds.

Frozen SQL, like 0002.

Revision ID: notifications_0003
Revises: notifications_0002
"""

from alembic import op

revision = "notifications_0003"
down_revision = "notifications_0002"
branch_labels = None
depends_on = None

STATEMENTS = (
    "ALTER TABLE deliveries ADD COLUMN send_started_at TIMESTAMP WITH TIME ZONE",
    "ALTER TABLE deliveries ADD COLUMN claim_token UUID",
    # Rows claimed by the previous code may already be with the provider: keep treating
    # them as started, so they end "outcome unknown" rather than being sent again.
    "UPDATE deliveries SET send_started_at = now() WHERE status = 'sending'",
)


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("ALTER TABLE deliveries DROP COLUMN claim_token")
    op.execute("ALTER TABLE deliveries DROP COLUMN send_started_at")
