"""The seeded program catalog (migrations/seed/programs.json). Programs an admin already
changed (or created under the same code) are left as they are.

Revision ID: applications_0003
Revises: applications_0002
"""

import json
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "applications_0003"
down_revision = "applications_0002"
branch_labels = None
depends_on = None

SEED = Path(__file__).resolve().parents[1] / "seed" / "programs.json"


def upgrade() -> None:
    insert = sa.text(
        "INSERT INTO programs (code, version, definition, updated_by) "
        "VALUES (:code, 1, CAST(:definition AS jsonb), 'seed') ON CONFLICT (code) DO NOTHING"
    )
    for program in json.loads(SEED.read_text(encoding="utf-8")):
        definition = {key: value for key, value in program.items() if key != "code"}
        op.execute(
            insert.bindparams(
                code=program["code"], definition=json.dumps(definition, ensure_ascii=False)
            )
        )


def downgrade() -> None:
    op.execute("DELETE FROM programs WHERE updated_by = 'seed'")
