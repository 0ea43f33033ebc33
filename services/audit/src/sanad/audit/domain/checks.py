"""``verify``: the checks over the recorded stream, each with counts and first examples.

The order rules are the applications service's own state machine
(``sanad.applications.domain.states``) and its mapping from an evaluation to a decision
(``sanad.applications.domain.decision.effect_of``), imported, not restated.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from sanad.applications.domain.decision import Decide, Evaluation, Target, effect_of
from sanad.applications.domain.states import Status, can_move
from sanad.audit.domain.records import Record
from sanad.audit.domain.report import Check
from sanad.audit.domain.stream import Stream
from sanad.shared.events import Envelope
from sanad.shared.events.catalog import UnknownEventType, model_for

AUTOMATIC = "auto"  # decided_by of a decision made on an evaluation (applications' AUTO)


def where(record: Record) -> dict[str, Any]:
    return {
        "at": str(record.position),
        "event_id": record.event_id,
        "event_type": record.event_type,
        "schema_version": record.schema_version,
    }


def check_schemas(stream: Stream) -> Check:
    """Every message is an envelope whose payload validates under its (type, version)."""
    check = Check("schemas", "every envelope parses under its schema version")
    for record in stream.records:
        if record.envelope is None:
            check.fail(**where(record), error="not a JSON envelope")
            continue
        try:
            Envelope.model_validate(record.envelope).open()
        except UnknownEventType as exc:
            check.fail(**where(record), error=f"unknown event type or version: {exc}")
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            check.fail(**where(record), error=f"{field}: {first['msg']}")
        else:
            check.passed()
    return check


def check_duplicates(stream: Stream) -> Check:
    """No event id twice with different content. The same bytes twice is a redelivery (the
    outbox relay republishes a batch it could not mark): counted, not a discrepancy."""
    check = Check("duplicates", "no duplicate event_id")
    copies: dict[str, list[Record]] = defaultdict(list)
    for record in stream.records:
        if record.event_id is not None:
            copies[record.event_id].append(record)
    redelivered = 0
    for event_id, found in copies.items():
        if len({r.value for r in found}) > 1:
            check.fail(
                event_id=event_id,
                at=[str(r.position) for r in found],
                event_types=sorted({str(r.event_type) for r in found}),
                error=f"{len(found)} different events share this id",
            )
        else:
            redelivered += len(found) - 1
            check.passed()
    check.notes["identical redeliveries (not a discrepancy)"] = redelivered
    return check


def check_causation(stream: Stream) -> Check:
    """Every causation_id names an event that is on a topic (anywhere, in scope or not)."""
    check = Check("causation", "every causation_id points to an existing event")
    for record in stream.events():
        if record.causation_id is None:
            continue
        if record.causation_id in stream.all_event_ids:
            check.passed()
        else:
            check.fail(**where(record), causation_id=record.causation_id, error="no such event")
    return check


def _status(value: Any) -> Status | None:
    try:
        return Status(str(value))
    except ValueError:
        return None


def check_order(stream: Stream) -> Check:
    """Per application, in order: each event is a step the state machine allows from where
    the application is; no evaluation or decision before a submission; no card without a
    standing approval of that application for that citizen and program."""
    check = Check("order", "per-aggregate order follows the applications state machine")
    status: dict[str, Status] = {}
    owner: dict[str, tuple[str | None, str | None]] = {}
    appeals: set[str] = set()
    for record in stream.events():
        p = record.payload
        application = record.application_id
        if application is None:
            continue
        current = status.get(application)
        match record.event_type:
            case "ApplicationSubmitted":
                if current is None or can_move(current, Status.SUBMITTED):
                    status[application] = Status.SUBMITTED
                    owner[application] = (record.citizen_id, p.get("program_code"))
                    check.passed()
                else:
                    check.fail(**where(record), error=f"submitted while {current.value}")
            case "EligibilityEvaluated":
                if current is None:
                    check.fail(**where(record), error="evaluation before any submission")
                elif p.get("appeal_id") and str(p["appeal_id"]) not in appeals:
                    check.fail(**where(record), error="evaluates an appeal never filed")
                else:
                    check.passed()
            case "DecisionIssued":
                target = _status(p.get("decision"))
                if current is None:
                    check.fail(**where(record), error="decision before its submission")
                    continue
                step = Status.UNDER_EVALUATION if current is Status.SUBMITTED else current
                if target is None or not can_move(step, target):
                    check.fail(
                        **where(record),
                        error=f"{p.get('decision')} decided while {current.value}"
                        + (" (a terminal state)" if not _moves(current) else ""),
                    )
                else:
                    status[application] = target
                    check.passed()
            case "AppealFiled":
                if current is not None and can_move(current, Status.APPEALED):
                    status[application] = Status.APPEALED
                    appeals.add(str(p.get("appeal_id")))
                    check.passed()
                else:
                    was = current.value if current else "never submitted"
                    check.fail(**where(record), error=f"appeal filed while {was}")
            case "CardIssued":
                if current is not Status.APPROVED:
                    check.fail(
                        **where(record),
                        error="card without approval: the application is "
                        + (current.value if current else "unknown"),
                    )
                elif owner.get(application, (None, None)) != (
                    record.citizen_id,
                    p.get("program_code"),
                ):
                    check.fail(**where(record), error="card for another citizen or program")
                else:
                    check.passed()
    return check


def _moves(current: Status) -> bool:
    return any(can_move(current, target) for target in Status)


def check_decisions(stream: Stream) -> Check:
    """Every DecisionIssued resting on an evaluation follows that EligibilityEvaluated (same
    application, earlier, same rule-set version) and, when decided automatically, says what
    the applications service's own mapping makes of it: the state, the benefit, the reasons."""
    check = Check(
        "decisions", "every DecisionIssued agrees with the EligibilityEvaluated it claims"
    )
    events = stream.events()
    evaluations = {
        str(r.payload.get("evaluation_id")): r
        for r in events
        if r.event_type == "EligibilityEvaluated"
    }
    by_id = {r.event_id: r for r in events}
    for record in events:
        if record.event_type != "DecisionIssued":
            continue
        p = record.payload
        claimed = p.get("evaluation_id")
        cause = by_id.get(record.causation_id) if record.causation_id else None
        if claimed is None and cause is not None and cause.event_type == "EligibilityEvaluated":
            claimed = cause.payload.get("evaluation_id")  # v1: named by its cause only
        if claimed is None:
            if p.get("decided_by") == AUTOMATIC:
                check.fail(**where(record), error="an automatic decision names no evaluation")
            continue  # a caseworker's or the deadline's decision without an evaluation
        evaluation = evaluations.get(str(claimed))
        problems = _disagreements(record, evaluation, claimed)
        if problems:
            check.fail(**where(record), evaluation_id=str(claimed), error="; ".join(problems))
        else:
            check.passed()
    return check


