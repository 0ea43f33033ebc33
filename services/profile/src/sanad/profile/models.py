"""The profile schema's tables (no schema name: the connection's search_path gives it)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

metadata = MetaData()

profiles = Table(
    "profiles",
    metadata,
    Column("citizen_id", UUID(as_uuid=True), primary_key=True),
    # The citizen's national ID as identity announces it: its pseudonym (sanad.shared.pseudonym).
    Column("national_id_ref", String(64), nullable=False),
    # The id of the pseudonym key national_id_ref is under (here and in the tables below).
    Column("key_id", String(32), nullable=False, server_default="k0"),
    Column("version", Integer, nullable=False),
    Column("registry", JSONB, nullable=False),
    Column("contact", JSONB, nullable=False),
    Column("sections", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

profile_dependents = Table(
    "profile_dependents",
    metadata,
    Column("dependent_id", UUID(as_uuid=True), primary_key=True),
    # Keeps the order dependents were added in.
    Column("position", BigInteger, Identity(always=True), nullable=False),
    Column(
        "citizen_id",
        UUID(as_uuid=True),
        ForeignKey("profiles.citizen_id", ondelete="CASCADE"),
        nullable=False,
        index=True,  # ix_profile_dependents_citizen_id
    ),
    Column("national_id", String(10), nullable=False),
    Column("data", JSONB, nullable=False),
    # In clear: the citizen typed it and reads it back (GET /v1/profile/dependents).
    # The database's own guard against one person listed twice in a household.
    UniqueConstraint("citizen_id", "national_id", name="profile_dependents_once_per_household"),
)

# The citizen's family as the civil registry's family register held it when they registered
# (CitizenRegistered v2 and v3), by pseudonym: a dependent must be one of these, with this
# relationship and birth date.
family_register = Table(
    "family_register",
    metadata,
    Column(
        "citizen_id",
        UUID(as_uuid=True),
        ForeignKey("profiles.citizen_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("national_id_ref", String(64), primary_key=True),
    Column("relationship", String(8), nullable=False),
    Column("birth_date", Date, nullable=False),
    Column("key_id", String(32), nullable=False, server_default="k0"),
)

# Staff national IDs' pseudonyms (StaffAccountCreated): staff are nobody's dependents.
staff_ids = Table(
    "staff_ids",
    metadata,
    Column("national_id_ref", String(64), primary_key=True),
    Column("account_id", UUID(as_uuid=True), nullable=False),
    Column("key_id", String(32), nullable=False, server_default="k0"),
    Index("staff_ids_account_id", "account_id"),  # PseudonymsRekeyed finds the row by account
)
