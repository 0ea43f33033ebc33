"""Benchmark: eligibility evaluations in process, end to end through Kafka, and the policy
impact simulation, on the real platform.

- in process: facts drawn from a household snapshot + every criterion evaluated, explained
  in both languages, the benefit computed — one thread, measured in CPU time (one core) and
  wall time, per shipped rule set;
- end to end: ``ApplicationSubmitted`` v2 published on the real topic → the running
  eligibility service (its consumer group) evaluates, stores the evaluation and queues
  ``EligibilityEvaluated`` v3 → the relay publishes it; timed until every evaluation is on
  the topic's outbox as published;
- impact: ``service.impact`` (the code behind ``POST /v1/eligibility/rules/{program}/impact``)
  over households kept in the eligibility schema, page after page: read the page, evaluate
  the version in force and the draft, tally.

Run with the platform up (``./sanad up``):
    uv run python bench/eligibility.py [--households 20000] [--submissions 2000]
Writes bench/results/eligibility.json and bench/results/eligibility.md. The rows it adds
(bench profiles, submissions, evaluations) are removed afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import os
import platform
import random
import time
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from sanad.eligibility import service
from sanad.eligibility.domain.evaluation import evaluate
from sanad.eligibility.domain.facts import facts_of
from sanad.eligibility.domain.rules import compile_rule_set
from sanad.eligibility.rulesets import shipped
from sanad.platform.testing import eventually, local_infra
from sanad.shared import kafka_clients
from sanad.shared.clock import SystemClock
from sanad.shared.db import create_engine, session_factory
from sanad.shared.events import ApplicationSubmittedV2, Envelope
from sanad.shared.logging import configure_logging

RESULTS = Path(__file__).parent / "results"
ON = date(2026, 6, 1)
DOCUMENTS = ["national_id", "family_register", "proof_of_income", "bank_account"]
BENCH_PREFIX = "eeeeeeee"  # citizen ids of bench households start with it (cleaned up after)


def household(rng: random.Random) -> dict[str, Any]:
    """A household snapshot as ApplicationSubmitted v2 carries it: 0-8 dependents, incomes
    and property values spread around SSP-DEV's limits."""
    dependents = [
        {
            "dependent_id": str(uuid.UUID(int=rng.getrandbits(128))),
            "full_name": "x",
            "national_id": rng.choice(["1000000008", "2000000006"]),
            "relationship": rng.choice(["son", "daughter", "spouse"]),
            "birth_date": f"{rng.randint(1950, 2024)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
            "has_disability": rng.random() < 0.1,
            "monthly_income": str(Decimal(rng.choice([0, 0, 0, rng.randint(100, 3000)]))),
        }
        for _ in range(rng.randint(0, 8))
    ]
    dependents_income = sum((Decimal(str(d["monthly_income"])) for d in dependents), Decimal(0))
    income = Decimal(rng.randint(0, 9000 * 100)) / 100
    property_value = Decimal(rng.choice([0, 50_000, 400_000, 1_200_000]))
    return {
        "registry": {"sex": rng.choice("MF"), "birth_date": f"{rng.randint(1940, 2005)}-05-01"},
        "sections": {
            "personal": {
                "nationality": rng.choice(["SA", "SA", "SA", "YE"]),
                "marital_status": rng.choice(["married", "widowed", "divorced", "single"]),
                "has_disability": rng.random() < 0.1,
                "is_orphan": False,
            },
            "housing": {
                "region": "riyadh",
                "city": "Riyadh",
                "district": "Olaya",
                "national_address": "RRRD2929",
                "housing_type": rng.choice(["owned", "rented"]),
                "monthly_rent": "1500",
            },
            "income": {
                "sources": [{"type": "salary", "monthly_amount": str(income), "payer": "x"}]
            },
            "employment": {"status": rng.choice(["employed", "unemployed", "retired"])},
            "property": {"assets": []},
        },
        "dependents": dependents,
        "household": {
            "household_size": 1 + len(dependents),
            "total_monthly_income": str(income + dependents_income),
            "total_property_value": str(property_value),
        },
        "completeness": {
            "personal": True,
            "housing": True,
            "income": True,
            "education": True,
            "employment": True,
            "licenses": True,
            "property": True,
            "dependents": True,
            "complete": True,
        },
    }


