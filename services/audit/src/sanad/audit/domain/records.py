"""A message as read from a topic, and the scope of a run (whose events it keeps).

A record is parsed with orjson only: the audit must read what does not validate too (that
is one of its findings), and keeping the raw fields lets every check, projection and
timeline work on the same thing. ``verify`` validates each one against the shared event
registry separately.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson

# When several events of one aggregate carry the same instant (one transaction), the order
# their causes imply: a submission before its evaluation, an evaluation before the decision.
TYPE_RANK = {
    "CitizenRegistered": 0,
    "ProfileUpdated": 1,
    "ApplicationSubmitted": 2,
    "AppealFiled": 3,
    "EligibilityEvaluated": 4,
    "DecisionIssued": 5,
    "CardIssued": 6,
    "CardStatusChanged": 7,
    "NotificationDispatched": 8,
}


@dataclass(frozen=True)
class Position:
    topic: str
    partition: int
    offset: int

    def __str__(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"


@dataclass
class Record:
    """One message: where it was, its bytes, and its envelope fields if it has them."""

    position: Position
    value: bytes
    envelope: dict[str, Any] | None  # None: not a JSON object
    event_id: str | None = None
    event_type: str | None = None
    schema_version: int | None = None
    occurred_at: datetime | None = None
    causation_id: str | None = None
    correlation_id: str | None = None
    key: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)

    @property
    def citizen_id(self) -> str | None:
        found = self.payload.get("citizen_id")
        return str(found) if found is not None else None

    @property
    def application_id(self) -> str | None:
        found = self.payload.get("application_id")
        return str(found) if found is not None else None

    def sort_key(self) -> tuple[Any, ...]:
        """Deterministic order across topics: time, then what causes what, then position."""
        return (
            self.occurred_at or datetime.min,
            TYPE_RANK.get(self.event_type or "", 99),
            self.position.topic,
            self.position.partition,
            self.position.offset,
        )


def parse(position: Position, value: bytes | None) -> Record:
    """The envelope fields of a message, as far as they are there; never raises."""
    raw = value or b""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        return Record(position, raw, None)
    payload = data.get("payload")
    version = data.get("schema_version")
    return Record(
        position,
        raw,
        data,
        event_id=_text(data.get("event_id")),
        event_type=_text(data.get("event_type")),
        schema_version=version if isinstance(version, int) else None,
        occurred_at=_moment(data.get("occurred_at")),
        causation_id=_text(data.get("causation_id")),
        correlation_id=_text(data.get("correlation_id")),
        key=_text(data.get("key")),
        payload=payload if isinstance(payload, dict) else {},
    )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


@dataclass(frozen=True)
class Scope:
    """Which events a run keeps: all of them, or one set of citizens' or applications'
    (an application's events are kept for its citizen too). ``since`` is applied when
    reading (offsets by time)."""

    citizens: frozenset[str] = frozenset()
    applications: frozenset[str] = frozenset()
    since: datetime | None = None

    @classmethod
    def of(
        cls,
        citizens: list[str] | None = None,
        applications: list[str] | None = None,
        since: datetime | None = None,
    ) -> Scope:
        return cls(
            frozenset(str(UUID(c)) for c in citizens or []),
            frozenset(str(UUID(a)) for a in applications or []),
            since,
        )

    @property
    def everything(self) -> bool:
        return not self.citizens and not self.applications

    def keeps(self, record: Record) -> bool:
        if self.everything:
            return True
        if self.citizens and record.citizen_id in self.citizens:
            return True
        if self.applications and (
            record.application_id in self.applications or record.key in self.applications
        ):
            return True
        return False

    def describe(self) -> dict[str, Any]:
        return {
            "citizens": sorted(self.citizens),
            "applications": sorted(self.applications),
            "since": None if self.since is None else self.since.isoformat(),
        }
