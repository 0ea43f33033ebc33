"""The audit use cases — replay, verify, reproduce, compare, timeline — shared by the CLI
and the HTTP API. Each reads the event topics afresh (the stream is the evidence, not
anyone's database) and answers a ``Report``; only ``replay`` (and ``compare``, which
replays first) writes, and only to the ``audit`` schema."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from uuid import UUID

import asyncpg

from sanad.audit import repository
from sanad.audit.adapters import kafka_reader, live
from sanad.audit.domain import checks
from sanad.audit.domain import compare as comparing
from sanad.audit.domain.projections import EVENT_COLUMNS, Projections, build, event_index
from sanad.audit.domain.records import Record, Scope
from sanad.audit.domain.report import Report
from sanad.audit.domain.reproduce import RuleSets
from sanad.audit.domain.reproduce import reproduce as reproducing
from sanad.audit.domain.stream import Stream
from sanad.audit.domain.timeline import timeline as timeline_of
from sanad.eligibility.rulesets import shipped
from sanad.shared.db import asyncpg_dsn
from sanad.shared.settings import ServiceSettings
from sanad.shared.topics import EVENT_TOPICS

# progress(phase, done, total)
Progress = Callable[[str, int, int], None]


def _quiet(_phase: str, _done: int, _total: int) -> None:
    return None


@contextlib.contextmanager
def _no_collection() -> Iterator[None]:
    """No cyclic garbage collection while a stream is read and projected: the records are
    acyclic, and the collector's passes over the millions of dicts a read allocates cost
    more (three times, measured) than parsing them."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


async def read_stream(
    settings: ServiceSettings,
    scope: Scope,
    progress: Progress = _quiet,
    *,
    topics: Sequence[str] = EVENT_TOPICS,
) -> tuple[Stream, kafka_reader.ReadStats]:
    stream = Stream([])

    def seen(record: Record) -> None:
        if record.event_id is not None:
            stream.all_event_ids.add(record.event_id)

    with _no_collection():
        records, stats = await kafka_reader.read(
            settings,
            topics=topics,
            since=scope.since,
            keep=scope.keeps,
            on_record=seen,
            progress=lambda done, total: progress("read", done, total),
        )
    stream.records = records
    stream.read = stats.messages
    return stream, stats


def _figures(stats: kafka_reader.ReadStats, in_scope: int) -> dict[str, object]:
    return {
        "messages read": stats.messages,
        "events in scope": in_scope,
        "read seconds": round(stats.seconds, 3),
    }


async def connect(settings: ServiceSettings) -> asyncpg.Connection:
    return await asyncpg.connect(asyncpg_dsn(settings.database_url))


async def replay(
    settings: ServiceSettings,
    scope: Scope,
    progress: Progress = _quiet,
    *,
    generation: UUID | None = None,
    topics: Sequence[str] = EVENT_TOPICS,
) -> tuple[Report, Projections]:
    """Read the topics (every event topic; a benchmark names its own) and write a fresh
    generation of the projections."""
    generation = generation or uuid.uuid4()
    report = Report("replay", scope.describe(), generation=str(generation))
    started = time.perf_counter()
    conn = await connect(settings)
    try:
        await repository.start_generation(conn, generation, scope.describe(), datetime.now(UTC))
        # Collection stays off until the records are dropped: re-enabled while they are
        # alive, its passes over them cost a third of the replay (profiled).
        with _no_collection():
            stream, stats = await read_stream(settings, scope, progress, topics=topics)
            events = stream.events()
            in_scope = len(stream.records)
            del stream
            index = event_index(events)
            progress("write", 0, len(index))
            async with conn.transaction():
                # Postgres indexes the event index (most of its work) while the rest of the
                # projections are built, in a thread: the two use both cores.
                building = asyncio.create_task(asyncio.to_thread(build, events, index=False))
                try:
                    await repository.copy(conn, generation, "events", EVENT_COLUMNS, index)
                finally:
                    projections = await building
                projections.events = index
                del events
                for name, (columns, rows) in projections.tables().items():
                    if name != "events":
                        await repository.copy(conn, generation, name, columns, rows)
                await repository.finish(
                    conn,
                    generation,
                    projections,
                    messages_read=stats.messages,
                    finished_at=datetime.now(UTC),
                )
            progress("write", len(index), len(index))
    finally:
        await conn.close()
    seconds = time.perf_counter() - started
    report.figures = _figures(stats, in_scope) | {
        "replay seconds": round(seconds, 3),
        "messages/s replayed": round(stats.messages / seconds) if seconds else 0,
        **{f"rows: {name}": count for name, count in projections.counts().items()},
    }
    return report, projections


async def verify(settings: ServiceSettings, scope: Scope, progress: Progress = _quiet) -> Report:
    stream, stats = await read_stream(settings, scope, progress)
    report = Report("verify", scope.describe(), figures=_figures(stats, len(stream.records)))
    progress("verify", 0, 1)
    report.checks = checks.verify(stream)
    progress("verify", 1, 1)
    return report


async def rule_sets(settings: ServiceSettings) -> RuleSets:
    """The shipped rule-set documents and those published through the API (eligibility's
    schema, read-only), the stored one winning: it is what was evaluated."""
    documents = {f"{d['program']}@{d['version']}": d for d in shipped()}
    conn = await connect(settings)
    try:
        for document in await live.rule_set_documents(conn):
            documents[f"{document['program']}@{document['version']}"] = document
    finally:
        await conn.close()
    return RuleSets(list(documents.values()))


async def reproduce(settings: ServiceSettings, scope: Scope, progress: Progress = _quiet) -> Report:
    stream, stats = await read_stream(settings, scope, progress)
    report = Report("reproduce", scope.describe(), figures=_figures(stats, len(stream.records)))
    progress("reproduce", 0, 1)
    check = reproducing(stream, await rule_sets(settings))
    report.checks = [check]
    report.figures["evaluations"] = check.checked
    progress("reproduce", 1, 1)
    return report


async def compare(settings: ServiceSettings, scope: Scope, progress: Progress = _quiet) -> Report:
    """Replay into a fresh generation, then compare it with the live services' tables."""
    replayed, projections = await replay(settings, scope, progress)
    report = Report("compare", scope.describe(), generation=replayed.generation)
    report.figures = dict(replayed.figures)
    progress("compare", 0, 1)
    conn = await connect(settings)
    try:
        application_ids = [row[0] for row in projections.applications]
        in_scope: set[str] = set()
        if scope.citizens:
            in_scope = await live.applications_of(conn, sorted(scope.citizens))
        elif scope.everything:
            in_scope = await live.applications_of_all(conn)
        live_applications = await live.applications(conn, {*application_ids, *in_scope})
        live_evaluations = await live.evaluations(conn, [row[0] for row in projections.evaluations])
        live_cards = await live.cards(conn, [row[0] for row in projections.cards])
    finally:
        await conn.close()
    report.checks = [
        comparing.compare_applications(projections, live_applications, in_scope),
        comparing.compare_evaluations(projections, live_evaluations),
        comparing.compare_cards(projections, live_cards),
    ]
    progress("compare", 1, 1)
    return report


async def timeline(settings: ServiceSettings, case_id: UUID, progress: Progress = _quiet) -> Report:
    """One application's or one citizen's events (whichever the id is), in order."""
    scope = Scope.of(citizens=[str(case_id)], applications=[str(case_id)])
    stream, stats = await read_stream(settings, scope, progress)
    report = Report(
        "timeline", {"case": str(case_id)}, figures=_figures(stats, len(stream.records))
    )
    report.timeline = timeline_of(stream.events())
    return report
