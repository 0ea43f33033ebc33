"""``reproduce``: every EligibilityEvaluated re-run from the stream alone.

The inputs are rebuilt the way the eligibility service builds them (its own functions,
imported): a submission's household snapshot, form and document kinds, or — for an appeal —
the citizen's newest ``ProfileUpdated`` before the evaluation with the appealed
submission's form (less its income) and documents; plus the programs the citizen was an
active beneficiary of then (their other applications' latest decisions). The recorded
rule-set version is compiled from its document and evaluated on those facts by the
eligibility domain (``evaluate``), and outcome, criteria, missing items, benefit and the
facts' hash are compared.

``facts_hash`` tells the two kinds of difference apart: the same hash and another result
means the rules did not give the recorded answer; another hash means the stream did not
carry the inputs the evaluation used (what is missing is named in ``INPUT_GAPS``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import date
from typing import Any
from uuid import UUID

from sanad.audit.domain.records import Record
from sanad.audit.domain.report import Check
from sanad.audit.domain.stream import Stream
from sanad.eligibility.domain.evaluation import differences, evaluate, no_rule_set
from sanad.eligibility.domain.facts import facts_of
from sanad.eligibility.domain.rules import CompiledRuleSet, RuleSetRefused, compile_rule_set
from sanad.eligibility.handlers import submission_of
from sanad.eligibility.service import Subject, profile_of, submission_inputs, to_event
from sanad.shared.events import Envelope
from sanad.shared.events.catalog import model_for

COMPARED = (
    "rule_set_id",
    "rule_set_version",
    "effective_on",
    "currency",
    "outcome",
    "criteria",
    "missing",
    "monthly_benefit",
    "facts_hash",
)

# What an EligibilityEvaluated (v3) does not carry, so that the stream alone may not give
# the inputs the evaluation used; the eligibility service stores them whole in
# ``eligibility.evaluations.inputs`` (and the facts in ``.facts``).
INPUT_GAPS = (
    "active_programs: read from eligibility's beneficiary registry when it evaluated; the "
    "event names neither the list nor the decisions it reflected (the audit rebuilds it "
    "from DecisionIssued events earlier than the evaluation, which a consumer lag can "
    "make differ)",
    "an appeal's profile: eligibility's newest ProfileUpdated copy when it handled the "
    "appeal; the event does not say which profile version (the audit takes the newest "
    "ProfileUpdated before the evaluation)",
    "the rule-set document of a version published through the API: only in "
    "eligibility.rule_sets (shipped versions are in the eligibility package)",
)


class RuleSets:
    """Compiled rule sets by label (``SSP-DEV@2025.1``), from documents (shipped, or read
    from eligibility's schema)."""

    def __init__(self, documents: list[Mapping[str, Any]]) -> None:
        self._documents = {f"{d['program']}@{d['version']}": d for d in documents}
        self._compiled: dict[str, CompiledRuleSet] = {}

    def get(self, label: str) -> CompiledRuleSet | None:
        if label not in self._compiled:
            document = self._documents.get(label)
            if document is None:
                return None
            self._compiled[label] = compile_rule_set(document)
        return self._compiled[label]


def _typed_envelope(record: Record) -> Envelope:
    return Envelope.model_validate(record.envelope)


class _Earlier:
    """Per citizen and per application, the events an evaluation's inputs come from, with
    their place in the stream's order (so "before the evaluation" is one comparison)."""

    def __init__(self, events: list[Record]) -> None:
        self.by_citizen: dict[str, list[tuple[int, Record]]] = defaultdict(list)
        self.submissions: dict[str, list[tuple[int, Record]]] = defaultdict(list)
        for index, r in enumerate(events):
            if r.event_type in ("ProfileUpdated", "DecisionIssued") and r.citizen_id:
                self.by_citizen[r.citizen_id].append((index, r))
            elif r.event_type == "ApplicationSubmitted" and r.application_id:
                self.submissions[r.application_id].append((index, r))

    def of_citizen(self, citizen: str, before: int) -> list[Record]:
        return [r for i, r in self.by_citizen.get(citizen, []) if i < before]

    def submissions_of(self, application: str, before: int) -> list[Record]:
        return [r for i, r in self.submissions.get(application, []) if i < before]


def reproduce(stream: Stream, rule_sets: RuleSets) -> Check:
    check = Check("reproduce", "every EligibilityEvaluated reproduces from the stream")
    events = stream.events()
    by_id = {r.event_id: r for r in events}
    earlier = _Earlier(events)
    unreproducible: list[dict[str, Any]] = []
    for index, record in enumerate(events):
        if record.event_type != "EligibilityEvaluated":
            continue
        try:
            outcome = _one(record, index, earlier, by_id, rule_sets)
        except (ValueError, KeyError, TypeError, RuleSetRefused) as exc:
            outcome = {"error": f"cannot rebuild the inputs: {type(exc).__name__}: {exc}"}
        if outcome is None:
            check.passed()
            continue
        base = {
            "evaluation_id": record.payload.get("evaluation_id"),
            "application_id": record.application_id,
            "rule_set_version": record.payload.get("rule_set_version"),
            "event_id": record.event_id,
        }
        if "unreproducible" in outcome:
            unreproducible.append(base | outcome)
        check.fail(**base, **outcome)
    check.notes["not reproducible from the events alone"] = len(unreproducible)
    if check.failures:
        check.notes["what the events lack"] = list(INPUT_GAPS)
    return check


def _one(
    record: Record,
    index: int,
    earlier: _Earlier,
    by_id: Mapping[str | None, Record],
    rule_sets: RuleSets,
) -> dict[str, Any] | None:
    """None when reproduced identically; else what differs or why it could not be run."""
    p = record.payload
    if record.schema_version is None or record.schema_version < 3:
        return {"unreproducible": "v1/v2 evaluations name neither the date nor the trigger"}
    cause = by_id.get(record.causation_id)
    if cause is None:
        return {"unreproducible": "its cause (the submission or appeal) is not in the stream"}
    on = date.fromisoformat(p["effective_on"])
    citizen = str(p["citizen_id"])
    application = str(p["application_id"])
    if cause.event_type == "ApplicationSubmitted":
        event = model_for("ApplicationSubmitted", cause.schema_version or 1).model_validate(
            cause.payload
        )
        submission = submission_of(event, _typed_envelope(cause))  # type: ignore[arg-type]
        subject = submission.subject
        inputs = submission_inputs(submission.snapshot, submission.form, submission.documents, [])
    elif cause.event_type == "AppealFiled":
        subject, inputs = _appeal_inputs(
            cause,
            earlier.submissions_of(application, index),
            earlier.of_citizen(citizen, index),
            application,
            citizen,
        )
    else:
        return {"unreproducible": f"caused by {cause.event_type}, not a submission or appeal"}
    inputs["active_programs"] = _active_programs(earlier.of_citizen(citizen, index), application)

    label = str(p["rule_set_version"])
    facts = facts_of(inputs, on)
    if label.endswith("@none"):
        result = no_rule_set(subject.program_code, on, facts)
    else:
        rule_set = rule_sets.get(label)
        if rule_set is None:
            return {"unreproducible": f"the document of rule set {label} is not available"}
        result = evaluate(rule_set, facts, on)
    replayed = to_event(UUID(str(p["evaluation_id"])), subject, result, subject.at).model_dump(
        mode="json"
    )
    recorded = {k: p.get(k) for k in COMPARED}
    found = differences(recorded, {k: replayed.get(k) for k in COMPARED})
    if not found:
        return None
    inputs_differ = recorded["facts_hash"] != replayed["facts_hash"]
    return {
        "differences": found,
        "recorded": {k: recorded[k] for k in ("outcome", "monthly_benefit")},
        "replayed": {k: replayed[k] for k in ("outcome", "monthly_benefit")},
        "error": (
            "the inputs rebuilt from the stream differ from those evaluated (facts_hash)"
            if inputs_differ
            else "the recorded rule set on the recorded inputs gives another result"
        ),
    } | ({"unreproducible": "inputs"} if inputs_differ else {})


def _appeal_inputs(
    cause: Record,
    submissions: list[Record],
    of_citizen: list[Record],
    application: str,
    citizen: str,
) -> tuple[Subject, dict[str, Any]]:
    a = cause.payload
    subject = Subject(
        application_id=UUID(application),
        citizen_id=UUID(citizen),
        program_code=str(a["program_code"]),
        trigger="appeal",
        at=model_for("AppealFiled", cause.schema_version or 1).model_validate(a).filed_at,  # type: ignore[attr-defined]
        appeal_id=UUID(str(a["appeal_id"])),
    )
    submitted = submissions[-1] if submissions else None
    profiles = [r for r in of_citizen if r.event_type == "ProfileUpdated"]
    current = (
        profile_of(max(profiles, key=lambda r: int(r.payload.get("version") or 0)).payload)
        if profiles
        else None
    )
    form = None
    documents = None
    if submitted is not None:
        event = model_for("ApplicationSubmitted", submitted.schema_version or 1).model_validate(
            submitted.payload
        )
        submission = submission_of(event, _typed_envelope(submitted))  # type: ignore[arg-type]
        current = current if current is not None else submission.snapshot
        form = {k: v for k, v in submission.form.items() if k != "monthly_income"}
        documents = submission.documents
    return subject, submission_inputs(current, form, documents, [])


def _active_programs(of_citizen: list[Record], application: str) -> list[str]:
    """The programs of the citizen's other applications whose latest decision approved."""
    latest: dict[str, tuple[str, str]] = {}
    for r in of_citizen:
        if r.event_type == "DecisionIssued" and r.application_id != application:
            latest[str(r.application_id)] = (
                str(r.payload.get("program_code")),
                str(r.payload.get("decision")),
            )
    return sorted({program for program, decision in latest.values() if decision == "APPROVED"})
