"""Profiles and their dependents.

Revision ID: profile_0002
Revises: profile_0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "profile_0002"
down_revision = "profile_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "profiles",
        sa.Column("citizen_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("national_id", sa.String(10), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("registry", JSONB, nullable=False),
        sa.Column("contact", JSONB, nullable=False),
        sa.Column("sections", JSONB, nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.create_table(
        "profile_dependents",
        sa.Column("dependent_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("position", sa.BigInteger, sa.Identity(always=True), nullable=False),
        sa.Column(
            "citizen_id",
            UUID(as_uuid=True),
            sa.ForeignKey("profiles.citizen_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("national_id", sa.String(10), nullable=False),
        sa.Column("data", JSONB, nullable=False),
        sa.UniqueConstraint(
            "citizen_id", "national_id", name="profile_dependents_once_per_household"
        ),
    )
    op.create_index("ix_profile_dependents_citizen_id", "profile_dependents", ["citizen_id"])


def downgrade() -> None:
    op.drop_table("profile_dependents")
    op.drop_table("profiles")
