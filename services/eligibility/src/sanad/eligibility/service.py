"""The eligibility use cases: evaluating submissions and appeals (inside the inbox's
transaction), the check before applying, simulations, publishing rule sets, the policy
impact simulation and replay. Each is one transaction or reads only."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

import orjson
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from sanad.eligibility import repository
from sanad.eligibility.domain.evaluation import (
    Result,
    differences,
    evaluate,
    no_rule_set,
    policy_date,
)
from sanad.eligibility.domain.facts import CATALOG, Facts, check_value, facts_of
from sanad.eligibility.domain.money import NotMoney
from sanad.eligibility.domain.rules import (
    CompiledRuleSet,
    RuleSetRefused,
    compile_rule_set,
    parse,
)
from sanad.eligibility.rulesets import shipped
from sanad.shared import outbox
from sanad.shared.clock import Clock
from sanad.shared.db import SessionFactory
from sanad.shared.events import EligibilityEvaluatedV3, Envelope
from sanad.shared.events.eligibility import CriterionResult, MissingItem
from sanad.shared.logging import get_logger
from sanad.shared.problems import FieldError, Problem

log = get_logger(__name__)

# Compiled rule sets by (program, version, digest): a published version never changes, so
# a compiled one is kept for the life of the process.
_compiled: dict[tuple[str, str, str], CompiledRuleSet] = {}


def compiled(row: Row[Any]) -> CompiledRuleSet:
    key = (row.program_code, row.version, row.digest)
    found = _compiled.get(key)
    if found is None:
        found = _compiled[key] = compile_rule_set(row.document)
    return found


async def in_force(session: AsyncSession, program: str, on: date) -> CompiledRuleSet | None:
    row = await repository.rule_set_in_force(session, program, on)
    return None if row is None else compiled(row)


# --- seeding ------------------------------------------------------------------------------


async def seed(sessions: SessionFactory) -> list[str]:
    """Load the shipped rule sets whose (program, version) is not stored yet."""
    added = []
    async with sessions() as session, session.begin():
        for raw in shipped():
            rule_set = compile_rule_set(raw)  # a broken shipped file stops the start-up
            document = rule_set.document
            if await repository.insert_rule_set(
                session,
                document.program,
                document.version,
                document.effective_from,
                document.model_dump(mode="json"),
                rule_set.digest,
                "shipped",
            ):
                added.append(rule_set.label)
            else:
                stored = await repository.rule_set(session, document.program, document.version)
                if stored is not None and stored.digest != rule_set.digest:
                    log.warning(
                        "shipped_rule_set_differs",
                        rule_set=rule_set.label,
                        detail="a published version never changes: ship a new version",
                    )
    if added:
        log.info("rule_sets_seeded", rule_sets=added)
    return added


# --- evaluation on events -----------------------------------------------------------------


@dataclass(frozen=True)
class Subject:
    """What is being evaluated and why."""

    application_id: UUID
    citizen_id: UUID
    program_code: str
    trigger: str  # submission | appeal
    at: datetime  # submitted_at or filed_at: the rules in force then apply
    submission_id: UUID | None = None
    appeal_id: UUID | None = None


def to_event(
    evaluation_id: UUID, subject: Subject, result: Result, at: datetime
) -> EligibilityEvaluatedV3:
    return EligibilityEvaluatedV3(
        evaluation_id=evaluation_id,
        application_id=subject.application_id,
        submission_id=subject.submission_id,
        appeal_id=subject.appeal_id,
        citizen_id=subject.citizen_id,
        program_code=subject.program_code,
        rule_set_version=result.rule_set_version,
        outcome=result.outcome,
        criteria=[
            CriterionResult(
                code=c.code,
                passed=c.passed,
                status=c.status,
                effect=c.effect,
                policy_reference=c.policy_reference,
                observed=c.observed,
                required=c.required,
                reason_ar=c.reason_ar,
                reason_en=c.reason_en,
                facts_read=c.facts_read,
            )
            for c in result.criteria
        ],
        missing=[
            MissingItem(kind=m.kind, code=m.code, reason_ar=m.reason_ar, reason_en=m.reason_en)
            for m in result.missing
        ]
        if result.outcome == "incomplete"
        else [],
        monthly_benefit=result.monthly_benefit,
        evaluated_at=at,
        trigger=subject.trigger,
        rule_set_id=result.rule_set_id,
        effective_on=result.effective_on,
        currency=result.currency,
        facts_hash=result.facts_hash,
    )


@dataclass(frozen=True)
class Request:
    """One evaluation to make: what, on which inputs, because of which event."""

    subject: Subject
    inputs: dict[str, Any]  # the active programs are filled in by ``evaluate_and_publish``
    cause: Envelope
    keep: bool = False  # a submission: kept (its latest per application) for appeals


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


async def _rule_set(
    session: AsyncSession, known: repository.ForEvaluation, program: str, on: date
) -> CompiledRuleSet | None:
    found = known.in_force(program, on)
    if found is None:
        return None
    key = (found.program_code, found.version, found.digest)
    if key not in _compiled:  # first use in this process: read and compile its document
        row = await repository.rule_set(session, found.program_code, found.version)
        assert row is not None  # a published version is never deleted
        return compiled(row)
    return _compiled[key]


async def evaluate_and_publish(
    session: AsyncSession, requests: Sequence[Request], *, clock: Clock
) -> list[Result]:
    """Evaluate each request, store each evaluation with its inputs and trace and queue its
    EligibilityEvaluated — one read, one write and the outbox's insert for the whole batch.
    Nothing for a submission or appeal evaluated already, nor for a program this service
    has never had rules for (a catalog program nobody wrote rules for is not its to answer;
    one whose rules are not in force on that day goes to a caseworker). The submissions
    among the requests are kept for appeals in the same write."""
    if not requests:
        return []
    known = await repository.for_evaluation(
        session,
        {r.subject.program_code for r in requests},
        {r.subject.citizen_id for r in requests},
    )
    rule_sets: dict[tuple[str, date], CompiledRuleSet | None] = {}
    now = clock.now()
    rows: list[repository.NewEvaluation] = []
    kept: dict[UUID, repository.KeptSubmission] = {}
    made: list[tuple[UUID, Request, Result]] = []
    for request in requests:
        subject = request.subject
        inputs = dict(request.inputs)
        inputs["active_programs"] = sorted(
            {
                program
                for citizen, program, application in known.benefits
                if citizen == subject.citizen_id and application != subject.application_id
            }
        )
        inputs_json = _json(inputs)
        if request.keep:  # the later of two submissions of one application in the batch
            previous = kept.get(subject.application_id)
            if previous is None or previous.submitted_at <= subject.at:
                kept[subject.application_id] = repository.KeptSubmission(
                    subject.application_id,
                    subject.citizen_id,
                    subject.program_code,
                    subject.submission_id,
                    subject.at,
                    inputs_json,
                )
        if subject.program_code not in known.versions:
            # The code is unchecked input here: the application's id says which one it was.
            log.warning("no_rules_for_program", application_id=str(subject.application_id))
            continue
        on = policy_date(subject.at)
        key = (subject.program_code, on)
        if key not in rule_sets:
            rule_sets[key] = await _rule_set(session, known, subject.program_code, on)
        rule_set = rule_sets[key]
        facts = facts_of(inputs, on)
        result = (
            no_rule_set(subject.program_code, on, facts)
            if rule_set is None
            else evaluate(rule_set, facts, on)
        )
        evaluation_id = uuid.uuid4()
        made.append((evaluation_id, request, result))
        rows.append(
            repository.NewEvaluation(
                evaluation_id=evaluation_id,
                application_id=subject.application_id,
                citizen_id=subject.citizen_id,
                program_code=subject.program_code,
                trigger=subject.trigger,
                submission_id=subject.submission_id,
                appeal_id=subject.appeal_id,
                rule_set_version=None if rule_set is None else rule_set.version,
                effective_on=on,
                outcome=result.outcome,
                monthly_benefit=result.monthly_benefit,
                facts_hash=result.facts_hash,
                inputs=inputs_json,
                facts=_json(facts),
                result=_json(result.to_json()),
                source_event_id=request.cause.event_id,
            )
        )
    stored = await repository.store_evaluations(
        session, rows, submissions=list(kept.values()), evaluated_at=now
    )
    envelopes = []
    results = []
    for evaluation_id, request, result in made:
        if evaluation_id not in stored:
            log.info("already_evaluated", trigger=request.subject.trigger)
            continue
        envelopes.append(
            outbox.envelope(
                session, to_event(evaluation_id, request.subject, result, now), cause=request.cause
            )
        )
        results.append(result)
    await outbox.add_all(session, envelopes)
    if results:
        log.info("evaluated", count=len(results))
    return results


def submission_inputs(
    profile: dict[str, Any] | None,
    form: dict[str, Any] | None,
    documents: list[str] | None,
    active: list[str],
) -> dict[str, Any]:
    return {
        "profile": profile,
        "form": form,
        "documents": documents,
        "active_programs": active,
    }


def profile_of(event_payload: dict[str, Any]) -> dict[str, Any]:
    """A ProfileUpdated as this service keeps it: no contact details, no names."""
    registry = event_payload.get("registry") or {}
    return {
        "registry": {k: registry.get(k) for k in ("sex", "birth_date")},
        "sections": event_payload.get("sections"),
        "dependents": event_payload.get("dependents"),
        "household": event_payload.get("household"),
        "completeness": event_payload.get("completeness"),
    }


@dataclass(frozen=True)
class Submission:
    subject: Subject
    form: dict[str, Any]
    documents: list[str]
    snapshot: dict[str, Any]
    cause: Envelope


async def on_submissions(
    session: AsyncSession, submissions: Sequence[Submission], *, clock: Clock
) -> list[Result]:
    """Evaluate every submission and keep each application's latest for appeals."""
    requests = [
        Request(
            s.subject, submission_inputs(s.snapshot, s.form, s.documents, []), s.cause, keep=True
        )
        for s in submissions
    ]
    return await evaluate_and_publish(session, requests, clock=clock)


