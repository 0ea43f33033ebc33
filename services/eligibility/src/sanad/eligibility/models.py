"""The eligibility schema's tables (no schema name: the connection's search_path gives it)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Identity,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

metadata = MetaData()

# Every published version of every program's rules; a row never changes once written.
rule_sets = Table(
    "rule_sets",
    metadata,
    Column("program_code", String(40), primary_key=True),
    Column("version", String(40), primary_key=True),
    Column("seq", BigInteger, Identity(always=True), nullable=False),
    Column("effective_from", Date, nullable=False),
    Column("document", JSONB, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("published_by", String(64), nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# This service's copy of each citizen's latest ProfileUpdated (without contact details).
citizen_profiles = Table(
    "citizen_profiles",
    metadata,
    Column("citizen_id", UUID(as_uuid=True), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("profile", JSONB, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# The latest submission of each application, for re-evaluating it on appeal.
applications = Table(
    "applications",
    metadata,
    Column("application_id", UUID(as_uuid=True), primary_key=True),
    Column("citizen_id", UUID(as_uuid=True), nullable=False),
    Column("program_code", String(40), nullable=False),
    Column("submission_id", UUID(as_uuid=True)),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    Column("form", JSONB, nullable=False),
    Column("documents", JSONB, nullable=False),
    Column("profile", JSONB, nullable=False),
)

evaluations = Table(
    "evaluations",
    metadata,
    Column("evaluation_id", UUID(as_uuid=True), primary_key=True),
    Column("application_id", UUID(as_uuid=True), nullable=False, index=True),
    Column("citizen_id", UUID(as_uuid=True), nullable=False),
    Column("program_code", String(40), nullable=False),
    Column("trigger", String(16), nullable=False),
    Column("submission_id", UUID(as_uuid=True), unique=True),
    Column("appeal_id", UUID(as_uuid=True), unique=True),
    Column("rule_set_version", String(40)),  # the version label, None if none was in force
    Column("effective_on", Date, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("monthly_benefit", Numeric(12, 2)),
    Column("facts_hash", String(64), nullable=False),
    Column("inputs", JSONB, nullable=False),
    Column("facts", JSONB, nullable=False),
    Column("result", JSONB, nullable=False),
    Column("source_event_id", UUID(as_uuid=True), nullable=False),
    Column("evaluated_at", DateTime(timezone=True), nullable=False),
)

# The beneficiary registry: who receives which program (from DecisionIssued).
beneficiaries = Table(
    "beneficiaries",
    metadata,
    Column("application_id", UUID(as_uuid=True), primary_key=True),
    Column("citizen_id", UUID(as_uuid=True), nullable=False, index=True),
    Column("program_code", String(40), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("decision_id", UUID(as_uuid=True), nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
)
