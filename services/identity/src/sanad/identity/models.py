"""The identity schema's tables (SQLAlchemy Core, on this service's own metadata)."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    func,
    text,
)

metadata = MetaData()

civil_registry = Table(
    "civil_registry",
    metadata,
    Column("national_id", String(10), primary_key=True),
    Column("full_name_ar", Text, nullable=False),
    Column("full_name_en", Text, nullable=False),
    Column("nationality", String(2), nullable=False),
    Column("sex", String(1), nullable=False),
    Column("birth_date", Date, nullable=False),
    Column("marital_status", String(16), nullable=False),
    Column("added_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Mobiles registered to an ID in the civil registry (a registration must use one of them).
civil_registry_mobiles = Table(
    "civil_registry_mobiles",
    metadata,
    Column("national_id", String(10), ForeignKey("civil_registry.national_id"), primary_key=True),
    Column("mobile", String(16), primary_key=True),
)

# The family register: ``relative_id`` is ``national_id``'s ``relationship`` (spouse, son,
# daughter, father, mother). Both directions are stored.
civil_registry_relations = Table(
    "civil_registry_relations",
    metadata,
    Column("national_id", String(10), ForeignKey("civil_registry.national_id"), primary_key=True),
    Column("relative_id", String(10), ForeignKey("civil_registry.national_id"), primary_key=True),
    Column("relationship", String(8), nullable=False),
)

# Citizens (after verifying their OTP) and staff (created by the CLI or from the environment).
accounts = Table(
    "accounts",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("national_id", String(10), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("full_name_ar", Text, nullable=True),
    Column("full_name_en", Text, nullable=True),
    Column("mobile", String(16), nullable=True),
    Column("email", Text, nullable=True),
    Column("language", String(2), nullable=False, server_default=text("'ar'")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # The id of the pseudonym key the account's national ID (and family) was last announced
    # under; the default is the original key's (sanad.shared.pseudonym.ORIGINAL_KEY_ID).
    Column("pseudonym_key_id", String(32), nullable=False, server_default=text("'k0'")),
    Index("accounts_pseudonym_key_id", "pseudonym_key_id", "id"),
)

# A registration waiting for its OTP; the code itself lives only in Redis.
registrations = Table(
    "registrations",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("national_id", String(10), nullable=False),
    Column("mobile", String(16), nullable=False),
    Column("email", Text, nullable=True),
    Column("language", String(2), nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("status", String(16), nullable=False, server_default=text("'pending'")),
    Column("otp_expires_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("verified_at", DateTime(timezone=True), nullable=True),
    # Set when the ID already had an account: no code is sent, the holder is told instead.
    Column("existing_account_id", Uuid, nullable=True),
    Index("registrations_national_id", "national_id"),
)

# Refresh tokens, stored as SHA-256 digests; one family per login, rotated on each use.
refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("family_id", Uuid, nullable=False),
    Column("account_id", Uuid, ForeignKey("accounts.id"), nullable=False),
    Column("issued_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Index("refresh_tokens_family", "family_id"),
)

# A change of mobile waiting for its two codes (one to each number); the codes live in Redis.
mobile_changes = Table(
    "mobile_changes",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("account_id", Uuid, ForeignKey("accounts.id"), nullable=False),
    Column("old_mobile", String(16), nullable=False),
    Column("new_mobile", String(16), nullable=False),
    Column("status", String(16), nullable=False, server_default=text("'pending'")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("completed_at", DateTime(timezone=True), nullable=True),
)
