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
