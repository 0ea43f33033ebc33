"""The applications schema's tables (no schema name: the connection's search_path gives it)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

metadata = MetaData()

programs = Table(
    "programs",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("definition", JSONB, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_by", String(64), nullable=True),
)

# This service's own copy of each citizen's latest ProfileUpdated (event-carried state).
citizen_profiles = Table(
    "citizen_profiles",
    metadata,
    Column("citizen_id", UUID(as_uuid=True), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("snapshot", JSONB, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

applications = Table(
    "applications",
    metadata,
    Column("application_id", UUID(as_uuid=True), primary_key=True),
    Column("citizen_id", UUID(as_uuid=True), nullable=False, index=True),
    Column("program_code", String(32), ForeignKey("programs.code"), nullable=False),
    Column("status", String(24), nullable=False),
    # When it entered its status: the caseworker queue is oldest first by this.
    Column("status_since", DateTime(timezone=True), nullable=False),
    Column("form", JSONB, nullable=False),
    Column("submission_id", UUID(as_uuid=True), nullable=True),
    Column("submission_number", Integer, nullable=False, server_default="0"),
    Column("submitted_at", DateTime(timezone=True), nullable=True),
    Column("decision", JSONB, nullable=True),  # the latest decision, as DecisionIssued said
    Column("complete_by", DateTime(timezone=True), nullable=True),
    Column("appeal_until", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# The status read model: each application as its citizen reads it, encoded once when it
# changes (``service/views.py``), so reading it is one indexed row. ``next`` depends on the
# clock and is added at read time from the fields kept beside the JSON.
application_views = Table(
    "application_views",
    metadata,
    Column(
        "application_id",
        UUID(as_uuid=True),
        ForeignKey("applications.application_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("citizen_id", UUID(as_uuid=True), nullable=False),
    Column("status", String(24), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("complete_by", DateTime(timezone=True), nullable=True),
    Column("appeal_until", DateTime(timezone=True), nullable=True),
    Column("appealed", Boolean, nullable=False),
    Column("version", Integer, nullable=False),  # the ETag's part that changes on a write
    Column("detail", Text, nullable=False),  # JSON, without "next"
    Column("summary", Text, nullable=False),  # JSON of the list's item, without "next"
    Index(
        "ix_application_views_citizen",
        "citizen_id",
        text("created_at DESC"),
        "application_id",
    ),
)

documents = Table(
    "documents",
    metadata,
    Column("document_id", UUID(as_uuid=True), primary_key=True),
    Column("position", BigInteger, Identity(always=True), nullable=False),  # upload order
    Column(
        "application_id",
        UUID(as_uuid=True),
        ForeignKey("applications.application_id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("kind", String(40), nullable=False),
    Column("content_type", String(40), nullable=False),
    Column("size_bytes", Integer, nullable=False),
    Column("sha256", String(64), nullable=False, index=True),
    Column("filename", String(255), nullable=True),
    Column("uploaded_at", DateTime(timezone=True), nullable=False),
)

status_history = Table(
    "status_history",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column(
        "application_id",
        UUID(as_uuid=True),
        ForeignKey("applications.application_id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("from_status", String(24), nullable=True),
    Column("to_status", String(24), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(64), nullable=False),  # auto, system, or an account id
    Column("actor_role", String(16), nullable=False),  # citizen, caseworker, eligibility, system
    Column("reasons", JSONB, nullable=False),
    Column("note", Text, nullable=True),
)

evaluations = Table(
    "evaluations",
    metadata,
    Column("evaluation_id", UUID(as_uuid=True), primary_key=True),
    Column(
        "application_id",
        UUID(as_uuid=True),
        ForeignKey("applications.application_id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("submission_id", UUID(as_uuid=True), nullable=True),
    Column("appeal_id", UUID(as_uuid=True), nullable=True),
    Column("rule_set_version", String(64), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("criteria", JSONB, nullable=False),
    Column("missing", JSONB, nullable=False),
    Column("monthly_benefit", Numeric(12, 2), nullable=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
)

appeals = Table(
    "appeals",
    metadata,
    Column("appeal_id", UUID(as_uuid=True), primary_key=True),
    Column(
        "application_id",
        UUID(as_uuid=True),
        ForeignKey("applications.application_id", ondelete="CASCADE"),
        nullable=False,
        unique=True,  # one appeal per application: its decision is final
    ),
    Column("reason", Text, nullable=False),
    Column("filed_at", DateTime(timezone=True), nullable=False),
    Column("evaluation_id", UUID(as_uuid=True), nullable=True),
    Column("decided", Boolean, nullable=False, server_default="false"),
)

# Idempotency-Key of submits: a retried submit with the same key submits once.
submit_keys = Table(
    "submit_keys",
    metadata,
    Column(
        "application_id",
        UUID(as_uuid=True),
        ForeignKey("applications.application_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("key", String(200), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)
