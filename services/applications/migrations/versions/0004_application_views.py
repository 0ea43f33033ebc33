"""The status read model: each application as its citizen reads it, encoded once per change.

Rows are written by the service whenever an application changes; applications that existed
before this revision get theirs on their first read (``service/views.py``).

Revision ID: applications_0004
Revises: applications_0003
"""

from alembic import op

revision = "applications_0004"
down_revision = "applications_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE application_views (
            application_id uuid PRIMARY KEY
                REFERENCES applications (application_id) ON DELETE CASCADE,
            citizen_id uuid NOT NULL,
            status varchar(24) NOT NULL,
            created_at timestamptz NOT NULL,
            complete_by timestamptz,
            appeal_until timestamptz,
            appealed boolean NOT NULL,
            version integer NOT NULL,
            detail text NOT NULL,
            summary text NOT NULL
        )
        """
    )
    op.execute(
        "CREATE INDEX ix_application_views_citizen "
        "ON application_views (citizen_id, created_at DESC, application_id)"
    )


def downgrade() -> None:
    op.execute("DROP TABLE application_views")
