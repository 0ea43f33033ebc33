"""Deliveries get a priority: OTP codes are claimed before any other due delivery.

A code lives 5 minutes, so a backlog of decision messages must never hold one up. The
worker claims due rows by ``(priority, next_attempt_at)``; ``0`` is urgent (OTP), ``1`` the
rest. The due index follows that order. Rows queued by older code get the priority their
template asks for.

Frozen SQL, like 0002.

Revision ID: notifications_0004
Revises: notifications_0003
"""

from alembic import op

revision = "notifications_0004"
down_revision = "notifications_0003"
branch_labels = None
depends_on = None

STATEMENTS = (
    "ALTER TABLE deliveries ADD COLUMN priority SMALLINT DEFAULT 1 NOT NULL",
    "UPDATE deliveries SET priority = 0 WHERE template = 'otp'",
    "DROP INDEX deliveries_due_idx",
    "CREATE INDEX deliveries_due_idx ON deliveries (priority, next_attempt_at)"
    " WHERE status = 'pending'",
)


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP INDEX deliveries_due_idx")
    op.execute(
        "CREATE INDEX deliveries_due_idx ON deliveries (next_attempt_at) WHERE status = 'pending'"
    )
    op.execute("ALTER TABLE deliveries DROP COLUMN priority")
