"""Eligibility's own CPU per application: its code on the critical path, timed in process.

What one application costs the eligibility service, without Kafka and the inbox's own work:
its ``ApplicationSubmitted`` read from the record's bytes as the inbox reads it (the envelope,
then the payload validated against its model), then the batch handler the inbox runs for it
(``handlers.batch_handlers``: facts, evaluation, explanation, the stored evaluation with its
inputs and trace, the ``EligibilityEvaluated`` queued in the outbox), then the application's
``DecisionIssued`` v3 through the registry's handler (the batch handler if the tree has one,
else the per-event one) — each in a transaction of its own against the running platform's
Postgres, as the service's own role. Measured: the process's CPU time (user + system), which a
busy machine stretches far less than wall time, and the statements each transaction sends.

The submissions are what applications publishes for seeded citizens
(``sanad.platform.bulk_seed``: their household as profile publishes it, the seeded draft's
form, the four documents; the snapshot cut by applications' ``household_snapshot``), with
fresh application ids, so the running eligibility service never sees them. Every
transaction is **rolled back**: nothing stays behind and nothing is published (a committed
``EligibilityEvaluated`` for an application that does not exist would go to applications);
Postgres does the same work up to the commit.

Batches of 1 (the journey load at tens of applications a second: each record alone) and of
``--batch`` (a backlog: the inbox hands a partition's records to the handler together).

Trees are measured alternately, each in its own interpreter (``<tree>/.venv/bin/python``)
on the same records, the lowest of the passes kept (least disturbed by other work):

    uv run python bench/eligibility_cpu.py --label x                       # this tree
    uv run python bench/eligibility_cpu.py --tree /path/to/before --tree . --label x

Appends the run to bench/results/eligibility_cpu.json. Needs ``./sanad up``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"


def records(count: int) -> dict[str, list[str]]:
    """Each application's ApplicationSubmitted v2 and DecisionIssued v3, as record values."""
    from sanad.applications.domain.form import ApplicationForm
    from sanad.applications.service.applications import household_snapshot
    from sanad.platform import bulk_seed
    from sanad.shared.events import ApplicationSubmittedV2, Envelope
    from sanad.shared.events.applications import SubmittedDocumentV2

    submitted, decided = [], []
    now = datetime.now(UTC)
    for citizen in bulk_seed.citizens(count, None, email_domain="cpu.example"):
        application_id, submission_id = uuid.uuid4(), uuid.uuid4()
        event = ApplicationSubmittedV2(
            application_id=application_id,
            submission_id=submission_id,
            submission_number=1,
            citizen_id=citizen.citizen_id,
            program_code=bulk_seed.PROGRAM,
            submitted_at=now,
            form=ApplicationForm.model_validate(bulk_seed.form(citizen)).for_event(),
            documents=[
                SubmittedDocumentV2(
                    kind=kind,
                    content_type="application/pdf",
                    size_bytes=len(bulk_seed.PDF) + 1,
                    sha256=f"{number:064x}",
                )
                for number, kind in enumerate(bulk_seed.DOCUMENTS)
            ],
            profile_version=bulk_seed.PROFILE_VERSION,
            household_snapshot=household_snapshot(
                bulk_seed.household(citizen).model_dump(mode="json")
            ),
        )
        cause = Envelope.wrap(event, producer="applications", correlation_id="bench")
        submitted.append(cause.to_bytes().decode())
        decision = bulk_seed.approval(citizen, application_id)
        decided.append(
            Envelope.wrap(
                decision,
                producer="applications",
                correlation_id="bench",
                causation_id=cause.event_id,
            )
            .to_bytes()
            .decode()
        )
    return {"submitted": submitted, "decided": decided}