def _disagreements(record: Record, evaluation: Record | None, claimed: Any) -> list[str]:
    p = record.payload
    if evaluation is None:
        return [f"claims evaluation {claimed}, which no EligibilityEvaluated carries"]
    e = evaluation.payload
    problems = []
    if str(e.get("application_id")) != str(p.get("application_id")):
        problems.append("the evaluation is of another application")
    if evaluation.sort_key() >= record.sort_key():
        problems.append("the evaluation comes after the decision")
    if p.get("rule_set_version") is not None and p["rule_set_version"] != e.get("rule_set_version"):
        problems.append(f"rule set {p['rule_set_version']} ≠ evaluated {e.get('rule_set_version')}")
    approved = p.get("decision") == Status.APPROVED.value
    if approved and _amount(p.get("monthly_benefit")) != _amount(e.get("monthly_benefit")):
        problems.append(
            f"benefit {p.get('monthly_benefit')} ≠ evaluated {e.get('monthly_benefit')}"
        )
    if p.get("decided_by") != AUTOMATIC:
        return problems
    if record.causation_id != evaluation.event_id:
        problems.append("an automatic decision not caused by the evaluation it names")
    try:
        event = model_for(str(evaluation.event_type), int(evaluation.schema_version or 0))
        typed = Evaluation.of(event.model_validate(e))  # type: ignore[arg-type]
    except (ValidationError, UnknownEventType):
        return [*problems, "the evaluation does not validate"]
    effect = effect_of(typed, Target(Status.UNDER_EVALUATION, typed.submission_id, None, False))
    if not isinstance(effect, Decide):
        return [*problems, "an appeal's evaluation decides nothing: a caseworker does"]
    if p.get("decision") != effect.to.value:
        problems.append(
            f"decided {p.get('decision')} but the outcome {typed.outcome} means {effect.to.value}"
        )
    elif [r.get("code") for r in p.get("reasons") or []] != [r.code for r in effect.reasons]:
        problems.append("its reasons are not the evaluation's")
    return problems


def _amount(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def verify(stream: Stream) -> list[Check]:
    return [
        check_schemas(stream),
        check_duplicates(stream),
        check_order(stream),
        check_causation(stream),
        check_decisions(stream),
    ]
