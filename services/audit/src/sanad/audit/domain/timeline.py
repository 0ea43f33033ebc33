"""``timeline``: one application's or one citizen's story across services, in order."""

from __future__ import annotations

from typing import Any

from sanad.audit.domain.projections import summary
from sanad.audit.domain.records import Record


def timeline(events: list[Record]) -> list[dict[str, Any]]:
    """``events`` in the stream's order (already scoped to the case), one line each."""
    return [
        {
            "occurred_at": None if r.occurred_at is None else r.occurred_at.isoformat(),
            "event_type": r.event_type,
            "schema_version": r.schema_version,
            "producer": (r.envelope or {}).get("producer"),
            "summary": summary(r),
            "correlation_id": r.correlation_id,
            "causation_id": r.causation_id,
            "event_id": r.event_id,
            "at": str(r.position),
        }
        for r in events
    ]