async def on_appeal(
    session: AsyncSession, subject: Subject, cause: Envelope, *, clock: Clock
) -> list[Result]:
    """Re-evaluate on the citizen's current profile (this service's copy of ProfileUpdated),
    with the appealed submission's form and documents. The form's income is left out: it
    is what the citizen stated back then, and an appeal is typically about a change since
    (the criteria comparing it with the profile's are not applicable)."""
    submitted = await repository.submission(session, subject.application_id)
    known = await repository.profile(session, subject.citizen_id)
    current = known[1] if known is not None else None
    if current is None and submitted is not None:
        current = submitted.profile
    form = (
        None
        if submitted is None
        else {k: v for k, v in submitted.form.items() if k != "monthly_income"}
    )
    inputs = submission_inputs(
        current, form, submitted.documents if submitted is not None else None, []
    )
    return await evaluate_and_publish(session, [Request(subject, inputs, cause)], clock=clock)


# --- reading and simulating ---------------------------------------------------------------


def unknown_program(program: str, field: str) -> Problem:
    return Problem(
        404,
        "Not Found",
        f"There are no rules for program {program!r}.",
        "program-not-found",
        errors=[FieldError(field, "has no rule set", "unknown")],
    )


async def check(
    sessions: SessionFactory,
    citizen_id: UUID,
    program: str,
    category: str | None,
    clock: Clock,
) -> tuple[Result, int]:
    """What the citizen would get from ``program`` today, from their current profile
    (criteria on the form and documents are not applicable), and that profile's version:
    this service's copy follows ``ProfileUpdated``, so a client that has just written
    version N knows the answer is about its write once the version is N or later."""
    on = policy_date(clock.now())
    async with sessions() as session:
        rule_set = await in_force(session, program, on)
        if rule_set is None:
            raise unknown_program(program, "query.program")
        known = await repository.profile(session, citizen_id)
        if known is None:
            raise Problem(
                409,
                "Profile not known yet",
                "Your profile has not reached the eligibility service yet; try again shortly.",
                "profile-not-known",
            )
        active = await repository.active_programs(session, citizen_id)
    version, profile = known
    form = {"category": category} if category is not None else None
    facts = facts_of(submission_inputs(profile, form, None, active), on)
    return evaluate(rule_set, facts, on), version