def submission_inputs(profile: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    return {
        "profile": profile,
        "form": {
            "monthly_income": profile["household"]["total_monthly_income"],
            "family_size": profile["household"]["household_size"],
            "category": rng.choice(["poor_families", "widows_divorcees", "unemployed"]),
        },
        "documents": DOCUMENTS if rng.random() < 0.9 else DOCUMENTS[:2],
        "active_programs": [] if rng.random() < 0.95 else ["IQ-SPN"],
    }


def in_process(count: int) -> dict[str, Any]:
    rng = random.Random(7)
    cases = [submission_inputs(household(rng), rng) for _ in range(count)]
    figures: dict[str, Any] = {}
    for document in shipped():
        rule_set = compile_rule_set(document)
        outcomes: dict[str, int] = {}
        for inputs in cases[:200]:  # warm up
            evaluate(rule_set, facts_of(inputs, ON), ON)
        cpu, wall = time.process_time(), time.perf_counter()
        for inputs in cases:
            result = evaluate(rule_set, facts_of(inputs, ON), ON)
            outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        figures[rule_set.program_code] = {
            "evaluations": count,
            "criteria": len(rule_set.criteria),
            "per_second_cpu": round(count / cpu),
            "per_second_wall": round(count / wall),
            "microseconds_each_cpu": round(cpu / count * 1e6, 1),
            "outcomes": outcomes,
        }
        print(f"  in process {rule_set.label}: {figures[rule_set.program_code]}")
    return figures


async def end_to_end(count: int) -> dict[str, Any]:
    """Submissions on the real topic → the running eligibility service → published."""
    infra = local_infra()
    admin = create_async_engine(infra.database_admin_url())
    rng = random.Random(11)
    citizen = uuid.UUID(f"{BENCH_PREFIX}-0000-4000-8000-{rng.getrandbits(48):012x}")
    envelopes = []
    for _ in range(count):
        profile = household(rng)
        event = ApplicationSubmittedV2(
            application_id=uuid.uuid4(),
            submission_id=uuid.uuid4(),
            submission_number=1,
            citizen_id=citizen,
            program_code="SSP-DEV",
            submitted_at=datetime.now(UTC),
            form={
                "monthly_income": profile["household"]["total_monthly_income"],
                "family_size": profile["household"]["household_size"],
            },
            documents=[
                {"kind": k, "content_type": "application/pdf", "size_bytes": 1, "sha256": "a" * 64}
                for k in DOCUMENTS
            ],
            profile_version=1,
            household_snapshot=profile,
        )
        envelopes.append(Envelope.wrap(event, producer="bench", correlation_id="bench"))

    async def evaluated() -> int:
        async with admin.connect() as conn:
            found = await conn.execute(
                text(
                    "SELECT count(*) FROM eligibility.evaluations e "
                    "JOIN eligibility.outbox o ON o.envelope->'payload'->>'evaluation_id' "
                    "= e.evaluation_id::text "
                    "WHERE e.citizen_id = :c AND o.published_at IS NOT NULL"
                ),
                {"c": citizen},
            )
            return int(found.scalar() or 0)

    producer = kafka_clients.producer(infra.kafka, linger_ms=5)
    await producer.start()
    try:
        started = time.perf_counter()
        sends = [
            await producer.send(e.topic, e.to_bytes(), key=e.key.encode(), headers=e.headers())
            for e in envelopes
        ]
        await asyncio.gather(*sends)
        sent = time.perf_counter() - started
        await eventually(
            evaluated,
            until=lambda n: n >= count,
            timeout=600,
            interval=0.05,
            what=f"{count} evaluations published",
        )
        elapsed = time.perf_counter() - started
    finally:
        await producer.stop()
    async with admin.begin() as conn:
        for table in ("evaluations", "applications"):
            await conn.execute(
                text(f"DELETE FROM eligibility.{table} WHERE citizen_id = :c"),  # noqa: S608
                {"c": citizen},
            )
    await admin.dispose()
    figures = {
        "submissions": count,
        "seconds_to_send": round(sent, 2),
        "seconds_until_all_published": round(elapsed, 2),
        "per_second": round(count / elapsed),
    }
    print(f"  end to end: {figures}")
    return figures


async def impact(households: int, page: int) -> dict[str, Any]:
    infra = local_infra()
    admin = create_async_engine(infra.database_admin_url())
    rng = random.Random(13)
    run = f"{rng.getrandbits(16):04x}"
    rows = [
        {
            "citizen_id": uuid.UUID(f"{BENCH_PREFIX}-{run}-4000-8000-{n:012d}"),
            "version": 1,
            "profile": json.dumps(household(rng)),
        }
        for n in range(households)
    ]
    async with admin.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO eligibility.citizen_profiles (citizen_id, version, profile) "
                "VALUES (:citizen_id, :version, CAST(:profile AS jsonb))"
            ),
            rows,
        )
    engine = create_engine(
        infra.database_admin_url(), "eligibility", application_name="bench-impact"
    )
    sessions = session_factory(engine, producer="eligibility")
    draft = copy.deepcopy(next(d for d in shipped() if d["program"] == "SSP-DEV"))
    draft["version"] = "draft"
    draft["parameters"]["per_dependent"]["values"] = {date(2025, 1, 1): "650"}
    try:
        after: uuid.UUID | None = uuid.UUID(f"{BENCH_PREFIX}-{run}-0000-0000-000000000000")
        seen = gained = 0
        started = time.perf_counter()
        while after is not None and seen < households:
            report = await service.impact(
                sessions, "SSP-DEV", draft, after=after, limit=page, clock=SystemClock()
            )
            seen += report["households"]
            gained += report["gained"]
            after = uuid.UUID(report["next_after"]) if report["next_after"] else None
        elapsed = time.perf_counter() - started
    finally:
        await engine.dispose()
        async with admin.begin() as conn:
            await conn.execute(
                text("DELETE FROM eligibility.citizen_profiles WHERE citizen_id::text LIKE :p"),
                {"p": f"{BENCH_PREFIX}-{run}-%"},
            )
        await admin.dispose()
    figures = {
        "households": seen,
        "page": page,
        "seconds": round(elapsed, 2),
        "households_per_second": round(seen / elapsed),
        "draft": "SSP-DEV with 650 SAR per dependent instead of 550",
        "gained": gained,
    }
    print(f"  impact: {figures}")
    return figures


