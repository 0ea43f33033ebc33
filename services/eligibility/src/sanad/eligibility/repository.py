"""The SQL of the eligibility schema (SQLAlchemy Core, inside the caller's transaction)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from sanad.eligibility.models import (
    applications,
    beneficiaries,
    citizen_profiles,
    evaluations,
    rule_sets,
)


async def rule_set_in_force(session: AsyncSession, program: str, on: date) -> Row[Any] | None:
    """The version in force on ``on``: the latest effective on or before it (of two
    effective the same day, the one published last)."""
    return (
        await session.execute(
            select(rule_sets)
            .where(rule_sets.c.program_code == program, rule_sets.c.effective_from <= on)
            .order_by(rule_sets.c.effective_from.desc(), rule_sets.c.seq.desc())
            .limit(1)
        )
    ).first()


async def rule_set(session: AsyncSession, program: str, version: str) -> Row[Any] | None:
    return (
        await session.execute(
            select(rule_sets).where(
                rule_sets.c.program_code == program, rule_sets.c.version == version
            )
        )
    ).first()


async def rule_set_versions(session: AsyncSession, program: str) -> list[Row[Any]]:
    return list(
        await session.execute(
            select(rule_sets)
            .where(rule_sets.c.program_code == program)
            .order_by(rule_sets.c.effective_from, rule_sets.c.seq)
        )
    )


async def insert_rule_set(
    session: AsyncSession,
    program: str,
    version: str,
    effective_from: date,
    document: dict[str, Any],
    digest: str,
    published_by: str,
) -> bool:
    """False (nothing written) if that version exists: a published version never changes."""
    result = await session.execute(
        insert(rule_sets)
        .values(
            program_code=program,
            version=version,
            effective_from=effective_from,
            document=document,
            digest=digest,
            published_by=published_by,
        )
        .on_conflict_do_nothing(index_elements=[rule_sets.c.program_code, rule_sets.c.version])
        .returning(rule_sets.c.seq)
    )
    return result.first() is not None


@dataclass(frozen=True)
class KeptProfile:
    citizen_id: UUID
    version: int
    profile: dict[str, Any]


# Each citizen's newest profile, a batch in one statement (at most one row per citizen).
_KEEP_PROFILES = text(
    """
    INSERT INTO citizen_profiles AS c (citizen_id, version, profile)
    SELECT p.citizen_id, p.version, CAST(p.profile AS jsonb)
    FROM unnest(CAST(:citizen_ids AS uuid[]), CAST(:versions AS integer[]),
                CAST(:profiles AS text[])) AS p(citizen_id, version, profile)
    ON CONFLICT (citizen_id) DO UPDATE SET
        version = excluded.version, profile = excluded.profile, updated_at = excluded.updated_at
    WHERE c.version < excluded.version
    RETURNING citizen_id
    """
)


def newest_profiles(profiles: list[KeptProfile]) -> list[KeptProfile]:
    """Each citizen's newest version (of two with the same version, the first)."""
    newest: dict[UUID, KeptProfile] = {}
    for profile in profiles:
        kept = newest.get(profile.citizen_id)
        if kept is None or profile.version > kept.version:
            newest[profile.citizen_id] = profile
    return list(newest.values())


async def keep_profiles(session: AsyncSession, profiles: list[KeptProfile]) -> int:
    """Keep the newest version per citizen (an older or repeated version changes nothing);
    how many citizens' rows were written."""
    rows = newest_profiles(profiles)
    if not rows:
        return 0
    result = await session.execute(
        _KEEP_PROFILES,
        {
            "citizen_ids": [p.citizen_id for p in rows],
            "versions": [p.version for p in rows],
            "profiles": [orjson.dumps(p.profile).decode() for p in rows],
        },
    )
    return len(result.all())


async def profile(session: AsyncSession, citizen_id: UUID) -> tuple[int, dict[str, Any]] | None:
    """The citizen's latest profile known here, with its version."""
    found = (
        await session.execute(
            select(citizen_profiles.c.version, citizen_profiles.c.profile).where(
                citizen_profiles.c.citizen_id == citizen_id
            )
        )
    ).first()
    return None if found is None else (found.version, found.profile)