def given_facts(raw: dict[str, Any]) -> Facts:
    facts: Facts = {}
    errors = []
    for name, value in raw.items():
        if name not in CATALOG:
            errors.append(FieldError(f"body.facts.{name}", "is not a known fact", "unknown"))
            continue
        try:
            facts[name] = check_value(name, value)
        except (ValueError, NotMoney) as exc:
            errors.append(FieldError(f"body.facts.{name}", str(exc), "invalid"))
    if errors:
        raise Problem(
            422,
            "Invalid request",
            "; ".join(f"{e.field}: {e.message}" for e in errors),
            "validation-error",
            errors=errors,
        )
    # A fact not given is unknown: criteria reading it are `missing`.
    return {name: facts.get(name) for name in CATALOG}


async def simulate(
    sessions: SessionFactory,
    program: str,
    version: str | None,
    on: date | None,
    raw_facts: dict[str, Any],
    clock: Clock,
) -> Result:
    facts = given_facts(raw_facts)
    day = on or policy_date(clock.now())
    async with sessions() as session:
        if version is None:
            rule_set = await in_force(session, program, day)
            if rule_set is None:
                raise unknown_program(program, "body.program")
        else:
            row = await repository.rule_set(session, program, version)
            if row is None:
                raise Problem(
                    404,
                    "Not Found",
                    f"Program {program!r} has no rule-set version {version!r}.",
                    "rule-set-not-found",
                    errors=[FieldError("body.version", "is not a published version", "unknown")],
                )
            rule_set = compiled(row)
    try:
        return evaluate(rule_set, facts, day)
    except LookupError as exc:
        raise Problem.invalid("body.on", f"the rule set has {exc}") from None


