"""The notifications schema's own tables (SQLAlchemy Core; no schema name: search_path)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

metadata = MetaData()

# Event-carried state: how to reach a citizen (CitizenRegistered, then ContactChanged; before
# those, ProfileUpdated v1 carried it).
contacts = Table(
    "contacts",
    metadata,
    Column("citizen_id", UUID(as_uuid=True), primary_key=True),
    Column("mobile", String(20), nullable=False),
    Column("email", String(254)),
    Column("language", String(2), nullable=False),
    Column("full_name_ar", String(200)),
    Column("full_name_en", String(200)),
    # The ProfileUpdated version last applied; 0 = only CitizenRegistered seen.
    Column("profile_version", Integer, nullable=False, server_default="0"),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# The citizen's own choices (PUT /v1/notifications/preferences); they win over the profile.
preferences = Table(
    "notification_preferences",
    metadata,
    Column("citizen_id", UUID(as_uuid=True), primary_key=True),
    Column("email_enabled", Boolean, nullable=False),
    Column("language", String(2), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

DELIVERY_STATUSES = ("pending", "sending", "sent", "failed")

# One row per (source event, channel): the unique constraint is what makes a redelivered
# event, a restart or a second instance unable to send a notification twice.
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("source_event_id", UUID(as_uuid=True), nullable=False),
    Column("source_event_type", String(100), nullable=False),
    Column("channel", String(10), nullable=False),
    Column("template", String(50), nullable=False),
    Column("language", String(2), nullable=False),
    Column("citizen_id", UUID(as_uuid=True)),
    Column("recipient", String(254)),
    # What the template needs; an OTP is kept sealed here and opened only to send it.
    Column("context", JSONB, nullable=False),
    Column("status", String(10), nullable=False, server_default="pending"),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # Claimed in (priority, next_attempt_at) order: 0 = urgent (OTP codes), 1 = the rest.
    Column("priority", SmallInteger, nullable=False, server_default="1"),
    # Set when a worker claims the row; a 'sending' row past it belonged to a dead worker.
    Column("lease_until", DateTime(timezone=True)),
    # New for every claim: only the worker holding it may start the send or record it.
    Column("claim_token", UUID(as_uuid=True)),
    # Committed just before the provider call. An abandoned row without it was never sent
    # (back to pending); with it, the provider may have the message (resent with the same
    # Idempotency-Key / Message-ID, which keep it to one).
    Column("send_started_at", DateTime(timezone=True)),
    Column("segments", Integer),
    Column("encoding", String(10)),
    Column("provider_message_id", String(200)),
    Column("last_error", Text),
    Column("correlation_id", String(200)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("finished_at", DateTime(timezone=True)),
    UniqueConstraint("source_event_id", "channel", name="deliveries_event_channel_key"),
    CheckConstraint(
        "status IN ('pending', 'sending', 'sent', 'failed')", name="deliveries_status_check"
    ),
    CheckConstraint("channel IN ('sms', 'email')", name="deliveries_channel_check"),
)
Index(
    "deliveries_due_idx",
    deliveries.c.priority,
    deliveries.c.next_attempt_at,
    postgresql_where=text("status = 'pending'"),
)
Index(
    "deliveries_sending_idx",
    deliveries.c.lease_until,
    postgresql_where=text("status = 'sending'"),
)
Index("deliveries_citizen_idx", deliveries.c.citizen_id, deliveries.c.created_at.desc())

# Every attempt and what came of it.
delivery_attempts = Table(
    "delivery_attempts",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column(
        "delivery_id",
        UUID(as_uuid=True),
        ForeignKey("deliveries.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("attempt", Integer, nullable=False),
    Column("outcome", String(10), nullable=False),  # sent | transient | permanent
    Column("status_code", Integer),
    Column("error", Text),
    Column("provider_message_id", String(200)),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
