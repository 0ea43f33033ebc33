"""The family register as identity announced it (CitizenRegistered v2), staff IDs
(StaffAccountCreated), and look-ups by national ID across households.

Revision ID: profile_0003
Revises: profile_0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "profile_0003"
down_revision = "profile_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "family_register",
        sa.Column(
            "citizen_id",
            UUID(as_uuid=True),
            sa.ForeignKey("profiles.citizen_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("national_id", sa.String(10), primary_key=True),
        sa.Column("relationship", sa.String(8), nullable=False),
        sa.Column("full_name_ar", sa.Text, nullable=False),
        sa.Column("full_name_en", sa.Text, nullable=False),
        sa.Column("sex", sa.String(1), nullable=False),
        sa.Column("birth_date", sa.Date, nullable=False),
    )
    op.create_table(
        "staff_ids",
        sa.Column("national_id", sa.String(10), primary_key=True),
        sa.Column("account_id", UUID(as_uuid=True), nullable=False),
    )
    op.create_index("profiles_national_id", "profiles", ["national_id"])
    op.create_index("profile_dependents_national_id", "profile_dependents", ["national_id"])


def downgrade() -> None:
    op.drop_index("profile_dependents_national_id", "profile_dependents")
    op.drop_index("profiles_national_id", "profiles")
    op.drop_table("staff_ids")
    op.drop_table("family_register")