# --- rule sets ----------------------------------------------------------------------------


def refused(exc: RuleSetRefused) -> Problem:
    errors = [FieldError(f"body.{r.location}", r.message, r.code) for r in exc.refusals]
    return Problem(
        422,
        "Rule set refused",
        "; ".join(f"{e.field}: {e.message}" for e in errors),
        "rule-set-refused",
        errors=errors,
    )


def checked(program: str, raw: dict[str, Any]) -> CompiledRuleSet:
    try:
        rule_set = compile_rule_set(parse(raw))
    except RuleSetRefused as exc:
        raise refused(exc) from None
    if rule_set.program_code != program:
        raise Problem.invalid("body.program", f"must be {program!r}, the program of the path")
    return rule_set


def described(row: Row[Any], today: date, current: str | None) -> dict[str, Any]:
    rule_set = compiled(row)
    document = rule_set.document
    return {
        "program": document.program,
        "version": document.version,
        "label": rule_set.label,
        "effective_from": document.effective_from.isoformat(),
        "in_force": rule_set.version == current,
        "digest": row.digest,
        "published_at": row.published_at.isoformat(),
        "published_by": row.published_by,
        "title_ar": document.title_ar,
        "title_en": document.title_en,
        "currency": document.currency,
        "parameters": [
            {
                "name": name,
                "type": p.type,
                "label_ar": p.label_ar,
                "label_en": p.label_en,
                "reference": p.reference,
                "values": [
                    {"from": when.isoformat(), "value": value}
                    for when, value in sorted(p.values.items())
                ],
            }
            for name, p in document.parameters.items()
        ],
        "criteria": [
            {
                "code": c.code,
                "policy_reference": c.policy_reference,
                "effect": c.effect,
                "applies_if": c.applies_if,
                "expression": c.expression,
                "when_passed": c.reasons.passed.model_dump(),
                "when_failed": c.reasons.failed.model_dump(),
            }
            for c in document.criteria
        ],
        "benefit": document.benefit.model_dump(),
    }


