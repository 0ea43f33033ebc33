"""The audit schema's outbox and processed-events tables."""

from sanad.shared.migrations import messaging_revision

revision = "audit_0001"
down_revision = None
upgrade, downgrade = messaging_revision()