def report(results: dict[str, Any]) -> str:
    ssp = results["in_process"]["SSP-DEV"]
    lines = [
        "# Eligibility benchmark",
        "",
        f"{results['when']} · {results['machine']} · Python {results['python']}",
        "",
        "## In process (one thread: one core)",
        "| rule set | criteria | evaluations/s (CPU time) | evaluations/s (wall) | µs each |",
        "|---|---|---|---|---|",
    ]
    for program, row in results["in_process"].items():
        lines.append(
            f"| {program} | {row['criteria']} | {row['per_second_cpu']:,} | "
            f"{row['per_second_wall']:,} | {row['microseconds_each_cpu']} |"
        )
    e2e = results["end_to_end"]
    imp = results["impact"]
    lines += [
        "",
        f"SSP-DEV target ≥ 5,000/s on one core: **{ssp['per_second_cpu']:,}/s** "
        f"({'met' if ssp['per_second_cpu'] >= 5000 else 'NOT met'}).",
        "",
        "## End to end through Kafka",
        f"{e2e['submissions']:,} `ApplicationSubmitted` v2 on the real topic → the running "
        "eligibility service (one instance) → stored evaluations → `EligibilityEvaluated` v3 "
        f"published: **{e2e['per_second']:,} evaluations/s** "
        f"({e2e['seconds_until_all_published']} s in all).",
        "",
        "## Impact simulation",
        f"{imp['households']:,} households, pages of {imp['page']:,}, draft: {imp['draft']}: "
        f"**{imp['households_per_second']:,} households/s** ({imp['seconds']} s; "
        f"{imp['gained']} would gain eligibility).",
        "",
    ]
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--evaluations", type=int, default=20_000)
    parser.add_argument("--households", type=int, default=20_000)
    parser.add_argument("--page", type=int, default=5_000)
    parser.add_argument("--submissions", type=int, default=2_000)
    args = parser.parse_args()
    configure_logging("bench", "WARNING")
    results: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "python": platform.python_version(),
    }
    print("in process:")
    results["in_process"] = in_process(args.evaluations)
    print("end to end:")
    results["end_to_end"] = await end_to_end(args.submissions)
    print("impact:")
    results["impact"] = await impact(args.households, args.page)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "eligibility.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / "eligibility.md").write_text(report(results))
    print(report(results))


if __name__ == "__main__":
    asyncio.run(main())
