"""Events in, SMS and email out: through real Kafka, Postgres, the SMS sink and mail catcher."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
import pytest

from sanad.platform.testing import eventually
from sanad.shared.crypto import seal
from sanad.shared.events import (
    CardIssued,
    ContactChanged,
    DecisionIssued,
    Envelope,
    OtpRequested,
    ProfileUpdated,
)
from sanad.shared.events.applications import Reason
from sanad.shared.events.profile import (
    Completeness,
    Contact,
    Household,
    Personal,
    Registry,
    Sections,
)

from .conftest import (
    Service,
    mail_to,
    mobile,
    plan_sms_failures,
    registered,
    sms_to,
    wrap,
)

OTP_PUBLIC_KEY = "GxX4vnERh_7KfPZ6p_Lrxo5rRi8IcQ3g8YG01tlH1RM"
REASONS = [
    Reason(
        code="income",
        reason_ar="الدخل الشهري أعلى من الحد",
        reason_en="Monthly income is above the limit",
    ),
    Reason(
        code="property",
        reason_ar="قيمة العقارات أعلى من السقف",
        reason_en="Property value is above the ceiling",
    ),
]


def decision(citizen_id: uuid.UUID, kind: str, **kw: Any) -> DecisionIssued:
    fields: dict[str, Any] = {
        "decision_id": uuid.uuid4(),
        "application_id": uuid.uuid4(),
        "citizen_id": citizen_id,
        "program_code": "SSP-DEV",
        "decision": kind,
        "reasons": [],
        "decided_by": "rules",
        "decided_at": datetime.now(UTC),
    }
    fields.update(kw)
    return DecisionIssued.model_validate(fields)


def otp(number: str, code: str, language: str = "ar") -> OtpRequested:
    return OtpRequested(
        registration_id=uuid.uuid4(),
        mobile=number,
        language=language,
        encrypted_code=seal(OTP_PUBLIC_KEY, code.encode()),
        expires_at=datetime.now(UTC) + timedelta(minutes=5),
    )


async def one_sms(
    service: Service, number: str, source: Envelope, count: int = 1
) -> dict[str, Any]:
    """The one SMS to ``number``, checked once the event's ``count`` deliveries are settled:
    a settled delivery is never sent again, so any duplicate would be at the sink by then."""
    await eventually(lambda: sms_to(number), what=f"an SMS to {number}")
    await service.settled(source.event_id, count)
    messages = await sms_to(number)
    assert len(messages) == 1, messages
    return messages[0]


CASES = [
    (
        "APPROVED",
        {"monthly_benefit": Decimal("1650.00")},
        {
            "ar": ["الضمان الاجتماعي المطور", "1,650.00 ريال"],
            "en": ["Developed Social Security", "1,650.00 SAR", "approved"],
        },
    ),
    (
        "REJECTED",
        {"reasons": REASONS, "respond_by": date(2026, 12, 31)},
        {
            "ar": [r.reason_ar for r in REASONS] + ["2026-12-31", "الاعتراض"],
            "en": [r.reason_en for r in REASONS] + ["2026-12-31", "appeal"],
        },
    ),
    (
        "NEEDS_COMPLETION",
        {
            "missing_documents": ["family_register", "proof_of_income"],
            "respond_by": date(2026, 12, 1),
        },
        {
            "ar": ["سجل الأسرة", "إثبات الدخل", "2026-12-01"],
            "en": ["family register", "proof of income", "2026-12-01"],
        },
    ),
    ("UNDER_REVIEW", {}, {"ar": ["أحد الموظفين"], "en": ["caseworker"]}),
]


@pytest.mark.parametrize("language", ["ar", "en"])
@pytest.mark.parametrize(("kind", "fields", "expected"), CASES, ids=[c[0] for c in CASES])
async def test_each_decision_yields_an_sms_and_an_email_in_the_citizens_language(
    service: Service,
    language: str,
    kind: str,
    fields: dict[str, Any],
    expected: dict[str, list[str]],
) -> None:
    citizen_id, number, address = await registered(service, language)  # contact stored
    envelope = wrap(decision(citizen_id, kind, **fields))
    await service.publish(envelope)

    sms = await one_sms(service, number, envelope, 2)
    for phrase in expected[language]:
        assert phrase in sms["body"], (phrase, sms["body"])
    assert sms["encoding"] == ("UCS-2" if language == "ar" else "GSM-7")
    [mail] = await eventually(lambda: mail_to(str(address)), what="an email")
    for phrase in expected[language]:
        assert phrase in mail["text"] and phrase in mail["html"], phrase
    assert ('dir="rtl"' in mail["html"]) is (language == "ar")
    assert ("سارة أحمد" if language == "ar" else "Sara Ahmed") in mail["text"]

    rows = await service.settled(envelope.event_id, 2)
    assert [(r.channel, r.status, r.attempts, r.language) for r in rows] == [
        ("email", "sent", 1, language),
        ("sms", "sent", 1, language),
    ]
    assert rows[1].segments == sms["segments"]  # the service knows what the SMS costs


@pytest.mark.parametrize("language", ["ar", "en"])
async def test_card_issued_tells_how_to_open_it(service: Service, language: str) -> None:
    citizen_id, number, address = await registered(service, language)
    card = CardIssued(
        card_id=uuid.uuid4(),
        card_number="6000000000001234",
        citizen_id=citizen_id,
        application_id=uuid.uuid4(),
        program_code="FOOD-SUPPORT",
        issued_at=datetime.now(UTC),
        expires_at=date(2027, 12, 31),
    )
    envelope = wrap(card)
    await service.publish(envelope)
    sms = await one_sms(service, number, envelope, 2)
    assert f"/cards/{card.card_id}" in sms["body"] and "1234" in sms["body"]
    assert ("بطاقاتي" if language == "ar" else "My cards") in sms["body"]
    [mail] = await eventually(lambda: mail_to(str(address)), what="an email")
    assert ("دعم السلة الغذائية" if language == "ar" else "Food support") in mail["subject"]


@pytest.mark.parametrize("language", ["ar", "en"])
async def test_otp_is_sms_only_in_the_requested_language(service: Service, language: str) -> None:
    number = mobile()
    envelope = wrap(otp(number, "482913", language))
    await service.publish(envelope)
    sms = await one_sms(service, number, envelope)
    assert "482913" in sms["body"]
    assert ("رمز التحقق" if language == "ar" else "verification code") in sms["body"]
    [row] = await service.settled(envelope.event_id, 1)
    assert (row.channel, row.template, row.citizen_id) == ("sms", "otp", None)
    assert "482913" not in orjson.dumps(row.context).decode()  # stored sealed, never in clear


async def test_an_event_delivered_twice_sends_once(service: Service) -> None:
    citizen_id, number, address = await registered(service, "en")
    envelope = wrap(decision(citizen_id, "UNDER_REVIEW"))
    await service.publish(envelope)
    await service.publish(envelope)  # Kafka redelivers the very same event
    await service.settled(envelope.event_id, 2)
    await service.publish(envelope)  # ...even after it was sent
    # A later decision on the same application (same key, so the same partition) is
    # handled after the redelivery: once it is settled, the redelivery has been handled too.
    later = wrap(
        decision(citizen_id, "UNDER_REVIEW", application_id=envelope.payload["application_id"])
    )
    assert later.key == envelope.key
    await service.publish(later)
    await service.settled(later.event_id, 2)
    assert len(await sms_to(number)) == 2  # the first decision's and the later one's
    assert len(await mail_to(str(address))) == 2
    assert len(await service.deliveries(envelope.event_id)) == 2
    assert len(await service.dispatched(envelope.event_id, 2)) == 2


async def test_sms_provider_500_twice_then_200_sends_one_sms_after_retries(
    service: Service,
) -> None:
    number = mobile()
    await plan_sms_failures(500, 2, number)
    envelope = wrap(otp(number, "735104", "en"))
    await service.publish(envelope)
    [row] = await service.settled(envelope.event_id, 1)
    sms = await one_sms(service, number, envelope)
    assert "735104" in sms["body"]
    assert (row.status, row.attempts) == ("sent", 3)
    attempts = await service.attempts(row.id)
    assert [(a.outcome, a.status_code) for a in attempts] == [
        ("transient", 500),
        ("transient", 500),
        ("sent", 202),
    ]
    assert attempts[1].started_at > attempts[0].finished_at  # waited (backoff) in between
    [record] = await service.dispatched(envelope.event_id, 1)
    payload = Envelope.from_bytes(record.value).payload
    assert (payload["status"], payload["attempts"], payload["channel"]) == ("sent", 3, "sms")


async def test_sms_provider_400_is_recorded_as_failed_and_not_retried(service: Service) -> None:
    number = mobile()
    await plan_sms_failures(400, 1, number)
    envelope = wrap(otp(number, "550123", "en"))
    await service.publish(envelope)
    # Settled as failed: final, since the worker claims only pending rows.
    [row] = await service.settled(envelope.event_id, 1)
    assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 1, row.created_at)
    assert "HTTP 400" in row.last_error
    assert [a.outcome for a in await service.attempts(row.id)] == ["permanent"]
    assert await sms_to(number) == []
    [record] = await service.dispatched(envelope.event_id, 1)
    assert Envelope.from_bytes(record.value).payload["status"] == "failed"


async def test_an_invalid_mobile_fails_without_calling_the_provider(service: Service) -> None:
    envelope = wrap(otp("0501234567", "111222", "en"))  # not E.164
    await service.publish(envelope)
    [row] = await service.settled(envelope.event_id, 1)
    assert (row.status, row.attempts, row.last_error) == ("failed", 1, "invalid address: not E.164")
    assert await sms_to("0501234567") == []


async def test_a_decision_for_an_unknown_citizen_is_recorded_as_failed(service: Service) -> None:
    envelope = wrap(decision(uuid.uuid4(), "APPROVED", monthly_benefit=Decimal("10")))
    await service.publish(envelope)
    [row] = await service.settled(envelope.event_id, 1)
    assert (row.channel, row.status, row.attempts) == ("sms", "failed", 0)
    assert "no contact" in row.last_error


async def test_no_otp_code_in_any_log_line_or_in_notification_dispatched(service: Service) -> None:
    number, code = mobile(), "908172"
    envelope = wrap(otp(number, code, "ar"))
    await service.publish(envelope)
    assert code in (await one_sms(service, number, envelope))["body"]

    lines = [line for line in service.logs.lines if str(envelope.event_id) in line]
    assert any("delivery_attempted" in line for line in lines)  # we did capture its logs
    assert all(code not in line for line in service.logs.lines)
    [record] = await service.dispatched(envelope.event_id, 1)
    assert code.encode() not in record.value
    dispatched = Envelope.from_bytes(record.value)
    # Stamped by outbox.envelope: this service, caused by the OTP event, on its correlation.
    assert (dispatched.producer, dispatched.causation_id, dispatched.correlation_id) == (
        "notifications",
        envelope.event_id,
        envelope.correlation_id,
    )
    payload = dispatched.payload
    assert set(payload) == {
        "delivery_id",
        "source_event_id",
        "citizen_id",
        "channel",
        "template",
        "language",
        "status",
        "attempts",
    }


async def test_contact_changed_moves_the_contact_and_profile_updated_v2_changes_nothing(
    service: Service,
) -> None:
    """ContactChanged (the profile's version) moves the contact; an older one, or a history's
    ProfileUpdated v1 of an older version, does not; ProfileUpdated v2 (no contact) is
    consumed and changes nothing."""
    citizen_id, old_number, _ = await registered(service, "ar", email="")
    new_number, stale_number = mobile(), mobile()

    def contact(version: int, number: str) -> Envelope:
        return wrap(
            ContactChanged(
                citizen_id=citizen_id, version=version, mobile=number, email=None, language="en"
            )
        )

    await service.publish(contact(4, new_number))
    stale = contact(3, stale_number)
    await service.publish(stale)
    await service.processed(stale)
    v2 = wrap(profile_v1(citizen_id, 5, stale_number, "ar").upcast())
    await service.publish(v2)
    await service.processed(v2)
    history = wrap(profile_v1(citizen_id, 2, stale_number, "ar"))
    await service.publish(history)
    await service.processed(history)
    envelope = wrap(decision(citizen_id, "UNDER_REVIEW"))
    await service.publish(envelope)
    sms = await one_sms(service, new_number, envelope)
    assert "reviewed by a caseworker" in sms["body"]  # in English, as the contact says
    assert await sms_to(old_number) == [] and await sms_to(stale_number) == []


def profile_v1(citizen_id: uuid.UUID, version: int, number: str, language: str) -> ProfileUpdated:
    """A ProfileUpdated v1 (the history: it carried the contact)."""
    completeness = dict.fromkeys((*Completeness.model_fields,), False)
    return ProfileUpdated(
        citizen_id=citizen_id,
        version=version,
        registry=Registry(
            full_name_ar="سارة", full_name_en="Sara", sex="F", birth_date=date(1990, 1, 1)
        ),
        contact=Contact(mobile=number, email=None, language=language),
        sections=Sections(personal=Personal(nationality="SA")),
        dependents=[],
        household=Household(
            household_size=1,
            total_monthly_income=Decimal(0),
            total_property_value=Decimal(0),
        ),
        completeness=Completeness.model_validate(completeness),
    )


async def test_profile_update_changes_contact_and_stale_versions_are_ignored(
    service: Service,
) -> None:
    citizen_id, old_number, _ = await registered(service, "ar", email="")
    new_number, stale_number = mobile(), mobile()

    def profile(version: int, number: str, language: str) -> Envelope:
        completeness = dict.fromkeys((*Completeness.model_fields,), False)
        return wrap(
            ProfileUpdated(
                citizen_id=citizen_id,
                version=version,
                registry=Registry(
                    full_name_ar="سارة", full_name_en="Sara", sex="F", birth_date=date(1990, 1, 1)
                ),
                contact=Contact(mobile=number, email=None, language=language),
                sections=Sections(personal=Personal(nationality="SA")),
                dependents=[],
                household=Household(
                    household_size=1,
                    total_monthly_income=Decimal(0),
                    total_property_value=Decimal(0),
                ),
                completeness=Completeness.model_validate(completeness),
            )
        )

    await service.publish(profile(3, new_number, "en"))
    stale = profile(2, stale_number, "ar")  # older: must not win
    await service.publish(stale)
    await service.processed(stale)
    envelope = wrap(decision(citizen_id, "UNDER_REVIEW"))
    await service.publish(envelope)
    sms = await one_sms(service, new_number, envelope)
    assert "reviewed by a caseworker" in sms["body"]
    assert await sms_to(old_number) == [] and await sms_to(stale_number) == []