async def rules(sessions: SessionFactory, program: str, clock: Clock) -> dict[str, Any]:
    today = policy_date(clock.now())
    async with sessions() as session:
        rows = await repository.rule_set_versions(session, program)
        current = await repository.rule_set_in_force(session, program, today)
    if not rows:
        raise unknown_program(program, "path.program")
    current_version = None if current is None else current.version
    return {
        "program": program,
        "in_force": current_version,
        "versions": [described(row, today, current_version) for row in rows],
    }


async def publish(
    sessions: SessionFactory, program: str, raw: dict[str, Any], by: str, clock: Clock
) -> dict[str, Any]:
    """Publish a new version: checked and compiled first; never in the past (what was in
    force on a past day does not change), never over an existing version."""
    rule_set = checked(program, raw)
    today = policy_date(clock.now())
    document = rule_set.document
    if document.effective_from < today:
        raise Problem.invalid(
            "body.effective_from",
            f"must be today ({today.isoformat()}) or later: the rules in force on a past day "
            "do not change",
            "in_the_past",
        )
    async with sessions() as session, session.begin():
        if not await repository.insert_rule_set(
            session,
            document.program,
            document.version,
            document.effective_from,
            document.model_dump(mode="json"),
            rule_set.digest,
            by,
        ):
            raise Problem(
                409,
                "Version exists",
                f"{rule_set.label} is published already; a published version never changes.",
                "rule-set-version-exists",
                errors=[FieldError("body.version", "is published already", "exists")],
            )
        row = await repository.rule_set(session, document.program, document.version)
        current = await repository.rule_set_in_force(session, program, today)
    assert row is not None
    log.info("rule_set_published", rule_set=rule_set.label, by=by)
    return described(row, today, None if current is None else current.version)


# --- impact simulation --------------------------------------------------------------------

LISTED = 100  # citizens named per direction per page


