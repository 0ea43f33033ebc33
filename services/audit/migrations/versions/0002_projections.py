"""The projections the audit rebuilds from the event stream, one generation per replay.

Revision ID: audit_0002
Revises: audit_0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "audit_0002"
down_revision = "audit_0001"
branch_labels = None
depends_on = None


def _generation() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "generation_id",
        UUID(as_uuid=True),
        sa.ForeignKey("generations.generation_id", ondelete="CASCADE"),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "generations",
        sa.Column("generation_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("scope", JSONB, nullable=False),
        sa.Column("messages_read", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("counts", JSONB, nullable=False, server_default="{}"),
    )
    op.create_table(
        "events",
        _generation(),
        sa.Column("event_id", UUID(as_uuid=True), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("schema_version", sa.Integer, nullable=False),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("partition", sa.Integer, nullable=False),
        sa.Column("offset", sa.BigInteger, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("producer", sa.String(64), nullable=True),
        sa.Column("key", sa.String(200), nullable=True),
        sa.Column("correlation_id", sa.String(200), nullable=True),
        sa.Column("causation_id", UUID(as_uuid=True), nullable=True),
        sa.Column("citizen_id", UUID(as_uuid=True), nullable=True),
        sa.Column("application_id", UUID(as_uuid=True), nullable=True),
        sa.Column("summary", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("generation_id", "event_id"),
    )
    op.create_index("events_by_citizen", "events", ["generation_id", "citizen_id"])
    op.create_index("events_by_application", "events", ["generation_id", "application_id"])
    op.create_table(
        "applications",
        _generation(),
        sa.Column("application_id", UUID(as_uuid=True), nullable=False),
        sa.Column("citizen_id", UUID(as_uuid=True), nullable=True),
        sa.Column("program_code", sa.String(32), nullable=True),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("submissions", sa.Integer, nullable=False),
        sa.Column("first_submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submission_id", UUID(as_uuid=True), nullable=True),
        sa.Column("decision_id", UUID(as_uuid=True), nullable=True),
        sa.Column("monthly_benefit", sa.Numeric(12, 2), nullable=True),
        sa.Column("appeal_id", UUID(as_uuid=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("generation_id", "application_id"),
    )
    op.create_table(
        "status_history",
        _generation(),
        sa.Column("application_id", UUID(as_uuid=True), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("from_status", sa.String(24), nullable=True),
        sa.Column("to_status", sa.String(24), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("actor", sa.String(64), nullable=True),
        sa.Column("event_id", UUID(as_uuid=True), nullable=False),
        sa.PrimaryKeyConstraint("generation_id", "application_id", "seq"),
    )
    op.create_table(
        "evaluations",
        _generation(),
        sa.Column("evaluation_id", UUID(as_uuid=True), nullable=True),
        sa.Column("application_id", UUID(as_uuid=True), nullable=True),
        sa.Column("citizen_id", UUID(as_uuid=True), nullable=True),
        sa.Column("program_code", sa.String(32), nullable=True),
        sa.Column("trigger", sa.String(16), nullable=True),
        sa.Column("submission_id", UUID(as_uuid=True), nullable=True),
        sa.Column("appeal_id", UUID(as_uuid=True), nullable=True),
        sa.Column("rule_set_version", sa.String(64), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("monthly_benefit", sa.Numeric(12, 2), nullable=True),
        sa.Column("facts_hash", sa.String(64), nullable=True),
        sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("event_id", UUID(as_uuid=True), nullable=False),
        sa.PrimaryKeyConstraint("generation_id", "event_id"),
    )
    op.create_table(
        "decisions",
        _generation(),
        sa.Column("decision_id", UUID(as_uuid=True), nullable=True),
        sa.Column("application_id", UUID(as_uuid=True), nullable=True),
        sa.Column("citizen_id", UUID(as_uuid=True), nullable=True),
        sa.Column("program_code", sa.String(32), nullable=True),
        sa.Column("decision", sa.String(24), nullable=True),
        sa.Column("monthly_benefit", sa.Numeric(12, 2), nullable=True),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("evaluation_id", UUID(as_uuid=True), nullable=True),
        sa.Column("appeal_id", UUID(as_uuid=True), nullable=True),
        sa.Column("rule_set_version", sa.String(64), nullable=True),
        sa.Column("event_id", UUID(as_uuid=True), nullable=False),
        sa.PrimaryKeyConstraint("generation_id", "event_id"),
    )
    op.create_table(
        "cards",
        _generation(),
        sa.Column("card_id", UUID(as_uuid=True), nullable=False),
        sa.Column("citizen_id", UUID(as_uuid=True), nullable=True),
        sa.Column("application_id", UUID(as_uuid=True), nullable=True),
        sa.Column("program_code", sa.String(32), nullable=True),
        sa.Column("number_last4", sa.String(4), nullable=True),  # never the whole number
        sa.Column("status", sa.String(16), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_on", sa.Date, nullable=True),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("generation_id", "card_id"),
    )
    op.create_table(
        "notifications",
        _generation(),
        sa.Column("citizen_id", UUID(as_uuid=True), nullable=True),
        sa.Column("channel", sa.String(16), nullable=True),
        sa.Column("template", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=True),
        sa.Column("deliveries", sa.Integer, nullable=False),
    )
    op.create_index("notifications_by_generation", "notifications", ["generation_id"])


def downgrade() -> None:
    for table in (
        "notifications",
        "cards",
        "decisions",
        "evaluations",
        "status_history",
        "applications",
        "events",
        "generations",
    ):
        op.drop_table(table)
