"""A small recorded history built in memory the way the services build it: submissions,
evaluations made by the eligibility domain on the shipped rules, the decisions the
applications domain makes of them, cards — as records read from topics."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sanad.applications.domain.decision import (
    Decide,
    Evaluation,
    Target,
    effect_of,
)
from sanad.applications.domain.states import Status
from sanad.audit.domain.records import Position, Record, parse
from sanad.audit.domain.stream import Stream
from sanad.eligibility.domain.evaluation import evaluate, policy_date
from sanad.eligibility.domain.facts import facts_of
from sanad.eligibility.domain.rules import compile_rule_set
from sanad.eligibility.rulesets import shipped
from sanad.eligibility.service import Subject, submission_inputs, to_event
from sanad.shared.events import (
    ApplicationSubmittedV2,
    CardIssued,
    DecisionIssuedV3,
    EligibilityEvaluatedV3,
    Envelope,
    Event,
)
from sanad.shared.events.applications import ProgramTerms

SSP = compile_rule_set(next(d for d in shipped() if d["program"] == "SSP-DEV"))
DOCUMENTS = ["national_id", "family_register", "proof_of_income", "bank_account"]


def snapshot(income: str) -> dict[str, Any]:
    return {
        "registry": {"sex": "F", "birth_date": "1984-09-30"},
        "sections": {
            "personal": {"nationality": "SA", "marital_status": "widowed"},
            "housing": {"region": "riyadh", "housing_type": "rented"},
            "income": {"sources": [{"type": "salary", "monthly_amount": income}]},
            "property": {"assets": []},
            "employment": {"status": "employed"},
        },
        "dependents": [],
        "household": {
            "household_size": 1,
            "total_monthly_income": income,
            "total_property_value": "0",
        },
        "completeness": {},
    }


@dataclass
class History:
    at: datetime = field(default_factory=lambda: datetime(2026, 3, 1, 9, tzinfo=UTC))
    envelopes: list[tuple[str, Envelope]] = field(default_factory=list)

    def add(self, event: Event, *, cause: Envelope | None = None, **overrides: Any) -> Envelope:
        self.at += timedelta(seconds=1)
        envelope = Envelope.wrap(
            event,
            producer="test",
            correlation_id="req-1",
            causation_id=None if cause is None else cause.event_id,
        ).model_copy(update={"occurred_at": self.at, **overrides})
        self.envelopes.append((event.TOPIC, envelope))
        return envelope

    def raw(self, topic: str, value: bytes) -> None:
        self.envelopes.append((topic, value))  # type: ignore[arg-type]

    def stream(self) -> Stream:
        records: list[Record] = []
        offsets: dict[str, int] = {}
        for topic, envelope in self.envelopes:
            offset = offsets[topic] = offsets.get(topic, -1) + 1
            value = envelope if isinstance(envelope, bytes) else envelope.to_bytes()
            records.append(parse(Position(topic, 0, offset), value))
        return Stream(records, {r.event_id for r in records if r.event_id})

    # --- the journey ---------------------------------------------------------------------

    def submit(
        self, citizen: uuid.UUID, income: str, application: uuid.UUID | None = None
    ) -> Envelope:
        return self.add(
            ApplicationSubmittedV2(
                application_id=application or uuid.uuid4(),
                submission_id=uuid.uuid4(),
                submission_number=1,
                citizen_id=citizen,
                program_code="SSP-DEV",
                submitted_at=self.at,
                form={"monthly_income": income, "family_size": 1},
                documents=[
                    {
                        "kind": k,
                        "content_type": "application/pdf",
                        "size_bytes": 10,
                        "sha256": "0" * 64,
                    }
                    for k in DOCUMENTS
                ],
                profile_version=3,
                household_snapshot=snapshot(income),
            )
        )

    def evaluate(self, submitted: Envelope) -> Envelope:
        s = submitted.payload
        subject = Subject(
            application_id=uuid.UUID(s["application_id"]),
            citizen_id=uuid.UUID(s["citizen_id"]),
            program_code="SSP-DEV",
            trigger="submission",
            at=datetime.fromisoformat(s["submitted_at"]),
            submission_id=uuid.UUID(s["submission_id"]),
        )
        on = policy_date(subject.at)
        inputs = submission_inputs(s["household_snapshot"], s["form"], DOCUMENTS, [])
        result = evaluate(SSP, facts_of(inputs, on), on)
        return self.add(to_event(uuid.uuid4(), subject, result, self.at), cause=submitted)

    def decide(self, evaluated: Envelope, **changes: Any) -> Envelope:
        typed = EligibilityEvaluatedV3.model_validate(evaluated.payload)
        effect = effect_of(
            Evaluation.of(typed), Target(Status.UNDER_EVALUATION, typed.submission_id, None, False)
        )
        assert isinstance(effect, Decide)
        fields: dict[str, Any] = {
            "decision_id": uuid.uuid4(),
            "application_id": typed.application_id,
            "citizen_id": typed.citizen_id,
            "program_code": typed.program_code,
            "decision": effect.to.value,
            "reasons": list(effect.reasons),
            "monthly_benefit": effect.monthly_benefit,
            "decided_by": "auto",
            "decided_at": self.at,
            "rule_set_version": typed.rule_set_version,
            "evaluation_id": typed.evaluation_id,
            "program": ProgramTerms(
                name_ar="الضمان", name_en="SSP", card_on_approval=True, card_validity_days=365
            ),
        } | changes
        return self.add(DecisionIssuedV3(**fields), cause=evaluated)

    def card(
        self, decided: Envelope | None, citizen: uuid.UUID, application: uuid.UUID
    ) -> Envelope:
        return self.add(
            CardIssued(
                card_id=uuid.uuid4(),
                card_number="4000000000000002",
                citizen_id=citizen,
                application_id=application,
                program_code="SSP-DEV",
                issued_at=self.at,
                expires_at=date(2027, 3, 1),
            ),
            cause=decided,
        )


def approved_journey(history: History, income: str = "900") -> tuple[uuid.UUID, uuid.UUID]:
    """A citizen approved (benefit 1,100 − income) and given a card."""
    citizen = uuid.uuid4()
    submitted = history.submit(citizen, income)
    evaluated = history.evaluate(submitted)
    decided = history.decide(evaluated)
    assert decided.payload["decision"] == "APPROVED"
    assert Decimal(decided.payload["monthly_benefit"]) == Decimal(1100) - Decimal(income)
    application = uuid.UUID(submitted.payload["application_id"])
    history.card(decided, citizen, application)
    return citizen, application
