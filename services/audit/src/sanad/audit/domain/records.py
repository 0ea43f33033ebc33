"""A message as read from a topic, and the scope of a run (whose events it keeps).

The audit must read what does not validate too (that is one of its findings), so a record
keeps the envelope's fields as they are, never validated here (``verify`` validates each
one against the shared event registry). Reading is the replay's hot path, so a message is
decoded once, by msgspec, into a typed header and the few payload fields the projections
and scopes read (``fields``); the rest of the payload is skipped unread and decoded
whole only when asked (``payload``, ``envelope``: checks, reproduce, timelines). A
message the typed decoder refuses (not an envelope, a field of another JSON type) is read
the tolerant way (orjson), with the same result.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple
from uuid import UUID

import msgspec
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
EARLIEST = datetime.min.replace(tzinfo=UTC)  # where an event without a valid time sorts


class Position(NamedTuple):
    """Where a message was; a tuple, so positions sort by topic, partition, offset."""

    topic: str
    partition: int
    offset: int

    def __str__(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"


class Fields(msgspec.Struct, frozen=True):
    """The payload fields the projections, summaries and scopes read, of any JSON type (a
    wrong type is the projections' to tolerate, ``verify``'s to report); the rest of a
    payload is skipped unread."""

    application_id: Any = None
    citizen_id: Any = None
    program_code: Any = None
    submission_id: Any = None
    submission_number: Any = None
    submitted_at: Any = None
    evaluation_id: Any = None
    trigger: Any = None
    appeal_id: Any = None
    rule_set_version: Any = None
    outcome: Any = None
    eligible: Any = None
    monthly_benefit: Any = None
    facts_hash: Any = None
    evaluated_at: Any = None
    decision_id: Any = None
    decision: Any = None
    decided_by: Any = None
    decided_at: Any = None
    filed_at: Any = None
    card_id: Any = None
    card_number: Any = None
    issued_at: Any = None
    expires_at: Any = None
    status: Any = None
    from_status: Any = None
    changed_by: Any = None
    changed_at: Any = None
    channel: Any = None
    template: Any = None
    version: Any = None


NO_FIELDS = Fields()


class _Envelope(msgspec.Struct):
    """An envelope as the fast path reads it: the header typed, of the payload only the
    fields the projections read."""

    event_id: str | None = None
    event_type: str | None = None
    schema_version: int | None = None
    occurred_at: str | None = None
    producer: str | None = None
    key: str | None = None
    correlation_id: str | None = None
    causation_id: str | None = None
    payload: Fields = NO_FIELDS


_ENVELOPE = msgspec.json.Decoder(_Envelope)


@dataclass(slots=True, eq=False)  # one small object per message: a replay holds them all
class Record:
    """One message: where it was, its bytes, and its envelope fields if it has them."""

    position: Position
    value: bytes
    is_envelope: bool  # a JSON object (valid or not)
    event_id: str | None = None
    event_type: str | None = None
    schema_version: int | None = None
    occurred_at: datetime | None = None
    causation_id: str | None = None
    correlation_id: str | None = None
    key: str | None = None
    producer: str | None = None
    fields: Fields = NO_FIELDS
    _payload: dict[str, Any] | None = None  # the whole payload, once decoded

    @property
    def envelope(self) -> dict[str, Any] | None:
        """The whole message as JSON, None when it is not a JSON object."""
        return orjson.loads(self.value) if self.is_envelope else None

    @property
    def payload(self) -> dict[str, Any]:
        """The whole payload ({} when it is not a JSON object), decoded once."""
        if self._payload is None:
            found = (self.envelope or {}).get("payload")
            self._payload = found if isinstance(found, dict) else {}
        return self._payload

    @property
    def citizen_id(self) -> str | None:
        found = self.fields.citizen_id
        return str(found) if found is not None else None

    @property
    def application_id(self) -> str | None:
        found = self.fields.application_id
        return str(found) if found is not None else None

    def sort_key(self) -> tuple[Any, ...]:
        """Deterministic order across topics: time, then what causes what, then position."""
        return (
            self.occurred_at or EARLIEST,
            TYPE_RANK.get(self.event_type or "", 99),
            self.position,
        )


def parse(position: Position, value: bytes | None) -> Record:
    """The envelope fields of a message, as far as they are there; never raises."""
    raw = value or b""
    try:
        envelope = _ENVELOPE.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return _parse_tolerantly(position, raw)
    return Record(
        position,
        raw,
        True,
        event_id=envelope.event_id,
        event_type=envelope.event_type,
        schema_version=envelope.schema_version,
        occurred_at=_moment(envelope.occurred_at),
        causation_id=envelope.causation_id,
        correlation_id=envelope.correlation_id,
        key=envelope.key,
        producer=envelope.producer,
        fields=envelope.payload,
    )


def _parse_tolerantly(position: Position, raw: bytes) -> Record:
    """What the typed decoder refused: any JSON, each field taken as far as it goes."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        return Record(position, raw, False)
    payload = data.get("payload")
    version = data.get("schema_version")
    return Record(
        position,
        raw,
        True,
        event_id=_text(data.get("event_id")),
        event_type=_text(data.get("event_type")),
        schema_version=version if isinstance(version, int) else None,
        occurred_at=_moment(data.get("occurred_at")),
        causation_id=_text(data.get("causation_id")),
        correlation_id=_text(data.get("correlation_id")),
        key=_text(data.get("key")),
        producer=_text(data.get("producer")),
        fields=msgspec.convert(payload, Fields) if isinstance(payload, dict) else NO_FIELDS,
        _payload=payload if isinstance(payload, dict) else {},
    )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    # A time without an offset (not a valid envelope) is read as UTC, so that it still
    # sorts among the others.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


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