async def measure(given: dict[str, list[str]], batch: int) -> dict[str, Any]:
    """Run inside the tree's interpreter: that tree's eligibility, this machine's platform."""
    os.environ.setdefault("SANAD_ENV", "dev")
    from sqlalchemy import event as sa_event

    from sanad.eligibility import handlers
    from sanad.eligibility.settings import EligibilitySettings
    from sanad.platform.services import platform_env
    from sanad.shared.clock import SystemClock
    from sanad.shared.db import engine_for, session_factory
    from sanad.shared.events import ApplicationSubmittedV2, DecisionIssuedV3, Envelope
    from sanad.shared.heap import freeze_startup_heap
    from sanad.shared.logging import configure_logging

    configure_logging("eligibility", "WARNING")
    env = platform_env()
    settings = EligibilitySettings(pg_host=env["SANAD_PG_HOST"], pg_port=int(env["SANAD_PG_PORT"]))
    engine = engine_for(settings)
    sessions = session_factory(engine, producer=settings.service)
    clock = SystemClock()
    statements = 0

    def counted(*_: Any) -> None:
        nonlocal statements
        statements += 1

    sa_event.listen(engine.sync_engine, "before_cursor_execute", counted)

    submitted = handlers.batch_handlers(clock)[ApplicationSubmittedV2]
    batch_decided = handlers.batch_handlers(clock).get(DecisionIssuedV3)
    one_decided = handlers.handlers(clock).get(DecisionIssuedV3)

    def parsed(values: list[str], model: Any) -> list[tuple[Any, Envelope]]:
        found = []
        for value in values:
            envelope = Envelope.from_bytes(value.encode())
            found.append((model.model_validate(envelope.payload), envelope))
        return found

    async def rolled_back(work: Any) -> None:
        async with sessions() as session:
            await session.begin()
            try:
                await work(session)
            finally:
                await session.rollback()

    async def decide(items: list[tuple[Any, Envelope]]) -> None:
        async def work(session: Any) -> None:
            if batch_decided is not None:
                await batch_decided(session, items)
            else:
                assert one_decided is not None
                for event, envelope in items:
                    await one_decided(session, event, envelope)

        await rolled_back(work)

    async def run(size: int, submissions: list[str], decisions: list[str]) -> dict[str, Any]:
        nonlocal statements
        cpu = {"parse": 0.0, "submitted": 0.0, "decided": 0.0}
        sent = {"submitted": 0, "decided": 0}
        began, wall = time.process_time(), time.perf_counter()
        for start in range(0, len(submissions), size):
            t0 = time.process_time()
            items = parsed(submissions[start : start + size], ApplicationSubmittedV2)
            decisions_of = parsed(decisions[start : start + size], DecisionIssuedV3)
            t1 = time.process_time()
            statements = 0
            await rolled_back(lambda session, items=items: submitted(session, items))
            t2 = time.process_time()
            sent["submitted"] += statements
            statements = 0
            await decide(decisions_of)
            t3 = time.process_time()
            sent["decided"] += statements
            cpu["parse"] += t1 - t0
            cpu["submitted"] += t2 - t1
            cpu["decided"] += t3 - t2
        total, wall = time.process_time() - began, time.perf_counter() - wall
        n = len(submissions)
        return {
            "batch": size,
            "applications": n,
            "cpu_ms_per_application": round(1000 * total / n, 3),
            "cpu_ms": {k: round(1000 * v / n, 3) for k, v in cpu.items()},
            # SQLAlchemy's statements, BEGIN and ROLLBACK not counted.
            "statements_per_application": {k: round(v / n, 2) for k, v in sent.items()},
            "wall_ms_per_application": round(1000 * wall / n, 2),
        }

    submissions, decisions = given["submitted"], given["decided"]
    warm = min(50, len(submissions) // 4)
    try:
        # Connections, statement caches and the compiled rule set warm.
        await run(1, submissions[:warm], decisions[:warm])
        await run(batch, submissions[:warm], decisions[:warm])
        freeze_startup_heap()  # as the service does once started (sanad.shared.heap)
        measured = [
            await run(1, submissions[warm:], decisions[warm:]),
            await run(batch, submissions[warm:], decisions[warm:]),
        ]
    finally:
        await engine.dispose()
    return {"runs": measured}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", type=Path, action="append", help="source trees (repeat)")
    parser.add_argument("--label", default="run")
    parser.add_argument("--applications", type=int, default=400)
    parser.add_argument("--batch", type=int, default=50, help="the larger batch measured")
    parser.add_argument("--passes", type=int, default=3, help="each tree this many times")
    parser.add_argument("--output", type=Path, default=RESULTS / "eligibility_cpu.json")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        given = json.loads(args.child.read_text())
        print(json.dumps(asyncio.run(measure(given, args.batch))))
        return

    os.environ.setdefault("SANAD_ENV", "dev")
    trees = [tree.resolve() for tree in (args.tree or [REPO])]
    given = tempfile.NamedTemporaryFile(  # removed below
        "w", prefix="eligibility-cpu-", suffix=".json", delete=False
    )
    with given:
        json.dump(records(args.applications), given)
    loads = [os.getloadavg()[0]]
    found: dict[str, dict[int, list[dict[str, Any]]]] = {}
    try:
        for _ in range(args.passes):
            for tree in trees:
                commit = subprocess.run(
                    ["git", "-C", str(tree), "rev-parse", "--short", "HEAD"],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout.strip()
                dirty = subprocess.run(
                    ["git", "-C", str(tree), "status", "--porcelain", "--untracked-files=no"],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout.strip()
                name = commit + ("+changes" if dirty else "")
                child = subprocess.run(
                    [
                        str(tree / ".venv" / "bin" / "python"),
                        __file__,
                        *("--child", given.name, "--batch", str(args.batch)),
                    ],
                    cwd=tree,
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if child.returncode != 0:
                    raise SystemExit(f"[{name}] failed:\n{child.stderr[-3000:]}")
                loads.append(os.getloadavg()[0])
                for measured in json.loads(child.stdout.strip().splitlines()[-1])["runs"]:
                    found.setdefault(name, {}).setdefault(measured["batch"], []).append(measured)
                    print(
                        f"[{name}] batch {measured['batch']}: "
                        f"{measured['cpu_ms_per_application']} ms CPU per application "
                        f"{measured['cpu_ms']}, statements {measured['statements_per_application']}"
                        f" (load {loads[-1]:.1f})"
                    )
    finally:
        os.unlink(given.name)

    def lowest(runs: list[dict[str, Any]]) -> dict[str, Any]:
        best = min(runs, key=lambda r: r["cpu_ms_per_application"])
        return best | {
            "median_cpu_ms_per_application": round(
                statistics.median(r["cpu_ms_per_application"] for r in runs), 3
            ),
            "passes": len(runs),
        }

    run = {
        "label": args.label,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}",
        "load_average_1m": {"min": round(min(loads), 1), "max": round(max(loads), 1)},
        "applications": args.applications,
        # Per tree and batch size: the pass with the least CPU per application.
        "trees": {
            name: {f"batch_{size}": lowest(runs) for size, runs in sizes.items()}
            for name, sizes in found.items()
        },
        "command": "uv run python bench/eligibility_cpu.py "
        + " ".join(f"--tree {t}" for t in (args.tree or []))
        + f" --applications {args.applications} --batch {args.batch} --passes {args.passes}",
    }
    previous = json.loads(args.output.read_text()) if args.output.exists() else {"runs": []}
    previous["runs"].append(run)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(previous, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(run["trees"], indent=2))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
