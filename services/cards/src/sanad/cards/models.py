"""The cards schema's tables (no schema name: the connection's search_path gives it)."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID

metadata = MetaData()

# Holders' names from the latest ProfileUpdated (the registry's names), per citizen.
holders = Table(
    "holders",
    metadata,
    Column("citizen_id", UUID(as_uuid=True), primary_key=True),
    Column("profile_version", Integer, nullable=False),
    Column("full_name_ar", String(200), nullable=False),
    Column("full_name_en", String(200), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# The latest APPROVED or REJECTED decision per citizen and program (from DecisionIssued):
# this service's own record of who holds an active approval.
decisions = Table(
    "decisions",
    metadata,
    Column("citizen_id", UUID(as_uuid=True), primary_key=True),
    Column("program_code", String(32), primary_key=True),
    Column("decision_id", UUID(as_uuid=True), nullable=False),
    Column("application_id", UUID(as_uuid=True), nullable=False),
    Column("decision", String(16), nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Column("monthly_benefit", Numeric(12, 2), nullable=True),
    Column("program_name_ar", String(200), nullable=False),
    Column("program_name_en", String(200), nullable=False),
    Column("card_on_approval", Boolean, nullable=True),
    Column("card_validity_days", Integer, nullable=False),
)

cards = Table(
    "cards",
    metadata,
    Column("card_id", UUID(as_uuid=True), primary_key=True),
    Column("card_number", String(16), nullable=False, unique=True),
    Column("citizen_id", UUID(as_uuid=True), nullable=False),
    Column("program_code", String(32), nullable=False),
    Column("program_name_ar", String(200), nullable=False),
    Column("program_name_en", String(200), nullable=False),
    Column("application_id", UUID(as_uuid=True), nullable=False),
    Column("decision_id", UUID(as_uuid=True), nullable=False),
    Column("holder_name_ar", String(200), nullable=False),
    Column("holder_name_en", String(200), nullable=False),
    Column("monthly_benefit", Numeric(12, 2), nullable=True),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("expires_on", Date, nullable=False),
    Column("status", String(16), nullable=False),
    Column("status_reason", Text, nullable=True),
    Column("status_changed_at", DateTime(timezone=True), nullable=False),
    # One current (active or suspended) card per citizen and program.
    Index(
        "cards_one_current_per_program",
        "citizen_id",
        "program_code",
        unique=True,
        postgresql_where=text("status <> 'revoked'"),
    ),
)

# QR signing keys. The private half is Fernet-encrypted with the service's key-encryption
# key; exactly one key is active (signs), the others are retired (still verify).
signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", String(32), primary_key=True),
    Column("public_key", LargeBinary, nullable=False),
    Column("private_key_encrypted", LargeBinary, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("retired_at", DateTime(timezone=True), nullable=True),
    Index("signing_keys_one_active", "active", unique=True, postgresql_where=text("active")),
)
