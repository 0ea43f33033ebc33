"""Rule sets, the citizen profiles and submissions kept from events, evaluations, the
beneficiary registry.

Revision ID: eligibility_0002
Revises: eligibility_0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "eligibility_0002"
down_revision = "eligibility_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rule_sets",
        sa.Column("program_code", sa.String(40), primary_key=True),
        sa.Column("version", sa.String(40), primary_key=True),
        sa.Column("seq", sa.BigInteger, sa.Identity(always=True), nullable=False),
        sa.Column("effective_from", sa.Date, nullable=False),
        sa.Column("document", JSONB, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("published_by", sa.String(64), nullable=False),
        sa.Column(
            "published_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.create_index("ix_rule_sets_in_force", "rule_sets", ["program_code", "effective_from", "seq"])
    op.create_table(
        "citizen_profiles",
        sa.Column("citizen_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("profile", JSONB, nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.create_table(
        "applications",
        sa.Column("application_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("citizen_id", UUID(as_uuid=True), nullable=False),
        sa.Column("program_code", sa.String(40), nullable=False),
        sa.Column("submission_id", UUID(as_uuid=True)),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("form", JSONB, nullable=False),
        sa.Column("documents", JSONB, nullable=False),
        sa.Column("profile", JSONB, nullable=False),
    )
    op.create_table(
        "evaluations",
        sa.Column("evaluation_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("application_id", UUID(as_uuid=True), nullable=False),
        sa.Column("citizen_id", UUID(as_uuid=True), nullable=False),
        sa.Column("program_code", sa.String(40), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("submission_id", UUID(as_uuid=True), unique=True),
        sa.Column("appeal_id", UUID(as_uuid=True), unique=True),
        sa.Column("rule_set_version", sa.String(40)),
        sa.Column("effective_on", sa.Date, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("monthly_benefit", sa.Numeric(12, 2)),
        sa.Column("facts_hash", sa.String(64), nullable=False),
        sa.Column("inputs", JSONB, nullable=False),
        sa.Column("facts", JSONB, nullable=False),
        sa.Column("result", JSONB, nullable=False),
        sa.Column("source_event_id", UUID(as_uuid=True), nullable=False),
        sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_evaluations_application_id", "evaluations", ["application_id"])
    op.create_table(
        "beneficiaries",
        sa.Column("application_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("citizen_id", UUID(as_uuid=True), nullable=False),
        sa.Column("program_code", sa.String(40), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("decision_id", UUID(as_uuid=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_beneficiaries_citizen_id", "beneficiaries", ["citizen_id"])


def downgrade() -> None:
    for table in ("beneficiaries", "evaluations", "applications", "citizen_profiles", "rule_sets"):
        op.drop_table(table)
