from __future__ import annotations

import json
import logging

import pytest

from sanad.shared.logging import configure_logging, get_logger, redact_processor


def test_secrets_and_national_ids_never_reach_a_log_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("test-service")
    get_logger("t").info(
        "registration for 1000000008 received",
        password="hunter2-secret",
        otp="493817",
        access_token="eyJabc",
        national_id="1000000008",
        attempt=2,
    )
    line = capsys.readouterr().out.strip().splitlines()[-1]
    record = json.loads(line)
    assert record["service"] == "test-service"
    assert record["attempt"] == 2
    for secret in ("hunter2-secret", "493817", "eyJabc", "1000000008"):
        assert secret not in line
    assert record["national_id"] == "1*****0008"
    logging.getLogger().handlers.clear()


def test_redaction_leaves_ids_and_types_alone() -> None:
    out = redact_processor(None, "info", {"event_id": "e-1", "code": "123456", "event_type": "X"})
    assert out == {"event_id": "e-1", "code": "[redacted]", "event_type": "X"}


def test_tracebacks_carry_no_local_variables(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("test-service")

    def handle(national_id: str, authorization: str) -> None:
        body = {"sections": {"city": "Riyadh"}, "dependent": national_id}
        raise ValueError(f"cannot store {body['sections']}")

    try:
        handle("1791606104", "Bearer eyJhbGciOi.eyJzdWIiOi.c2lnbmF0dXJl")
    except ValueError:
        get_logger("t").exception("unhandled_error")
    line = capsys.readouterr().out.strip().splitlines()[-1]
    record = json.loads(line)
    assert record["exception"][0]["exc_type"] == "ValueError"
    for leaked in ("1791606104", "eyJhbGciOi", "Bearer e", '"body"'):
        assert leaked not in line
    logging.getLogger().handlers.clear()


def test_redaction_reaches_into_lists_and_text() -> None:
    out = redact_processor(
        None,
        "info",
        {
            "codes": ["123456"],
            "notes": ["ids 1000000008 and 2000000006", {"password": "x"}],
            "header": "Authorization: Bearer abc.def-ghi",
        },
    )
    assert out == {
        "codes": ["[redacted]"],
        "notes": ["ids 1*****0008 and 2*****0006", {"password": "[redacted]"}],
        "header": "Authorization: Bearer [redacted]",
    }


def test_a_line_logged_while_an_event_is_handled_names_the_event(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from sanad.shared.events import CitizenRegistered, Envelope, correlation_id_var
    from sanad.shared.inbox import _bound, current_envelope

    envelope = Envelope.wrap(
        CitizenRegistered.model_validate(
            {
                "citizen_id": "6f1c1a52-3f8e-4d3c-9b1e-0d6c4b1b2a11",
                "national_id": "1000000008",
                "full_name_ar": "اختبار",
                "full_name_en": "Test",
                "nationality": "SA",
                "sex": "F",
                "birth_date": "1990-01-01",
                "marital_status": "single",
                "mobile": "+966500000000",
                "registered_at": "2026-11-30T10:00:00+00:00",
            }
        ),
        producer="identity",
        correlation_id="req-42",
    )
    configure_logging("test-service")
    with _bound(envelope, "profile"):
        assert (correlation_id_var.get(), current_envelope.get()) == ("req-42", envelope)
        get_logger("t").info("handled")
    get_logger("t").info("after")
    during, after = (json.loads(x) for x in capsys.readouterr().out.strip().splitlines()[-2:])
    assert (during["event_id"], during["event_type"]) == (
        str(envelope.event_id),
        "CitizenRegistered",
    )
    assert (during["correlation_id"], during["consumer"]) == ("req-42", "profile")
    assert "event_id" not in after and "consumer" not in after
    assert (correlation_id_var.get(), current_envelope.get()) == (None, None)
    logging.getLogger().handlers.clear()