async def profiles_page(
    session: AsyncSession, after: UUID | None, limit: int
) -> list[tuple[UUID, dict[str, Any]]]:
    query = select(citizen_profiles.c.citizen_id, citizen_profiles.c.profile).order_by(
        citizen_profiles.c.citizen_id
    )
    if after is not None:
        query = query.where(citizen_profiles.c.citizen_id > after)
    rows = await session.execute(query.limit(limit))
    return [(row.citizen_id, row.profile) for row in rows]


async def active_programs(
    session: AsyncSession, citizen_id: UUID, *, besides: UUID | None = None
) -> list[str]:
    """The programs the citizen actively receives (other than through ``besides``)."""
    query = select(beneficiaries.c.program_code).where(
        beneficiaries.c.citizen_id == citizen_id, beneficiaries.c.active
    )
    if besides is not None:
        query = query.where(beneficiaries.c.application_id != besides)
    return sorted(set((await session.execute(query)).scalars()))


async def active_programs_of(
    session: AsyncSession, citizen_ids: list[UUID]
) -> dict[UUID, list[str]]:
    rows = await session.execute(
        select(beneficiaries.c.citizen_id, beneficiaries.c.program_code).where(
            beneficiaries.c.citizen_id.in_(citizen_ids), beneficiaries.c.active
        )
    )
    found: dict[UUID, set[str]] = {}
    for row in rows:
        found.setdefault(row.citizen_id, set()).add(row.program_code)
    return {citizen: sorted(codes) for citizen, codes in found.items()}


# What evaluating a batch reads, in one round trip: every version of the batch's programs'
# rules (without their documents: a compiled version is kept in memory) and the active
# benefits of its citizens. Built once: SQLAlchemy then reuses the compiled text.
_FOR_EVALUATION = text(
    """
    SELECT program_code, version, effective_from, seq, digest,
           NULL::uuid AS citizen_id, NULL::uuid AS application_id
    FROM rule_sets WHERE program_code = ANY(CAST(:programs AS text[]))
    UNION ALL
    SELECT program_code, NULL, NULL, NULL, NULL, citizen_id, application_id
    FROM beneficiaries WHERE citizen_id = ANY(CAST(:citizens AS uuid[])) AND active
    """
)


@dataclass(frozen=True)
class RuleSetVersion:
    program_code: str
    version: str
    effective_from: date
    seq: int
    digest: str


@dataclass(frozen=True)
class ForEvaluation:
    versions: dict[str, list[RuleSetVersion]]  # by program; a program absent has no rules
    benefits: list[tuple[UUID, str, UUID]]  # (citizen, program, application), active

    def in_force(self, program: str, on: date) -> RuleSetVersion | None:
        """As ``rule_set_in_force``: the latest effective on or before ``on`` (of two
        effective the same day, the one published last)."""
        candidates = [v for v in self.versions.get(program, ()) if v.effective_from <= on]
        return max(candidates, key=lambda v: (v.effective_from, v.seq), default=None)


async def for_evaluation(
    session: AsyncSession, programs: set[str], citizen_ids: set[UUID]
) -> ForEvaluation:
    rows = await session.execute(
        _FOR_EVALUATION, {"programs": sorted(programs), "citizens": list(citizen_ids)}
    )
    versions: dict[str, list[RuleSetVersion]] = {}
    benefits = []
    for row in rows:
        if row.citizen_id is None:
            versions.setdefault(row.program_code, []).append(
                RuleSetVersion(
                    row.program_code, row.version, row.effective_from, row.seq, row.digest
                )
            )
        else:
            benefits.append((row.citizen_id, row.program_code, row.application_id))
    return ForEvaluation(versions, benefits)


