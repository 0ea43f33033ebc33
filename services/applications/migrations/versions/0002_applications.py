"""Programs, applications, documents, status history, evaluations, appeals, submit keys,
and the copy of citizens' profiles.

Revision ID: applications_0002
Revises: applications_0001
"""

from alembic import op

revision = "applications_0002"
down_revision = "applications_0001"
branch_labels = None
depends_on = None

OPEN = "'DRAFT', 'SUBMITTED', 'UNDER_EVALUATION', 'NEEDS_COMPLETION', 'UNDER_REVIEW', 'APPEALED'"

DDL = f"""
CREATE TABLE programs (
    code varchar(32) PRIMARY KEY,
    version integer NOT NULL,
    definition jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by varchar(64)
);
CREATE TABLE citizen_profiles (
    citizen_id uuid PRIMARY KEY,
    version integer NOT NULL,
    snapshot jsonb NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE applications (
    application_id uuid PRIMARY KEY,
    citizen_id uuid NOT NULL,
    program_code varchar(32) NOT NULL REFERENCES programs (code),
    status varchar(24) NOT NULL,
    status_since timestamptz NOT NULL,
    form jsonb NOT NULL,
    submission_id uuid,
    submission_number integer NOT NULL DEFAULT 0,
    submitted_at timestamptz,
    decision jsonb,
    complete_by timestamptz,
    appeal_until timestamptz,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX ix_applications_citizen_id ON applications (citizen_id);
-- One open application per citizen and program, kept by the database itself.
CREATE UNIQUE INDEX applications_one_open_per_program ON applications (citizen_id, program_code)
    WHERE status IN ({OPEN});
-- The completion-deadline job and the caseworker queue.
CREATE INDEX ix_applications_complete_by ON applications (complete_by)
    WHERE status = 'NEEDS_COMPLETION';
CREATE INDEX ix_applications_queue ON applications (status_since)
    WHERE status IN ('UNDER_REVIEW', 'APPEALED');
CREATE TABLE documents (
    document_id uuid PRIMARY KEY,
    position bigint GENERATED ALWAYS AS IDENTITY,
    application_id uuid NOT NULL REFERENCES applications (application_id) ON DELETE CASCADE,
    kind varchar(40) NOT NULL,
    content_type varchar(40) NOT NULL,
    size_bytes integer NOT NULL,
    sha256 varchar(64) NOT NULL,
    filename varchar(255),
    uploaded_at timestamptz NOT NULL
);
CREATE INDEX ix_documents_application_id ON documents (application_id);
CREATE INDEX ix_documents_sha256 ON documents (sha256);
CREATE TABLE status_history (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    application_id uuid NOT NULL REFERENCES applications (application_id) ON DELETE CASCADE,
    from_status varchar(24),
    to_status varchar(24) NOT NULL,
    at timestamptz NOT NULL,
    actor varchar(64) NOT NULL,
    actor_role varchar(16) NOT NULL,
    reasons jsonb NOT NULL,
    note text
);
CREATE INDEX ix_status_history_application_id ON status_history (application_id);
CREATE TABLE evaluations (
    evaluation_id uuid PRIMARY KEY,
    application_id uuid NOT NULL REFERENCES applications (application_id) ON DELETE CASCADE,
    submission_id uuid,
    appeal_id uuid,
    rule_set_version varchar(64) NOT NULL,
    outcome varchar(16) NOT NULL,
    criteria jsonb NOT NULL,
    missing jsonb NOT NULL,
    monthly_benefit numeric(12, 2),
    received_at timestamptz NOT NULL
);
CREATE INDEX ix_evaluations_application_id ON evaluations (application_id);
CREATE TABLE appeals (
    appeal_id uuid PRIMARY KEY,
    application_id uuid NOT NULL UNIQUE
        REFERENCES applications (application_id) ON DELETE CASCADE,
    reason text NOT NULL,
    filed_at timestamptz NOT NULL,
    evaluation_id uuid,
    decided boolean NOT NULL DEFAULT false
);
CREATE TABLE submit_keys (
    application_id uuid NOT NULL REFERENCES applications (application_id) ON DELETE CASCADE,
    key varchar(200) NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (application_id, key)
);
"""


def upgrade() -> None:
    for statement in DDL.split(";"):
        if statement.strip():
            op.execute(statement)


def downgrade() -> None:
    for table in (
        "submit_keys",
        "appeals",
        "evaluations",
        "status_history",
        "documents",
        "applications",
        "citizen_profiles",
        "programs",
    ):
        op.execute(f"DROP TABLE {table}")
