"""Projection rows no longer reference their generation by a foreign key.

A foreign key is checked row by row (a trigger per inserted row): on a replay's COPY of
150,000 rows it was a third of Postgres's work. Rows are written only by the replay, in
the same transaction as their generation's ``finished_at``, and ``drop_generation`` /
``prune`` delete them table by table, so the key guarded nothing the code does not.

Revision ID: audit_0003
Revises: audit_0002
"""

from alembic import op

revision = "audit_0003"
down_revision = "audit_0002"
branch_labels = None
depends_on = None

TABLES = (
    "events",
    "applications",
    "status_history",
    "evaluations",
    "decisions",
    "cards",
    "notifications",
)


def upgrade() -> None:
    for table in TABLES:
        op.drop_constraint(f"{table}_generation_id_fkey", table, type_="foreignkey")


def downgrade() -> None:
    for table in TABLES:
        orphans = "generation_id NOT IN (SELECT generation_id FROM generations)"
        op.execute(f"DELETE FROM {table} WHERE {orphans}")  # noqa: S608
        op.create_foreign_key(
            f"{table}_generation_id_fkey",
            table,
            "generations",
            ["generation_id"],
            ["generation_id"],
            ondelete="CASCADE",
        )
