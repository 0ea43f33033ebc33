"""Benchmark: the audit's replay against the bare read of the same topics, in the same run.

A history of ``--cases`` cases is published to scratch copies of the event topics (6
partitions each, like every event topic): per case a submission (with its household
snapshot), the eligibility evaluation of it (SSP-DEV, made once by the eligibility domain
and copied), the decision, the card and two notification outcomes — 6 events, ~6 KB.
Then, per run:
- bare read: a group-less consumer, ``getmany``, every message counted, nothing parsed;
- replay: ``sanad.audit.service.replay`` on those topics — read, parse, order, build every
  projection and write the generation with COPY into the ``audit`` schema.
The scratch topics and the generations are deleted afterwards. Run with the platform up:
    uv run python bench/audit_replay.py [--cases 10000] [--runs 3]
Writes bench/results/audit_replay.json and bench/results/audit_replay.md.

Wall rates depend on who else uses the machine; CPU per event does much less, so each run
also gives the CPU microseconds per event spent by this process, by the platform's
Postgres (the postmaster and its backends, read from /proc: Linux only) and by its Kafka
broker, with the load average at the time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from sanad.audit import repository, service
from sanad.audit.adapters import kafka_reader
from sanad.audit.domain.records import Scope
from sanad.audit.settings import AuditSettings
from sanad.eligibility.domain.evaluation import evaluate, policy_date
from sanad.eligibility.domain.facts import facts_of
from sanad.eligibility.domain.rules import compile_rule_set
from sanad.eligibility.rulesets import shipped
from sanad.eligibility.service import Subject, submission_inputs, to_event
from sanad.platform import procs
from sanad.platform.postgres import DATA as PG_DATA
from sanad.platform.services import platform_env
from sanad.platform.testing import local_infra
from sanad.shared import kafka_clients
from sanad.shared.events import (
    ApplicationSubmittedV2,
    CardIssued,
    DecisionIssuedV3,
    Envelope,
    Event,
    NotificationDispatched,
)
from sanad.shared.events.applications import ProgramTerms, Reason
from sanad.shared.kafka_admin import ensure_topics
from sanad.shared.kafka_clients import KafkaAccess
from sanad.shared.logging import configure_logging
from sanad.shared.topics import EVENT_TOPICS, TopicSpec

RESULTS = Path(__file__).parent / "results"
DOCUMENTS = ["national_id", "family_register", "proof_of_income", "bank_account"]
SNAPSHOT: dict[str, Any] = {
    "registry": {"sex": "F", "birth_date": "1984-09-30", "full_name_en": "Hind Abdullah"},
    "sections": {
        "personal": {"nationality": "SA", "marital_status": "widowed", "has_disability": False},
        "housing": {"region": "riyadh", "city": "Riyadh", "housing_type": "rented"},
        "income": {"sources": [{"type": "salary", "monthly_amount": "900", "payer": "Gulf Co"}]},
        "property": {"assets": [{"kind": "vehicle", "estimated_value": "18000"}]},
        "employment": {"status": "employed", "employer": "Gulf Trading Co"},
    },
    "dependents": [],
    "household": {
        "household_size": 1,
        "total_monthly_income": "900",
        "total_property_value": "18000",
    },
    "completeness": {},
}


def one_case(at: datetime) -> list[tuple[str, dict[str, Any]]]:
    """One case's envelopes, as the services would publish them (JSON-ready dicts)."""
    citizen, application = uuid.uuid4(), uuid.uuid4()

    def wrap(event: Event, cause: dict[str, Any] | None, seconds: int) -> dict[str, Any]:
        envelope = Envelope.wrap(
            event,
            producer="bench",
            correlation_id=str(uuid.uuid4()),
            causation_id=None if cause is None else uuid.UUID(cause["event_id"]),
        ).model_copy(update={"occurred_at": at + timedelta(seconds=seconds)})
        return envelope.model_dump(mode="json")

    submitted = ApplicationSubmittedV2(
        application_id=application,
        submission_id=uuid.uuid4(),
        submission_number=1,
        citizen_id=citizen,
        program_code="SSP-DEV",
        submitted_at=at,
        form={"monthly_income": "900.00", "family_size": 1, "employment_status": "employed"},
        documents=[
            {"kind": k, "content_type": "application/pdf", "size_bytes": 52000, "sha256": "a" * 64}
            for k in DOCUMENTS
        ],
        profile_version=4,
        household_snapshot=SNAPSHOT,
    )
    subject = Subject(application, citizen, "SSP-DEV", "submission", at, submitted.submission_id)
    on = policy_date(at)
    result = evaluate(
        SSP, facts_of(submission_inputs(SNAPSHOT, submitted.form, DOCUMENTS, []), on), on
    )
    evaluated = to_event(uuid.uuid4(), subject, result, at)
    decided = DecisionIssuedV3(
        decision_id=uuid.uuid4(),
        application_id=application,
        citizen_id=citizen,
        program_code="SSP-DEV",
        decision="APPROVED",
        reasons=[
            Reason(code=c.code, reason_ar=c.reason_ar, reason_en=c.reason_en)
            for c in evaluated.criteria
        ],
        monthly_benefit=evaluated.monthly_benefit,
        decided_by="auto",
        decided_at=at,
        rule_set_version=evaluated.rule_set_version,
        evaluation_id=evaluated.evaluation_id,
        program=ProgramTerms(
            name_ar="الضمان", name_en="SSP", card_on_approval=True, card_validity_days=365
        ),
    )
    card = CardIssued(
        card_id=uuid.uuid4(),
        card_number="4000000000000002",
        citizen_id=citizen,
        application_id=application,
        program_code="SSP-DEV",
        issued_at=at,
        expires_at=(at + timedelta(days=365)).date(),
    )
    e1 = wrap(submitted, None, 0)
    e2 = wrap(evaluated, e1, 1)
    e3 = wrap(decided, e2, 2)
    e4 = wrap(card, e3, 3)
    out = [(submitted.TOPIC, e1), (evaluated.TOPIC, e2), (decided.TOPIC, e3), (card.TOPIC, e4)]
    for channel in ("sms", "email"):
        sent = NotificationDispatched(
            delivery_id=uuid.uuid4(),
            source_event_id=uuid.UUID(e3["event_id"]),
            citizen_id=citizen,
            channel=channel,
            template="decision_approved",
            language="ar",
            status="sent",
            attempts=1,
        )
        out.append((sent.TOPIC, wrap(sent, e3, 4)))
    return out


