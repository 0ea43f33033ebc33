"""Which messages each event yields, and how they read in Arabic and English."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from sanad.notifications.domain.planning import (
    Channel,
    Contact,
    Template,
    plan_card,
    plan_decision,
    plan_otp,
)
from sanad.notifications.rendering import Renderer
from sanad.shared.events import CardIssued, DecisionIssued, OtpRequested
from sanad.shared.events.applications import Reason

RENDERER = Renderer(portal_url="https://sanad.example/")
CITIZEN = uuid.uuid4()
DECIDED = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
REASONS = [
    Reason(code="income", reason_ar="الدخل أعلى من الحد", reason_en="Income is above the limit"),
    Reason(code="property", reason_ar="قيمة العقار مرتفعة", reason_en="Property value too high"),
]


def contact(language: str = "ar", email: str | None = "sara@example.com", **kw: object) -> Contact:
    return Contact(
        citizen_id=CITIZEN,
        mobile="+966501234567",
        email=email,
        language=language,  # type: ignore[arg-type]
        full_name_ar="سارة",
        full_name_en="Sara",
        **kw,  # type: ignore[arg-type]
    )


def decision(kind: str, **kw: object) -> DecisionIssued:
    fields: dict[str, object] = {
        "decision_id": uuid.uuid4(),
        "application_id": uuid.uuid4(),
        "citizen_id": CITIZEN,
        "program_code": "SSP-DEV",
        "decision": kind,
        "reasons": REASONS if kind == "REJECTED" else [],
        "decided_by": "rules",
        "decided_at": DECIDED,
    }
    fields.update(kw)
    return DecisionIssued.model_validate(fields)


def test_a_decision_goes_by_sms_and_email_in_the_citizens_language() -> None:
    planned = plan_decision(decision("UNDER_REVIEW"), contact("en"), appeal_window_days=30)
    assert [(p.channel, p.template, p.language) for p in planned] == [
        (Channel.SMS, Template.DECISION_UNDER_REVIEW, "en"),
        (Channel.EMAIL, Template.DECISION_UNDER_REVIEW, "en"),
    ]
    assert [p.recipient for p in planned] == ["+966501234567", "sara@example.com"]


def test_no_email_when_there_is_none_or_the_citizen_turned_it_off() -> None:
    assert (
        len(plan_decision(decision("UNDER_REVIEW"), contact(email=None), appeal_window_days=30))
        == 1
    )
    off = contact(email_enabled=False)
    assert [p.channel for p in plan_card(card(), off)] == [Channel.SMS]


def test_without_a_contact_the_sms_is_planned_with_no_recipient_so_it_is_recorded() -> None:
    planned = plan_decision(decision("APPROVED"), None, appeal_window_days=30)
    assert [(p.channel, p.recipient) for p in planned] == [(Channel.SMS, None)]


def test_a_rejection_without_respond_by_gets_the_appeal_window() -> None:
    planned = plan_decision(decision("REJECTED"), contact(), appeal_window_days=30)
    assert planned[0].context["respond_by"] == "2026-05-31"


def test_otp_keeps_the_code_sealed_and_goes_to_the_mobile_only() -> None:
    now = datetime.now(UTC)
    event = OtpRequested(
        registration_id=uuid.uuid4(),
        mobile="+966501234567",
        language="en",
        encrypted_code="v1.sealed",
        expires_at=now + timedelta(minutes=5),
    )
    [planned] = plan_otp(event, now)
    assert (planned.channel, planned.recipient, planned.citizen_id) == (
        Channel.SMS,
        "+966501234567",
        None,
    )
    assert planned.context == {"encrypted_code": "v1.sealed", "valid_minutes": 5}


def card() -> CardIssued:
    return CardIssued(
        card_id=uuid.uuid4(),
        card_number="6000123412345678",
        citizen_id=CITIZEN,
        application_id=uuid.uuid4(),
        program_code="SSP-DEV",
        issued_at=DECIDED,
        expires_at=date(2027, 5, 1),
    )


def rendered(event: DecisionIssued | CardIssued, language: str) -> tuple[str, str, str, str]:
    planned = (
        plan_card(event, contact(language))
        if isinstance(event, CardIssued)
        else plan_decision(event, contact(language), appeal_window_days=30)
    )
    sms, mail = planned
    body = RENDERER.sms(sms.template, sms.language, sms.context).body
    email = RENDERER.email(mail.template, mail.language, mail.context)
    return body, email.subject, email.text, email.html


def test_rejected_lists_every_reason_and_how_to_appeal_until_when() -> None:
    sms_ar, _, text_ar, html_ar = rendered(decision("REJECTED"), "ar")
    sms_en, _, text_en, html_en = rendered(decision("REJECTED"), "en")
    for reason in REASONS:
        assert (
            reason.reason_ar in sms_ar
            and reason.reason_ar in text_ar
            and reason.reason_ar in html_ar
        )
        assert (
            reason.reason_en in sms_en
            and reason.reason_en in text_en
            and reason.reason_en in html_en
        )
    assert "2026-05-31" in sms_en and "appeal" in sms_en
    assert "2026-05-31" in sms_ar and "الاعتراض" in sms_ar


def test_approved_gives_program_and_monthly_benefit() -> None:
    sms_ar, _, _, _ = rendered(decision("APPROVED", monthly_benefit=Decimal("1650.50")), "ar")
    sms_en, subject_en, _, _ = rendered(
        decision("APPROVED", monthly_benefit=Decimal("1650.50")), "en"
    )
    assert "الضمان الاجتماعي المطور" in sms_ar and "1,650.50 ريال" in sms_ar
    assert "Developed Social Security" in sms_en and "1,650.50 SAR" in sms_en
    assert subject_en == "Your application for Developed Social Security is approved"


def test_needs_completion_names_the_missing_documents_and_the_deadline() -> None:
    event = decision(
        "NEEDS_COMPLETION", missing_documents=["family_register"], respond_by=date(2026, 5, 15)
    )
    sms_ar, *_ = rendered(event, "ar")
    sms_en, *_ = rendered(event, "en")
    assert "سجل الأسرة" in sms_ar and "2026-05-15" in sms_ar
    assert "family register" in sms_en and "2026-05-15" in sms_en


def test_card_issued_says_how_to_open_it() -> None:
    event = card()
    sms_en, _, text_en, _ = rendered(event, "en")
    assert f"https://sanad.example/cards/{event.card_id}" in sms_en
    assert "5678" in sms_en and "My cards" in text_en


SMS_ONLY = (Template.OTP, Template.REGISTRATION_ATTEMPTED)


@pytest.mark.parametrize("template", [t for t in Template if t not in SMS_ONLY])
def test_arabic_email_is_right_to_left_and_english_left_to_right(template: Template) -> None:
    context = {
        "application_id": "a",
        "program_code": "food_support",
        "reasons": [r.model_dump() for r in REASONS],
        "missing_documents": ["bank_account"],
        "monthly_benefit": "100",
        "respond_by": "2026-01-01",
        "card_id": "c",
        "card_number_last4": "1234",
        "expires_at": "2027-01-01",
        "name": "<script>",
    }
    arabic = RENDERER.email(template, "ar", context)
    english = RENDERER.email(template, "en", context)
    assert 'dir="rtl"' in arabic.html and 'lang="ar"' in arabic.html
    assert 'dir="ltr"' in english.html
    assert "<script>" not in arabic.html and "&lt;script&gt;" in english.html  # escaped
    assert arabic.subject and "\n" not in arabic.subject


def test_sms_says_how_many_segments_it_takes() -> None:
    sms = RENDERER.sms(Template.OTP, "ar", {"code": "123456", "valid_minutes": 5})
    assert sms.segments.encoding == "UCS-2"
    assert sms.segments.segments == 2  # 73 characters
    assert RENDERER.sms(Template.OTP, "en", {"code": "123456", "valid_minutes": 5}).segments == (
        1,
        "GSM-7",
    )


def test_a_decision_v2_plans_the_same_messages_as_v1() -> None:
    from sanad.notifications.handlers import batch_handlers
    from sanad.notifications.settings import NotificationsSettings
    from sanad.shared.events import DecisionIssuedV2

    v1 = decision("REJECTED")
    v2 = DecisionIssuedV2.model_validate(
        v1.model_dump() | {"rule_set_version": "SSP-DEV@2026-01", "evaluation_id": uuid.uuid4()}
    )
    assert plan_decision(v2, contact("en"), appeal_window_days=30) == plan_decision(
        v1, contact("en"), appeal_window_days=30
    )
    assert DecisionIssuedV2 in batch_handlers(NotificationsSettings(_env_file=None))  # type: ignore[call-arg]


def test_the_holder_of_an_existing_account_is_told_by_sms_that_someone_tried() -> None:
    from datetime import UTC, datetime
    from uuid import uuid4

    from sanad.notifications.domain.planning import plan_registration_attempted
    from sanad.shared.events import RegistrationAttempted

    event = RegistrationAttempted(
        citizen_id=uuid4(), mobile="+966551234567", language="en", attempted_at=datetime.now(UTC)
    )
    [planned] = plan_registration_attempted(event)
    assert (planned.channel, planned.recipient) == (Channel.SMS, "+966551234567")
    for language in ("ar", "en"):
        body = RENDERER.sms(Template.REGISTRATION_ATTEMPTED, language, {}).body
        assert "سند" in body or "Sanad" in body


def test_a_decision_v3_names_the_program_as_the_catalog_did_when_deciding() -> None:
    from sanad.notifications.handlers import batch_handlers
    from sanad.notifications.settings import NotificationsSettings
    from sanad.shared.events import DecisionIssuedV3

    v1 = decision("APPROVED", monthly_benefit="1850.00")
    program = {"name_ar": "دعم مؤقت", "name_en": "Interim support", "card_on_approval": True}
    v3 = DecisionIssuedV3.model_validate(
        v1.model_dump() | {"program": program | {"card_validity_days": 365}}
    )
    for language, name in (("ar", "دعم مؤقت"), ("en", "Interim support")):
        [sms_v3, *_] = plan_decision(v3, contact(language), appeal_window_days=30)
        [sms_v1, *_] = plan_decision(v1, contact(language), appeal_window_days=30)
        assert name in RENDERER.sms(sms_v3.template, sms_v3.language, sms_v3.context).body
        # v1 carries no names: the seeded catalog's, by code.
        seeded = "الضمان الاجتماعي المطور" if language == "ar" else "Developed Social Security"
        assert seeded in RENDERER.sms(sms_v1.template, sms_v1.language, sms_v1.context).body
    assert DecisionIssuedV3 in batch_handlers(NotificationsSettings(_env_file=None))  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("language", "wanted"),
    [
        ("en", "Missing: family register; The household monthly income is unknown"),
        ("ar", "المطلوب: سجل الأسرة؛ دخل الأسرة الشهري غير معروف"),
    ],
)
def test_needs_completion_names_the_missing_profile_facts_as_well_as_documents(
    language: str, wanted: str
) -> None:
    missing_income = Reason(
        code="missing.household_income",
        reason_ar="دخل الأسرة الشهري غير معروف: املأ قسم الدخل في ملفك",
        reason_en="The household monthly income is unknown: fill the income section of your "
        "profile",
    )
    event = decision(
        "NEEDS_COMPLETION",
        reasons=[missing_income],
        missing_documents=["family_register"],
        respond_by=date(2026, 12, 31),
    )
    [sms, mail] = plan_decision(event, contact(language), appeal_window_days=30)
    assert wanted in RENDERER.sms(sms.template, sms.language, sms.context).body
    email = RENDERER.email(mail.template, mail.language, mail.context)
    assert missing_income.model_dump()[f"reason_{language}"] in email.text
    assert missing_income.model_dump()[f"reason_{language}"] in email.html
