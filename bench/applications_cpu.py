"""Applications' own CPU per application: its code on the critical path, timed in process.

On a machine shared with other platforms the journey load's CPU column mostly shows how
little CPU each process was given; this bench isolates what applications' code costs. It
seeds ``--applications`` citizens with a draft each in bulk (``sanad.platform.bulk_seed``,
as the journey load does), then, in this process, against the running platform's Postgres,
runs for each draft the two use cases an application costs applications — the submit
(``service.applications.submit``, with an Idempotency-Key) and the decision on its
evaluation (``service.decisions.apply_evaluation`` in one transaction, as the inbox runs it,
with an eligible evaluation of four criteria) — one after the other, and measures the
process's CPU time (user + system: SQLAlchemy, asyncpg, the status view, the outbox), which
a busy machine stretches far less than wall time. Not included: HTTP (FastAPI, the token
check) and the inbox's Kafka and de-duplication work.

The platform's own applications consumes the evaluations eligibility makes of these submits
too; whichever comes second finds the application decided and changes nothing (counted as
``outcomes``).

    uv run python bench/applications_cpu.py --applications 300

Writes bench/results/applications_cpu.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
import seeded_views  # bench/: run as a script, its folder is on the path
from sqlalchemy.ext.asyncio import create_async_engine

from sanad.platform import bulk_seed
from sanad.platform.services import platform_env
from sanad.platform.testing import local_infra
from sanad.shared import kafka_clients
from sanad.shared.auth import Principal, Role, TokenSigner
from sanad.shared.clock import SystemClock
from sanad.shared.db import asyncpg_dsn, engine_for, session_factory
from sanad.shared.events.eligibility import Criterion

RESULTS = Path(__file__).parent / "results"
CRITERIA = tuple(
    Criterion(
        code=code,
        passed=True,
        observed="900.00",
        required="≤ 1000.00",
        reason_ar=f"استوفى شرط {code}",
        reason_en=f"meets the {code} criterion",
    )
    for code in ("income", "residence", "age", "exclusive_programs")
)


async def seed(count: int) -> list[bulk_seed.Citizen]:
    from sanad.identity.settings import IdentitySettings
    from sanad.shared.settings import reveal

    infra = local_infra()
    env = platform_env()
    identity = IdentitySettings(pg_host=env["SANAD_PG_HOST"], pg_port=int(env["SANAD_PG_PORT"]))
    signer = TokenSigner(reveal(identity.signing_key.get_secret_value()))
    people = bulk_seed.citizens(count + 1, signer, all_approved=True, email_domain="cpu.example")
    owner, people = people[0], people[1:]
    producer = kafka_clients.producer(infra.kafka)
    await producer.start()
    try:
        await bulk_seed.seed_profiles(producer, [owner, *people], identity.pseudonyms)
    finally:
        await producer.stop()
    pg = await asyncpg.connect(asyncpg_dsn(infra.database_admin_url()))
    try:
        ids = [c.citizen_id for c in [owner, *people]]
        for _ in range(1200):  # applications keeps each household, through Kafka
            known = await pg.fetchval(
                "SELECT count(*) FROM applications.citizen_profiles "
                "WHERE citizen_id = ANY($1::uuid[]) AND version >= $2",
                ids,
                bulk_seed.PROFILE_VERSION,
            )
            if known >= len(ids):
                break
            await asyncio.sleep(0.5)
        else:
            raise RuntimeError(f"applications holds {known} of {len(ids)} households")
    finally:
        await pg.close()
    db = create_async_engine(infra.database_admin_url())
    try:
        async with httpx.AsyncClient(timeout=60) as http:
            template = await bulk_seed.template_draft(http, owner, env["SANAD_GATEWAY_URL"])
        await bulk_seed.copy_drafts(db, template, people)
    finally:
        await db.dispose()
    await seeded_views.store_views(infra, [c.application_id for c in people if c.application_id])
    return people


async def measure(people: list[bulk_seed.Citizen]) -> dict[str, Any]:
    from sanad.applications.domain.decision import Evaluation
    from sanad.applications.service.applications import submit
    from sanad.applications.service.decisions import apply_evaluation
    from sanad.applications.settings import ApplicationsSettings

    env = platform_env()
    settings = ApplicationsSettings(pg_host=env["SANAD_PG_HOST"], pg_port=int(env["SANAD_PG_PORT"]))
    engine = engine_for(settings)
    sessions = session_factory(engine, producer=settings.service)
    clock = SystemClock()
    cpu = {"submit": 0.0, "decision": 0.0}
    outcomes: Counter[str] = Counter()

    async def one(citizen: bulk_seed.Citizen) -> None:
        assert citizen.application_id is not None
        principal = Principal(str(citizen.citizen_id), Role.CITIZEN, "bench")
        began = time.process_time()
        submitted = await submit(
            sessions,
            clock,
            principal,
            citizen.application_id,
            declaration_accepted=True,
            idempotency_key=f"cpu-{citizen.application_id}",
        )
        decided = time.process_time()
        evaluation = Evaluation(
            evaluation_id=uuid.uuid4(),
            application_id=citizen.application_id,
            submission_id=submitted.application.submission_id,
            appeal_id=None,
            rule_set_version="SSP-DEV@bench",
            outcome="eligible",
            criteria=CRITERIA,
            monthly_benefit=Decimal("200"),
        )
        async with sessions() as session, session.begin():
            outcomes[(await apply_evaluation(session, evaluation, clock)).split(":")[0]] += 1
        ended = time.process_time()
        cpu["submit"] += decided - began
        cpu["decision"] += ended - decided

    try:
        await one(people[0])  # connections and compiled statements warm
        cpu = {"submit": 0.0, "decision": 0.0}
        outcomes.clear()
        began, wall_began = time.process_time(), time.monotonic()
        for citizen in people[1:]:
            await one(citizen)
        total, wall = time.process_time() - began, time.monotonic() - wall_began
    finally:
        await engine.dispose()
    n = len(people) - 1
    return {
        "applications": n,
        "cpu_ms_per_application": round(1000 * total / n, 2),
        "cpu_ms_submit": round(1000 * cpu["submit"] / n, 2),
        "cpu_ms_decision": round(1000 * cpu["decision"] / n, 2),
        "wall_ms_per_application": round(1000 * wall / n, 1),
        "outcomes": dict(outcomes),
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    people = await seed(args.applications + 1)
    measured = await measure(people)
    return {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"{round(psutil.virtual_memory().total / 2**30)} GiB, Python {platform.python_version()}",
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **measured,
        "command": f"uv run python bench/applications_cpu.py --applications {args.applications}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applications", type=int, default=300)
    parser.add_argument("--name", default="applications_cpu", help="results file name")
    args = parser.parse_args()
    os.environ.setdefault("SANAD_ENV", "dev")
    outcome = asyncio.run(main_async(args))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(outcome, indent=2) + "\n")
    print(json.dumps(outcome, indent=2))


if __name__ == "__main__":
    main()
