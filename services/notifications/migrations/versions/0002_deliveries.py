"""Contacts, preferences, deliveries and their attempts.

Frozen SQL (not ``metadata.create_all``), so a later change to ``models.py`` cannot change
what this revision did; it needs a new revision.

Revision ID: notifications_0002
Revises: notifications_0001
"""

from alembic import op

revision = "notifications_0002"
down_revision = "notifications_0001"
branch_labels = None
depends_on = None

STATEMENTS = (
    """
    CREATE TABLE contacts (
        citizen_id UUID NOT NULL,
        mobile VARCHAR(20) NOT NULL,
        email VARCHAR(254),
        language VARCHAR(2) NOT NULL,
        full_name_ar VARCHAR(200),
        full_name_en VARCHAR(200),
        profile_version INTEGER DEFAULT '0' NOT NULL,
        updated_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
        PRIMARY KEY (citizen_id)
    )
    """,
    """
    CREATE TABLE deliveries (
        id UUID NOT NULL,
        source_event_id UUID NOT NULL,
        source_event_type VARCHAR(100) NOT NULL,
        channel VARCHAR(10) NOT NULL,
        template VARCHAR(50) NOT NULL,
        language VARCHAR(2) NOT NULL,
        citizen_id UUID,
        recipient VARCHAR(254),
        context JSONB NOT NULL,
        status VARCHAR(10) DEFAULT 'pending' NOT NULL,
        attempts INTEGER DEFAULT '0' NOT NULL,
        next_attempt_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
        lease_until TIMESTAMP WITH TIME ZONE,
        segments INTEGER,
        encoding VARCHAR(10),
        provider_message_id VARCHAR(200),
        last_error TEXT,
        correlation_id VARCHAR(200),
        created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
        finished_at TIMESTAMP WITH TIME ZONE,
        PRIMARY KEY (id),
        CONSTRAINT deliveries_event_channel_key UNIQUE (source_event_id, channel),
        CONSTRAINT deliveries_status_check
            CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
        CONSTRAINT deliveries_channel_check CHECK (channel IN ('sms', 'email'))
    )
    """,
    """
    CREATE INDEX deliveries_citizen_idx ON deliveries (citizen_id, created_at DESC)
    """,
    """
    CREATE INDEX deliveries_due_idx ON deliveries (next_attempt_at) WHERE status = 'pending'
    """,
    """
    CREATE INDEX deliveries_sending_idx ON deliveries (lease_until) WHERE status = 'sending'
    """,
    """
    CREATE TABLE notification_preferences (
        citizen_id UUID NOT NULL,
        email_enabled BOOLEAN NOT NULL,
        language VARCHAR(2) NOT NULL,
        updated_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
        PRIMARY KEY (citizen_id)
    )
    """,
    """
    CREATE TABLE delivery_attempts (
        id BIGINT GENERATED ALWAYS AS IDENTITY,
        delivery_id UUID NOT NULL,
        attempt INTEGER NOT NULL,
        outcome VARCHAR(10) NOT NULL,
        status_code INTEGER,
        error TEXT,
        provider_message_id VARCHAR(200),
        started_at TIMESTAMP WITH TIME ZONE NOT NULL,
        finished_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL,
        PRIMARY KEY (id),
        FOREIGN KEY(delivery_id) REFERENCES deliveries (id) ON DELETE CASCADE
    )
    """,
    """
    CREATE INDEX ix_delivery_attempts_delivery_id ON delivery_attempts (delivery_id)
    """,
)


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    for table in ("delivery_attempts", "deliveries", "notification_preferences", "contacts"):
        op.execute(f"DROP TABLE {table}")
