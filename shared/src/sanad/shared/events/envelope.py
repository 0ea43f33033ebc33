"""The envelope every Kafka message carries, and the base of every event payload."""

from __future__ import annotations

import contextvars
from abc import abstractmethod
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar
from uuid import UUID, uuid4

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

# The request id of the HTTP request (or the correlation id of the event) being handled;
# events created while it is set carry it, so one citizen action can be followed end to end.
correlation_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "correlation_id", default=None
)


class Event(BaseModel):
    """A fact in the past tense. Subclasses name their type, version and topic."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    EVENT_TYPE: ClassVar[str]
    SCHEMA_VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str]

    @abstractmethod
    def aggregate_key(self) -> str:
        """The Kafka key: the aggregate id, so one aggregate's events stay ordered."""


class Envelope(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: UUID = Field(default_factory=uuid4)
    event_type: str
    schema_version: int
    occurred_at: AwareDatetime
    producer: str
    key: str
    correlation_id: str | None = None
    causation_id: UUID | None = None
    payload: dict[str, Any]

    @classmethod
    def wrap(
        cls,
        event: Event,
        *,
        producer: str,
        correlation_id: str | None = None,
        causation_id: UUID | None = None,
    ) -> Envelope:
        return cls(
            event_type=event.EVENT_TYPE,
            schema_version=event.SCHEMA_VERSION,
            occurred_at=datetime.now(UTC),
            producer=producer,
            key=event.aggregate_key(),
            correlation_id=correlation_id or correlation_id_var.get(),
            causation_id=causation_id,
            payload=event.model_dump(mode="json"),
        )

    @property
    def topic(self) -> str:
        from sanad.shared.events.catalog import model_for

        return model_for(self.event_type, self.schema_version).TOPIC

    def open(self) -> Event:
        """The typed payload, validated against the model of its type and version."""
        from sanad.shared.events.catalog import model_for

        return model_for(self.event_type, self.schema_version).model_validate(self.payload)

    def to_bytes(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json"))

    @classmethod
    def from_bytes(cls, raw: bytes) -> Envelope:
        return cls.model_validate_json(raw)

    def headers(self) -> list[tuple[str, bytes]]:
        """Kafka headers: enough to route or trace without parsing the value."""
        return Envelope.headers_of(self.model_dump(mode="json"))

    @staticmethod
    def headers_of(dumped: Mapping[str, Any]) -> list[tuple[str, bytes]]:
        """``headers`` of an envelope already dumped to JSON types (the outbox keeps those)."""
        names = ("event_id", "event_type", "schema_version", "producer", "correlation_id")
        return [(name, str(dumped.get(name) or "").encode()) for name in names]