# A batch's evaluations and the submissions among them kept for appeals, in one statement.
# JSON goes as text, encoded once by the caller; a submission's form, documents and
# household are read out of its evaluation's inputs. Each application's row keeps its latest
# submission (at most one row per application in ``submissions``); an evaluation of a
# submission or appeal evaluated already (before, or earlier in the batch) is not written.
_STORE = text(
    """
    WITH kept AS (
        INSERT INTO applications AS a (application_id, citizen_id, program_code,
            submission_id, submitted_at, form, documents, profile)
        SELECT s.application_id, s.citizen_id, s.program_code, s.submission_id,
            s.submitted_at, i.inputs -> 'form', i.inputs -> 'documents', i.inputs -> 'profile'
        FROM unnest(CAST(:s_application_ids AS uuid[]), CAST(:s_citizen_ids AS uuid[]),
                    CAST(:s_programs AS text[]), CAST(:s_submission_ids AS uuid[]),
                    CAST(:s_submitted_at AS timestamptz[]), CAST(:s_inputs AS text[]))
            AS s(application_id, citizen_id, program_code, submission_id, submitted_at, inputs),
            LATERAL (SELECT CAST(s.inputs AS jsonb) AS inputs) AS i
        ON CONFLICT (application_id) DO UPDATE SET
            citizen_id = excluded.citizen_id, program_code = excluded.program_code,
            submission_id = excluded.submission_id, submitted_at = excluded.submitted_at,
            form = excluded.form, documents = excluded.documents, profile = excluded.profile
        WHERE a.submitted_at <= excluded.submitted_at
    )
    INSERT INTO evaluations (evaluation_id, application_id, citizen_id, program_code, trigger,
        submission_id, appeal_id, rule_set_version, effective_on, outcome, monthly_benefit,
        facts_hash, inputs, facts, result, source_event_id, evaluated_at)
    SELECT e.evaluation_id, e.application_id, e.citizen_id, e.program_code, e.trigger,
        e.submission_id, e.appeal_id, e.rule_set_version, e.effective_on, e.outcome,
        e.monthly_benefit, e.facts_hash, CAST(e.inputs AS jsonb), CAST(e.facts AS jsonb),
        CAST(e.result AS jsonb), e.source_event_id, CAST(:evaluated_at AS timestamptz)
    FROM unnest(CAST(:evaluation_ids AS uuid[]), CAST(:application_ids AS uuid[]),
                CAST(:citizen_ids AS uuid[]), CAST(:programs AS text[]),
                CAST(:triggers AS text[]), CAST(:submission_ids AS uuid[]),
                CAST(:appeal_ids AS uuid[]), CAST(:rule_set_versions AS text[]),
                CAST(:effective_on AS date[]), CAST(:outcomes AS text[]),
                CAST(:benefits AS numeric[]), CAST(:facts_hashes AS text[]),
                CAST(:inputs AS text[]), CAST(:facts AS text[]), CAST(:results AS text[]),
                CAST(:source_event_ids AS uuid[]))
        AS e(evaluation_id, application_id, citizen_id, program_code, trigger, submission_id,
             appeal_id, rule_set_version, effective_on, outcome, monthly_benefit, facts_hash,
             inputs, facts, result, source_event_id)
    ON CONFLICT DO NOTHING
    RETURNING evaluation_id
    """
)


@dataclass(frozen=True)
class KeptSubmission:
    """An application's latest submission, kept for appeals."""

    application_id: UUID
    citizen_id: UUID
    program_code: str
    submission_id: UUID | None
    submitted_at: datetime
    inputs: str  # its evaluation's inputs as JSON: the form, documents and household


@dataclass(frozen=True)
class NewEvaluation:
    evaluation_id: UUID
    application_id: UUID
    citizen_id: UUID
    program_code: str
    trigger: str
    submission_id: UUID | None
    appeal_id: UUID | None
    rule_set_version: str | None
    effective_on: date
    outcome: str
    monthly_benefit: Decimal | None
    facts_hash: str
    inputs: str  # JSON
    facts: str  # JSON
    result: str  # JSON
    source_event_id: UUID