def _cpu_of(pid: int, children: bool) -> float:
    """CPU seconds of a process (and of its children it has waited for, with ``children``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def _tree_cpu(root: int) -> float:
    """CPU seconds of a process, of the children it has reaped and of its live descendants."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue  # exited meanwhile: its time is in its parent's by now
    total, pending = 0.0, [root]
    while pending:
        pid = pending.pop()
        try:
            total += _cpu_of(pid, children=True)
        except (OSError, ValueError, IndexError):
            continue
        pending += [child for child, parent in parents.items() if parent == pid]
    return total


def platform_cpu() -> dict[str, float]:
    """CPU seconds used so far by the platform's Postgres (the postmaster, the backends it
    reaped and the live ones: the platform's services' work included) and by its Kafka
    broker (the JVM under the recorded launcher)."""
    postmaster = int(PG_DATA.joinpath("postmaster.pid").read_text().split()[0])
    kafka = procs.running_pid("kafka")
    return {"postgres": _tree_cpu(postmaster), "kafka": _tree_cpu(kafka) if kafka else 0.0}


def cpu_us_per_event(audit: float, before: dict[str, float], events: int) -> dict[str, float]:
    after = platform_cpu()
    used = {"audit": audit} | {name: after[name] - before[name] for name in before}
    return {name: round(seconds * 1e6 / events, 1) for name, seconds in used.items()}


SSP = compile_rule_set(next(d for d in shipped() if d["program"] == "SSP-DEV"))


