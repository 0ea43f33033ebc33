"""National IDs that identity announces kept only as their pseudonyms (CitizenRegistered v3,
StaffAccountCreated v2): the citizen's own, their family register's and the staff's. Rows
written from earlier versions are converted with the service's pseudonym key; the family
register loses the relatives' names and sex, which no rule reads.

Revision ID: profile_0004
Revises: profile_0003
"""

import sqlalchemy as sa
from alembic import op

revision = "profile_0004"
down_revision = "profile_0003"
branch_labels = None
depends_on = None

TABLES = ("profiles", "family_register", "staff_ids")


def _pseudonymise(bind: sa.Connection) -> None:
    numbers: set[str] = set()
    for table in TABLES:  # our own table names, not input
        select = sa.text(f"SELECT DISTINCT national_id FROM {table}")  # noqa: S608
        numbers |= set(bind.execute(select).scalars())
    if not numbers:
        return
    # Only when there is something to convert: the key comes from the service's settings.
    from sanad.profile.settings import ProfileSettings
    from sanad.shared.pseudonym import ORIGINAL_KEY_ID

    # Under the original key, whichever key is current: profile_0005 labels these rows as
    # the original key's (this ran before keys had ids; a rotated service holds it as a
    # previous key).
    pseudonyms = ProfileSettings().pseudonyms
    if not pseudonyms.holds(ORIGINAL_KEY_ID):
        raise RuntimeError(
            f"profile_0004 pseudonymises under the original key {ORIGINAL_KEY_ID!r}: give it as "
            "SANAD_PSEUDONYM_KEY (id k0) or in SANAD_PSEUDONYM_PREVIOUS_KEYS"
        )
    pairs = [
        {"number": number, "ref": pseudonyms.under(ORIGINAL_KEY_ID, number)}
        for number in sorted(numbers)
    ]
    for table in TABLES:
        update = f"UPDATE {table} SET national_id_ref = :ref WHERE national_id = :number"  # noqa: S608
        bind.execute(sa.text(update), pairs)


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("national_id_ref", sa.String(64), nullable=True))
    _pseudonymise(op.get_bind())
    op.drop_constraint("family_register_pkey", "family_register", type_="primary")
    op.drop_constraint("staff_ids_pkey", "staff_ids", type_="primary")
    op.drop_index("profiles_national_id", "profiles")
    for table in TABLES:
        op.drop_column(table, "national_id")
        op.alter_column(table, "national_id_ref", nullable=False)
    for column in ("full_name_ar", "full_name_en", "sex"):
        op.drop_column("family_register", column)
    op.create_primary_key(
        "family_register_pkey", "family_register", ["citizen_id", "national_id_ref"]
    )
    op.create_primary_key("staff_ids_pkey", "staff_ids", ["national_id_ref"])
    op.create_index("profiles_national_id_ref", "profiles", ["national_id_ref"])


def downgrade() -> None:
    raise RuntimeError(
        "profile_0004 keeps no national IDs in clear: there is nothing to go back to "
        "(restore the schema from a backup taken before the upgrade)"
    )
