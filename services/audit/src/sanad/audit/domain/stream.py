"""The stream as the audit works on it: the scoped records in one deterministic order,
each event once, and every event id seen anywhere (for the causation check)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from operator import attrgetter

from sanad.audit.domain.projections import uuid_or_none
from sanad.audit.domain.records import Record
from sanad.shared.events import EVENT_MODELS


@dataclass
class Stream:
    records: list[Record]  # every scoped message, in read order
    all_event_ids: set[str] = field(default_factory=set)  # in scope or not
    read: int = 0  # messages read, in scope or not

    def ordered(self) -> list[Record]:
        return sorted(self.records, key=Record.sort_key)

    def events(self) -> list[Record]:
        """The scoped events the projections apply: known type and version, each event id
        once (the first copy by position), in the deterministic order."""
        seen: set[str] = set()
        kept = []
        for record in sorted(self.records, key=attrgetter("position")):
            if record.event_id is None or record.event_id in seen:
                continue
            if uuid_or_none(record.event_id) is None:  # not an event id: schemas reports it
                continue
            if (record.event_type, record.schema_version) not in EVENT_MODELS:
                continue
            seen.add(record.event_id)
            kept.append(record)
        return sorted(kept, key=Record.sort_key)

    def by_event_id(self) -> dict[str, Record]:
        found: dict[str, Record] = {}
        for record in self.events():
            found.setdefault(record.event_id or "", record)
        return found

    def by_application(self) -> dict[str, list[Record]]:
        grouped: dict[str, list[Record]] = defaultdict(list)
        for record in self.events():
            if record.application_id:
                grouped[record.application_id].append(record)
        return grouped