async def publish(kafka: KafkaAccess, prefix: str, cases: int) -> tuple[int, int]:
    producer = kafka_clients.producer(
        kafka,
        linger_ms=20,
        max_batch_size=1 << 20,
        request_timeout_ms=120_000,  # a crowded machine answers slowly
    )
    await producer.start()
    sent = size = 0
    start = datetime(2026, 1, 1, tzinfo=UTC)
    try:
        pending = []
        for n in range(cases):
            for topic, envelope in one_case(start + timedelta(minutes=n)):
                value = orjson.dumps(envelope)
                size += len(value)
                pending.append(
                    await producer.send(prefix + topic, value, key=envelope["key"].encode())
                )
                sent += 1
            if len(pending) > 5000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return sent, size


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    os.environ.update(platform_env())
    os.environ.setdefault("SANAD_ENV", "dev")
    settings = AuditSettings()  # the replay reads as the audit principal (read-only)
    # Scratch topics are made, filled and deleted by the platform's admin principal.
    kafka = local_infra().kafka
    prefix = f"bench-audit-{uuid.uuid4().hex[:8]}."
    topics = [prefix + t for t in EVENT_TOPICS]
    await ensure_topics(kafka, [TopicSpec(t) for t in topics])
    runs = []
    generations = []
    try:
        sent, size = await publish(kafka, prefix, args.cases)
        print(f"published {sent} events ({size / sent:.0f} bytes each)", flush=True)
        for n in range(args.runs):
            cpu, platform_before = time.process_time(), platform_cpu()
            _, bare = await kafka_reader.read(settings, topics=topics, parse_records=False)
            bare_cpu = cpu_us_per_event(time.process_time() - cpu, platform_before, sent)
            load = os.getloadavg()[0]
            cpu, platform_before = time.process_time(), platform_cpu()
            report, projections = await service.replay(settings, Scope(), topics=topics)
            replay_cpu = cpu_us_per_event(time.process_time() - cpu, platform_before, sent)
            generations.append(uuid.UUID(str(report.generation)))
            seconds = float(report.figures["replay seconds"])
            replayed = int(report.figures["messages read"])
            assert replayed == sent, (replayed, sent)
            run = {
                "bare_read_events_per_s": round(bare.rate),
                "bare_read_seconds": round(bare.seconds, 3),
                "replay_events_per_s": round(replayed / seconds),
                "replay_seconds": round(seconds, 3),
                "read_seconds_within_replay": report.figures["read seconds"],
                # CPU microseconds per event: this process (reading, parsing, projecting,
                # encoding the COPY), the platform's Postgres (writing and indexing the
                # rows) and its Kafka broker (serving the fetches). Steadier than the rates
                # when the machine is shared.
                "bare_read_cpu_us_per_event": bare_cpu,
                "replay_cpu_us_per_event": replay_cpu,
                "rows": projections.counts(),
                # The 1-minute load average: before the bare read, and after the replay.
                "load_average": [round(load, 2), round(os.getloadavg()[0], 2)],
            }
            print(f"run {n + 1}: {json.dumps(run)}", flush=True)
            runs.append(run)
    finally:
        conn = await service.connect(settings)
        try:
            for generation in generations:
                await repository.drop_generation(conn, generation)
        finally:
            await conn.close()
        admin = kafka_clients.admin(kafka)
        await admin.start()
        try:
            await admin.delete_topics(topics)
        finally:
            await admin.close()
    replay_rate = statistics.median(r["replay_events_per_s"] for r in runs)
    bare_rate = statistics.median(r["bare_read_events_per_s"] for r in runs)

    def median_cpu(kind: str) -> dict[str, float]:
        return {part: statistics.median(r[kind][part] for r in runs) for part in runs[0][kind]}

    return {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "events": sent,
        "bytes_per_event": round(size / sent),
        "runs": runs,
        "replay_events_per_s": replay_rate,
        "bare_read_events_per_s": bare_rate,
        "ratio": round(replay_rate / bare_rate, 3),
        "replay_cpu_us_per_event": median_cpu("replay_cpu_us_per_event"),
        "bare_read_cpu_us_per_event": median_cpu("bare_read_cpu_us_per_event"),
        "target_events_per_s": 20000,
        "load_average_at_end": os.getloadavg(),
        "command": f"uv run python bench/audit_replay.py --cases {args.cases} --runs {args.runs}",
    }


def report(result: dict[str, Any]) -> str:
    def cpu(figures: dict[str, float]) -> str:
        return f"{figures['audit']} + {figures['postgres']} + {figures['kafka']}"

    lines = [
        "# Audit replay",
        "",
        f"{result['events']} events ({result['bytes_per_event']} bytes each) on 13 topics × 6 "
        f"partitions; {result['machine']}; {result['measured_at']}.",
        "",
        "| run | bare read events/s | replay events/s | replay s | replay CPU µs per event "
        "(audit + Postgres + Kafka) | bare read CPU µs per event | load average (before, "
        "after) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for n, run in enumerate(result["runs"], 1):
        lines.append(
            f"| {n} | {run['bare_read_events_per_s']} | {run['replay_events_per_s']} | "
            f"{run['replay_seconds']} | {cpu(run['replay_cpu_us_per_event'])} | "
            f"{cpu(run['bare_read_cpu_us_per_event'])} | "
            f"{run['load_average'][0]:.1f}, {run['load_average'][1]:.1f} |"
        )
    lines += [
        "",
        f"Median: replay **{result['replay_events_per_s']} events/s** (target "
        f"{result['target_events_per_s']}), bare read {result['bare_read_events_per_s']} "
        f"events/s, ratio {result['ratio']}; replay CPU per event "
        f"{cpu(result['replay_cpu_us_per_event'])} µs (audit + Postgres + Kafka), bare read "
        f"{cpu(result['bare_read_cpu_us_per_event'])} µs.",
        "",
        f"`{result['command']}`",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=10000, help="6 events each")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    configure_logging("bench", "WARNING")
    result = asyncio.run(main_async(args))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "audit_replay.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "audit_replay.md").write_text(report(result))
    print(report(result))


if __name__ == "__main__":
    main()
