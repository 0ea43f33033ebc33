"""The applications schema's outbox and processed-events tables."""

from sanad.shared.migrations import messaging_revision

revision = "applications_0001"
down_revision = None
upgrade, downgrade = messaging_revision()
