"""The civil registry's mobiles and family register; a registration made with the ID of an
existing account remembers it (its code is never sent: the holder is told instead).

Revision ID: identity_0003
Revises: identity_0002
"""

from alembic import op
from sqlalchemy import Column, ForeignKey, String, Uuid

revision = "identity_0003"
down_revision = "identity_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "civil_registry_mobiles",
        Column(
            "national_id", String(10), ForeignKey("civil_registry.national_id"), primary_key=True
        ),
        Column("mobile", String(16), primary_key=True),
    )
    op.create_table(
        "civil_registry_relations",
        Column(
            "national_id", String(10), ForeignKey("civil_registry.national_id"), primary_key=True
        ),
        Column(
            "relative_id", String(10), ForeignKey("civil_registry.national_id"), primary_key=True
        ),
        Column("relationship", String(8), nullable=False),
    )
    op.add_column("registrations", Column("existing_account_id", Uuid, nullable=True))


def downgrade() -> None:
    op.drop_column("registrations", "existing_account_id")
    op.drop_table("civil_registry_relations")
    op.drop_table("civil_registry_mobiles")
