"""verify, reproduce and the projections on a history built in memory: clean when the
services behaved, and each kind of tampering named by its check."""

from __future__ import annotations

import uuid
from decimal import Decimal

import orjson

from sanad.audit.domain.checks import verify
from sanad.audit.domain.projections import build
from sanad.audit.domain.reproduce import RuleSets, reproduce
from sanad.eligibility.rulesets import shipped
from sanad.shared import topics

from .history import History, approved_journey

RULES = RuleSets(shipped())


def failures(history: History) -> dict[str, int]:
    return {c.name: c.failures for c in verify(history.stream()) if c.failures}


def test_a_clean_history_verifies_and_reproduces() -> None:
    history = History()
    approved_journey(history, "900")
    approved_journey(history, "300")
    citizen = uuid.uuid4()
    rejected = history.decide(history.evaluate(history.submit(citizen, "4200")))
    assert rejected.payload["decision"] == "REJECTED"

    assert failures(history) == {}
    check = reproduce(history.stream(), RULES)
    assert (check.checked, check.failures) == (3, 0)


def test_a_decision_contradicting_its_evaluation_is_reported() -> None:
    history = History()
    citizen = uuid.uuid4()
    evaluated = history.evaluate(history.submit(citizen, "4200"))  # ineligible
    history.decide(evaluated, decision="APPROVED")

    [decisions] = [c for c in verify(history.stream()) if c.name == "decisions"]
    assert decisions.failures == 1
    assert "outcome ineligible means REJECTED" in decisions.examples[0]["error"]


def test_a_decision_claiming_an_evaluation_that_never_was_is_reported() -> None:
    history = History()
    evaluated = history.evaluate(history.submit(uuid.uuid4(), "900"))
    history.decide(evaluated, evaluation_id=uuid.uuid4())
    assert failures(history)["decisions"] == 1


def test_a_duplicate_event_id_with_other_content_is_reported_a_redelivery_is_not() -> None:
    history = History()
    approved_journey(history)
    topic, original = history.envelopes[0]
    history.raw(topic, original.to_bytes())  # the relay republished it: the same bytes
    assert failures(history) == {}
    [duplicates] = [c for c in verify(history.stream()) if c.name == "duplicates"]
    assert duplicates.notes["identical redeliveries (not a discrepancy)"] == 1

    changed = original.model_copy(
        update={"payload": original.payload | {"program_code": "FOOD-SUPPORT"}}
    )
    history.raw(topic, changed.to_bytes())
    [duplicates] = [c for c in verify(history.stream()) if c.name == "duplicates"]
    assert duplicates.failures == 1 and duplicates.examples[0]["event_id"] == str(original.event_id)


def test_a_card_without_approval_is_reported() -> None:
    history = History()
    citizen = uuid.uuid4()
    submitted = history.submit(citizen, "4200")
    decided = history.decide(history.evaluate(submitted))
    history.card(decided, citizen, uuid.UUID(submitted.payload["application_id"]))
    history.card(None, uuid.uuid4(), uuid.uuid4())  # an application nobody submitted

    [order] = [c for c in verify(history.stream()) if c.name == "order"]
    assert order.failures == 2
    assert {e["error"] for e in order.examples} == {
        "card without approval: the application is REJECTED",
        "card without approval: the application is unknown",
    }


def test_an_unknown_schema_version_and_garbage_are_reported() -> None:
    history = History()
    approved_journey(history)
    topic, decided = history.envelopes[2]
    future = orjson.loads(decided.to_bytes()) | {
        "event_id": str(uuid.uuid4()),
        "schema_version": 99,
    }
    history.raw(topic, orjson.dumps(future))
    history.raw(topics.CARD_ISSUED, b"not json")

    [schemas] = [c for c in verify(history.stream()) if c.name == "schemas"]
    assert schemas.failures == 2
    assert "DecisionIssued v99" in schemas.examples[0]["error"]
    assert schemas.examples[1]["error"] == "not a JSON envelope"


def test_a_decision_after_an_approval_breaks_the_order() -> None:
    history = History()
    approved_journey(history)
    _, decided = history.envelopes[2]
    history.add(
        type(decided.open())(
            **(
                decided.open().model_dump()
                | {"decision_id": uuid.uuid4(), "decision": "REJECTED", "reasons": []}
            )
        )
    )
    errors = {e["error"] for c in verify(history.stream()) for e in c.examples}
    assert "REJECTED decided while APPROVED (a terminal state)" in errors


def test_a_missing_cause_is_reported() -> None:
    history = History()
    submitted = history.submit(uuid.uuid4(), "900")
    history.add(history.evaluate(submitted).open(), causation_id=uuid.uuid4())
    assert failures(history)["causation"] == 1


def test_reproduce_names_an_evaluation_the_rules_do_not_give() -> None:
    history = History()
    submitted = history.submit(uuid.uuid4(), "900")
    evaluated = history.evaluate(submitted)
    forged = evaluated.open().model_copy(update={"monthly_benefit": Decimal("900.00")})
    history.envelopes[-1] = (
        history.envelopes[-1][0],
        evaluated.model_copy(update={"payload": forged.model_dump(mode="json")}),
    )

    check = reproduce(history.stream(), RULES)
    assert check.failures == 1
    assert check.examples[0]["differences"] == ["monthly_benefit"]
    assert (
        check.examples[0]["error"]
        == "the recorded rule set on the recorded inputs gives another result"
    )


def test_projections_are_the_same_whatever_order_the_topics_were_read_in() -> None:
    history = History()
    for income in ("900", "300", "4200"):
        approved_journey(history, income) if income != "4200" else history.decide(
            history.evaluate(history.submit(uuid.uuid4(), income))
        )
    stream = history.stream()
    once = build(stream.events())
    stream.records.reverse()
    again = build(stream.events())
    assert once == again
    assert once.counts() == {
        "applications": 3,
        "status_history": 9,
        "evaluations": 3,
        "decisions": 3,
        "cards": 2,
        "notifications": 0,
        "events": 11,
    }
    statuses = [row[3] for row in once.history]
    assert statuses.count("UNDER_EVALUATION") == 3