async def impact(
    sessions: SessionFactory,
    program: str,
    raw: dict[str, Any],
    *,
    after: UUID | None,
    limit: int,
    clock: Clock,
) -> dict[str, Any]:
    """Run a draft version over a page of the households this service knows, against the
    version in force, changing nothing."""
    draft = checked(program, raw)
    today = policy_date(clock.now())
    on = max(today, draft.document.effective_from)
    async with sessions() as session:
        baseline = await in_force(session, program, on)
        page = await repository.profiles_page(session, after, limit)
        active = await repository.active_programs_of(session, [c for c, _ in page])
    gained: list[str] = []
    lost: list[str] = []
    counts = {"gained": 0, "lost": 0, "kept": 0, "still_not_eligible": 0}
    before_total = after_total = 0
    outcomes_before: dict[str, int] = {}
    outcomes_after: dict[str, int] = {}
    per_criterion: dict[str, dict[str, int]] = {}
    started = clock.now()
    for citizen_id, profile in page:
        facts = facts_of(submission_inputs(profile, None, None, active.get(citizen_id, [])), on)
        old = evaluate(baseline, facts, on) if baseline is not None else None
        new = evaluate(draft, facts, on)
        was = old is not None and old.outcome == "eligible"
        now_eligible = new.outcome == "eligible"
        outcomes_after[new.outcome] = outcomes_after.get(new.outcome, 0) + 1
        if old is not None:
            outcomes_before[old.outcome] = outcomes_before.get(old.outcome, 0) + 1
        if was and old is not None and old.monthly_benefit is not None:
            before_total += int(old.monthly_benefit * 100)
        if now_eligible and new.monthly_benefit is not None:
            after_total += int(new.monthly_benefit * 100)
        if now_eligible and not was:
            counts["gained"] += 1
            if len(gained) < LISTED:
                gained.append(str(citizen_id))
        elif was and not now_eligible:
            counts["lost"] += 1
            if len(lost) < LISTED:
                lost.append(str(citizen_id))
        elif was:
            counts["kept"] += 1
        else:
            counts["still_not_eligible"] += 1
        old_status = {c.code: c.status for c in old.criteria} if old is not None else {}
        for criterion in new.criteria:
            row = per_criterion.setdefault(
                criterion.code,
                {"failed_before": 0, "failed_after": 0, "now_failing": 0, "now_passing": 0},
            )
            before = old_status.get(criterion.code)
            row["failed_before"] += before == "failed"
            row["failed_after"] += criterion.status == "failed"
            if before != "failed" and criterion.status == "failed":
                row["now_failing"] += 1
            if before == "failed" and criterion.status != "failed":
                row["now_passing"] += 1
    return {
        "program": program,
        "draft": draft.label,
        "baseline": None if baseline is None else baseline.label,
        "evaluated_on": on.isoformat(),
        "households": len(page),
        **counts,
        "gained_citizens": gained,
        "lost_citizens": lost,
        "benefit_total_before": f"{before_total // 100}.{before_total % 100:02d}",
        "benefit_total_after": f"{after_total // 100}.{after_total % 100:02d}",
        "outcomes_before": outcomes_before,
        "outcomes_after": outcomes_after,
        "criteria": per_criterion,
        "next_after": str(page[-1][0]) if len(page) == limit else None,
        "seconds": round((clock.now() - started).total_seconds(), 3),
    }


# --- stored evaluations -------------------------------------------------------------------


def evaluation_not_found(evaluation_id: UUID) -> Problem:
    return Problem(
        404,
        "Not Found",
        f"There is no evaluation {evaluation_id}.",
        "evaluation-not-found",
        errors=[FieldError("path.evaluation_id", "is not an evaluation", "unknown")],
    )


async def stored(sessions: SessionFactory, evaluation_id: UUID) -> Row[Any]:
    async with sessions() as session:
        row = await repository.evaluation(session, evaluation_id)
    if row is None:
        raise evaluation_not_found(evaluation_id)
    return row


def view(row: Row[Any]) -> dict[str, Any]:
    return {
        "evaluation_id": str(row.evaluation_id),
        "application_id": str(row.application_id),
        "citizen_id": str(row.citizen_id),
        "program_code": row.program_code,
        "trigger": row.trigger,
        "submission_id": None if row.submission_id is None else str(row.submission_id),
        "appeal_id": None if row.appeal_id is None else str(row.appeal_id),
        "evaluated_at": row.evaluated_at.isoformat(),
        "facts": row.facts,
        **row.result,
    }


async def replay(sessions: SessionFactory, evaluation_id: UUID) -> dict[str, Any]:
    """Re-run a stored evaluation under its recorded version, date and inputs; compare."""
    async with sessions() as session:
        row = await repository.evaluation(session, evaluation_id)
        if row is None:
            raise evaluation_not_found(evaluation_id)
        rule_row = (
            None
            if row.rule_set_version is None
            else await repository.rule_set(session, row.program_code, row.rule_set_version)
        )
    facts = facts_of(row.inputs, row.effective_on)
    if rule_row is None:
        result = no_rule_set(row.program_code, row.effective_on, facts)
    else:
        result = evaluate(compiled(rule_row), facts, row.effective_on)
    replayed = result.to_json()
    found = differences(row.result, replayed)
    return {
        "evaluation_id": str(evaluation_id),
        "identical": not found,
        "differences": found,
        "recorded": row.result,
        "replayed": replayed,
    }
