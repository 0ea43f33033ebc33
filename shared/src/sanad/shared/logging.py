"""structlog JSON logging: one line per event, with service and correlation ids bound.

Secrets and personal data are masked by a processor, so a careless ``log.info(..., otp=...)``
still cannot write them in clear.
"""

from __future__ import annotations

import contextvars
import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog
import structlog.tracebacks

# Keys whose values never reach a log line.
_SECRET_KEYS = re.compile(
    r"(password|passwd|secret|token|otp|code|authorization|cookie|api_key|iban|card_number)",
    re.IGNORECASE,
)
_NATIONAL_ID_KEYS = re.compile(r"national_id", re.IGNORECASE)
# A 10-digit national ID or residence number anywhere in a message.
_NATIONAL_ID_IN_TEXT = re.compile(r"\b([12])\d{5}(\d{4})\b")


# What one unit of work (an event being handled) adds to every line logged meanwhile: one
# variable set per event, where structlog's bound_contextvars sets and resets one per key
# (measured: a sixth of a one-event handler's CPU).
work_context: contextvars.ContextVar[Mapping[str, Any] | None] = contextvars.ContextVar(
    "work_context", default=None
)


def merge_work_context(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    bound = work_context.get()
    if bound:
        for key, value in bound.items():
            event_dict.setdefault(key, value)
    return event_dict


def mask_national_id(value: str) -> str:
    return value[:1] + "*" * max(len(value) - 5, 0) + value[-4:] if len(value) > 4 else "****"


# Bearer credentials and JWTs wherever they appear in text (a header echoed in an error...).
_BEARER_IN_TEXT = re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+")
_JWT_IN_TEXT = re.compile(r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


# Postgres's error details print the row's values: a unique or foreign key's
# ("Key (email)=(...) already exists.") and a failed constraint's whole row ("Failing row
# contains (...)"). The statement's own parameters are hidden by the engine (db.py).
_PG_KEY_IN_TEXT = re.compile(
    r"(Key \([^)]*\)=\().*?(\) (?:already exists|is not present|conflicts with))"
)
_PG_ROW_IN_TEXT = re.compile(r"(Failing row contains \().*(\))")


def _redact_text(value: str) -> str:
    value = _BEARER_IN_TEXT.sub("Bearer [redacted]", value)
    value = _JWT_IN_TEXT.sub("[redacted-jwt]", value)
    value = _PG_KEY_IN_TEXT.sub(r"\1[redacted]\2", value)
    value = _PG_ROW_IN_TEXT.sub(r"\1[redacted]\2", value)
    return _NATIONAL_ID_IN_TEXT.sub(lambda m: m.group(1) + "*****" + m.group(2), value)


def _redact(value: Any, key: str) -> Any:
    if isinstance(value, MutableMapping):
        return {k: _redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        # Items inherit their container's key: a list of exception frames, of codes...
        return [_redact(item, key) for item in value]
    if _SECRET_KEYS.search(key) and not key.endswith(("_id", "_type", "_status")):
        return "[redacted]"
    if _NATIONAL_ID_KEYS.search(key) and isinstance(value, str):
        return mask_national_id(value)
    if isinstance(value, str):
        return _redact_text(value)
    return value


def redact_processor(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    return {key: _redact(value, key) for key, value in event_dict.items()}


def configure_logging(service: str, level: str = "INFO") -> None:
    """JSON to stdout for structlog and for the stdlib loggers of uvicorn, aiokafka, etc."""

    def add_service(
        _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        event_dict.setdefault("service", service)
        return event_dict

    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        merge_work_context,
        add_service,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        # Tracebacks as data, but never with local variables: those hold requests, bodies,
        # national IDs and tokens.
        structlog.processors.ExceptionRenderer(
            structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
        ),
    ]
    structlog.configure(
        processors=[
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            redact_processor,
            structlog.processors.JSONRenderer(),
        ],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiokafka", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # FastStream gives its "faststream" logger a coloured plain-text handler of its own;
    # route it through the JSON handler like everything else.
    faststream_logger = logging.getLogger("faststream")
    faststream_logger.handlers = []
    faststream_logger.propagate = True


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)


def security_event(name: str, **fields: Any) -> None:
    """One structured line operations can alert on: ``security_event`` = ``name`` (e.g.
    ``login_failed``, ``account_locked``, ``otp_wrong``, ``registration_refused``,
    ``forbidden``, ``refresh_token_reused``), at warning level, with the correlation id bound
    as for every line. Never pass a national ID: pass ``subject_ref(national_id)`` instead."""
    get_logger("sanad.security").warning("security_event", security_event=name, **fields)


def subject_ref(national_id: str) -> str:
    """A pseudonymous reference to a national ID for logs: the same ID gives the same
    reference, so failures against one ID can be correlated, without the ID in clear."""
    import hashlib

    return hashlib.sha256(f"sanad-log-subject:{national_id}".encode()).hexdigest()[:16]
