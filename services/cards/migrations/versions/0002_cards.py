"""Holders, decisions, cards and signing keys.

Revision ID: cards_0002
Revises: cards_0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "cards_0002"
down_revision = "cards_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "holders",
        sa.Column("citizen_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("profile_version", sa.Integer, nullable=False),
        sa.Column("full_name_ar", sa.String(200), nullable=False),
        sa.Column("full_name_en", sa.String(200), nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.create_table(
        "decisions",
        sa.Column("citizen_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("program_code", sa.String(32), primary_key=True),
        sa.Column("decision_id", UUID(as_uuid=True), nullable=False),
        sa.Column("application_id", UUID(as_uuid=True), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("monthly_benefit", sa.Numeric(12, 2), nullable=True),
        sa.Column("program_name_ar", sa.String(200), nullable=False),
        sa.Column("program_name_en", sa.String(200), nullable=False),
        sa.Column("card_on_approval", sa.Boolean, nullable=True),
        sa.Column("card_validity_days", sa.Integer, nullable=False),
    )
    op.create_table(
        "cards",
        sa.Column("card_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("card_number", sa.String(16), nullable=False, unique=True),
        sa.Column("citizen_id", UUID(as_uuid=True), nullable=False),
        sa.Column("program_code", sa.String(32), nullable=False),
        sa.Column("program_name_ar", sa.String(200), nullable=False),
        sa.Column("program_name_en", sa.String(200), nullable=False),
        sa.Column("application_id", UUID(as_uuid=True), nullable=False),
        sa.Column("decision_id", UUID(as_uuid=True), nullable=False),
        sa.Column("holder_name_ar", sa.String(200), nullable=False),
        sa.Column("holder_name_en", sa.String(200), nullable=False),
        sa.Column("monthly_benefit", sa.Numeric(12, 2), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_on", sa.Date, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_reason", sa.Text, nullable=True),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("status IN ('active', 'suspended', 'revoked')", name="cards_status"),
    )
    op.create_index(
        "cards_one_current_per_program",
        "cards",
        ["citizen_id", "program_code"],
        unique=True,
        postgresql_where=sa.text("status <> 'revoked'"),
    )
    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.String(32), primary_key=True),
        sa.Column("public_key", sa.LargeBinary, nullable=False),
        sa.Column("private_key_encrypted", sa.LargeBinary, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index(
        "signing_keys_one_active",
        "signing_keys",
        ["active"],
        unique=True,
        postgresql_where=sa.text("active"),
    )


def downgrade() -> None:
    op.drop_table("signing_keys")
    op.drop_table("cards")
    op.drop_table("decisions")
    op.drop_table("holders")
