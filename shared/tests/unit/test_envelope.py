from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from sanad.shared.events import CitizenRegistered, Envelope, OtpRequested, correlation_id_var
from sanad.shared.events.catalog import UnknownEventType


def otp_event() -> OtpRequested:
    return OtpRequested(
        registration_id=uuid.uuid4(),
        mobile="+966501234567",
        encrypted_code="v1.sealed",
        expires_at=datetime.now(UTC),
    )


def test_wrap_fills_the_envelope_and_keys_by_aggregate() -> None:
    event = otp_event()
    token = correlation_id_var.set("req-42")
    try:
        envelope = Envelope.wrap(event, producer="identity")
    finally:
        correlation_id_var.reset(token)
    assert envelope.event_type == "OtpRequested"
    assert envelope.schema_version == 1
    assert envelope.key == str(event.registration_id)
    assert envelope.topic == "identity.otp-requested"
    assert envelope.correlation_id == "req-42"
    assert envelope.occurred_at.tzinfo is not None


def test_bytes_round_trip_gives_back_the_typed_payload() -> None:
    event = otp_event()
    cause = uuid.uuid4()
    envelope = Envelope.wrap(event, producer="identity", causation_id=cause)
    again = Envelope.from_bytes(envelope.to_bytes())
    assert again == envelope
    assert again.open() == event
    assert again.causation_id == cause
    assert dict(envelope.headers())["event_type"] == b"OtpRequested"


def test_payloads_refuse_unknown_fields_and_bad_values() -> None:
    with pytest.raises(ValidationError) as raised:
        CitizenRegistered.model_validate({"citizen_id": "not-a-uuid", "surprise": 1})
    fields = {error["loc"][0] for error in raised.value.errors()}
    assert {"citizen_id", "surprise", "mobile"} <= fields


def test_unknown_event_type_or_version_is_refused() -> None:
    envelope = Envelope.wrap(otp_event(), producer="identity")
    future = envelope.model_copy(update={"schema_version": 99})
    with pytest.raises(UnknownEventType, match="OtpRequested v99"):
        future.open()