async def store_evaluations(
    session: AsyncSession,
    evaluations: list[NewEvaluation],
    *,
    submissions: list[KeptSubmission],
    evaluated_at: datetime,
) -> set[UUID]:
    """Keep the submissions and write the evaluations; the ids of the evaluations written."""
    if not evaluations and not submissions:
        return set()
    result = await session.execute(
        _STORE,
        {
            "s_application_ids": [s.application_id for s in submissions],
            "s_citizen_ids": [s.citizen_id for s in submissions],
            "s_programs": [s.program_code for s in submissions],
            "s_submission_ids": [s.submission_id for s in submissions],
            "s_submitted_at": [s.submitted_at for s in submissions],
            "s_inputs": [s.inputs for s in submissions],
            "evaluated_at": evaluated_at,
            "evaluation_ids": [e.evaluation_id for e in evaluations],
            "application_ids": [e.application_id for e in evaluations],
            "citizen_ids": [e.citizen_id for e in evaluations],
            "programs": [e.program_code for e in evaluations],
            "triggers": [e.trigger for e in evaluations],
            "submission_ids": [e.submission_id for e in evaluations],
            "appeal_ids": [e.appeal_id for e in evaluations],
            "rule_set_versions": [e.rule_set_version for e in evaluations],
            "effective_on": [e.effective_on for e in evaluations],
            "outcomes": [e.outcome for e in evaluations],
            "benefits": [e.monthly_benefit for e in evaluations],
            "facts_hashes": [e.facts_hash for e in evaluations],
            "inputs": [e.inputs for e in evaluations],
            "facts": [e.facts for e in evaluations],
            "results": [e.result for e in evaluations],
            "source_event_ids": [e.source_event_id for e in evaluations],
        },
    )
    return set(result.scalars())


async def submission(session: AsyncSession, application_id: UUID) -> Row[Any] | None:
    return (
        await session.execute(
            select(applications).where(applications.c.application_id == application_id)
        )
    ).first()


async def evaluation(session: AsyncSession, evaluation_id: UUID) -> Row[Any] | None:
    return (
        await session.execute(
            select(evaluations).where(evaluations.c.evaluation_id == evaluation_id)
        )
    ).first()


@dataclass(frozen=True)
class Decided:
    application_id: UUID
    citizen_id: UUID
    program_code: str
    active: bool
    decision_id: UUID
    decided_at: datetime


# The registry rows of a batch of decisions, in one statement (at most one per application).
_RECORD_DECISIONS = text(
    """
    INSERT INTO beneficiaries AS b (application_id, citizen_id, program_code, active,
        decision_id, decided_at)
    SELECT * FROM unnest(CAST(:application_ids AS uuid[]), CAST(:citizen_ids AS uuid[]),
        CAST(:programs AS text[]), CAST(:active AS boolean[]), CAST(:decision_ids AS uuid[]),
        CAST(:decided_at AS timestamptz[]))
    ON CONFLICT (application_id) DO UPDATE SET
        active = excluded.active, decision_id = excluded.decision_id,
        decided_at = excluded.decided_at
    WHERE b.decided_at <= excluded.decided_at
    """
)


def latest_decisions(decisions: list[Decided]) -> list[Decided]:
    """Each application's latest decision (of two decided at the same moment, the later in
    ``decisions``): what recording them one after the other would leave."""
    latest: dict[UUID, Decided] = {}
    for decided in decisions:
        kept = latest.get(decided.application_id)
        if kept is None or decided.decided_at >= kept.decided_at:
            latest[decided.application_id] = decided
    return list(latest.values())


async def record_decisions(session: AsyncSession, decisions: list[Decided]) -> None:
    """Each application's registry row follows its latest decision."""
    rows = latest_decisions(decisions)
    if not rows:
        return
    await session.execute(
        _RECORD_DECISIONS,
        {
            "application_ids": [d.application_id for d in rows],
            "citizen_ids": [d.citizen_id for d in rows],
            "programs": [d.program_code for d in rows],
            "active": [d.active for d in rows],
            "decision_ids": [d.decision_id for d in rows],
            "decided_at": [d.decided_at for d in rows],
        },
    )
