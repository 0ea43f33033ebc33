"""Identity under load, against the running identity process of the local platform.

1. Flood: 200 bad sign-ins kept in flight at once from one client address (unknown IDs), and
   meanwhile good sign-ins one after another from another address: how long each good one
   takes, and what the flood was answered.
2. The same from 200 addresses at once (a botnet), for the record.
3. Sign-ins per second: good sign-ins of distinct accounts, 8 at a time from 8 addresses.
4. Registrations per second: distinct registry records (each with its own mobile), 8 at a time
   from 8 addresses, each answered 202 once its password is hashed and its code queued.

Addresses are given in X-Forwarded-For, which identity believes from 127.0.0.1 (as from the
gateway). The accounts and registry records it needs are written straight to identity's
schema (random IDs; nothing else is touched).

    ./sanad up && uv run python bench/identity_load.py

Writes bench/results/identity_load.json and bench/results/identity_load.md.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import platform
import random
import statistics
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx

from sanad.identity import repository
from sanad.identity.adapters.civil_registry import TableCivilRegistry
from sanad.identity.domain.registry import CivilRecord
from sanad.identity.passwords import Argon2Params
from sanad.identity.settings import IdentitySettings
from sanad.platform.services import platform_env
from sanad.shared.db import engine_for, session_factory
from sanad.shared.national_id import is_valid_national_id

RESULTS = Path(__file__).parent / "results"
PASSWORD = "bench correct horse battery"


def new_id() -> str:
    body = "1" + str(uuid.uuid4().int % 10**8).zfill(8)
    return body + next(c for c in "0123456789" if is_valid_national_id(body + c))


def new_mobile() -> str:
    return "+96655" + str(random.randint(1_000_000, 9_999_999))


async def prepare(accounts: int, people: int) -> tuple[list[str], list[CivilRecord]]:
    """``accounts`` citizen accounts to sign in with, ``people`` registry records to register."""
    settings = IdentitySettings()
    engine = engine_for(settings)
    sessions = session_factory(engine)
    password_hash = Argon2Params().hasher().hash(PASSWORD)
    ids = [new_id() for _ in range(accounts)]
    records = [
        CivilRecord(
            national_id=new_id(),
            full_name_ar="حمل",
            full_name_en="Bench Person",
            nationality="SA",
            sex="F",
            birth_date=date(1980, 1, 1),
            marital_status="single",
            mobiles=(new_mobile(),),
        )
        for _ in range(people)
    ]
    try:
        async with sessions() as session, session.begin():
            for national_id in ids:
                await repository.insert_account(
                    session,
                    id=uuid.uuid4(),
                    national_id=national_id,
                    role="citizen",
                    password_hash=password_hash,
                    full_name_en="Bench Citizen",
                    mobile=new_mobile(),
                    language="en",
                )
            await TableCivilRegistry(session).add(records)
    finally:
        await engine.dispose()
    return ids, records


async def login(client: httpx.AsyncClient, address: str, national_id: str, password: str) -> Any:
    """(status, seconds); status 0 when the connection failed (a kept-alive connection the
    server closed as the request went out)."""
    started = time.perf_counter()
    try:
        answer = await client.post(
            "/v1/auth/login",
            json={"national_id": national_id, "password": password},
            headers={"X-Forwarded-For": address},
        )
    except httpx.TransportError:
        return 0, time.perf_counter() - started
    return answer.status_code, time.perf_counter() - started


async def attack(base: str, addresses: list[str], seconds: float) -> dict[str, int]:
    """The flood itself, run in a process of its own (``--attack``) so that its 200
    coroutines do not slow the measuring client's event loop."""
    limits = httpx.Limits(max_connections=1000, max_keepalive_connections=1000)
    answered: Counter[int] = Counter()
    deadline = time.perf_counter() + seconds
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:

        async def attacker(address: str) -> None:
            while time.perf_counter() < deadline:
                status, _ = await login(client, address, new_id(), "a wrong password")
                answered[status] += 1

        await asyncio.gather(*(attacker(a) for a in addresses))
    return {str(k): v for k, v in sorted(answered.items())}


async def flood(
    client: httpx.AsyncClient, good_id: str, *, addresses: list[str], seconds: float
) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--attack",
        json.dumps({"base": str(client.base_url), "addresses": addresses, "seconds": seconds}),
        stdout=asyncio.subprocess.PIPE,
    )
    await asyncio.sleep(1.5)  # the flood is in full swing
    good: list[tuple[int, float]] = []
    deadline = time.perf_counter() + seconds - 2.5
    while time.perf_counter() < deadline:
        good.append(await login(client, "10.77.0.1", good_id, PASSWORD))
        await asyncio.sleep(0.1)
    out, _ = await process.communicate()
    answered = json.loads(out)
    latencies = [t for _, t in good]
    return {
        "attackers_in_flight": len(addresses),
        "attacker_addresses": len(set(addresses)),
        "flood_answers": answered,
        "flood_requests_per_second": round(sum(answered.values()) / seconds, 1),
        "good_sign_ins": len(good),
        "good_statuses": {str(k): v for k, v in Counter(s for s, _ in good).items()},
        "good_latency_s": {
            "max": round(max(latencies), 3),
            "median": round(statistics.median(latencies), 3),
            "p95": round(sorted(latencies)[int(0.95 * (len(latencies) - 1))], 3),
        },
    }


async def throughput(jobs: list[Any], concurrency: int) -> tuple[float, Counter[int]]:
    queue: asyncio.Queue[Any] = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)
    statuses: Counter[int] = Counter()

    async def worker() -> None:
        while not queue.empty():
            job = queue.get_nowait()
            statuses[await job()] += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started, statuses


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    load = os.getloadavg()[0]
    os.environ.update({k: v for k, v in platform_env().items() if k not in os.environ})
    base = os.environ.get("SANAD_IDENTITY_URL", "http://127.0.0.1:8001")
    ids, records = await prepare(args.logins // 4 + 1, args.registrations)
    limits = httpx.Limits(max_connections=500, max_keepalive_connections=500)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        quiet = [(await login(client, "10.77.0.2", ids[0], PASSWORD))[1] for _ in range(10)]
        one_address = await flood(
            client, ids[0], addresses=["10.66.0.1"] * args.flood, seconds=args.seconds
        )
        many = [f"10.88.{n // 250}.{n % 250 + 1}" for n in range(args.flood)]
        botnet = await flood(client, ids[0], addresses=many, seconds=args.seconds)

        async def sign_in(national_id: str, n: int) -> int:
            status, _ = await login(client, f"10.55.0.{n % 8 + 1}", national_id, PASSWORD)
            return int(status)

        login_jobs = [functools.partial(sign_in, ids[n % len(ids)], n) for n in range(args.logins)]
        login_time, login_statuses = await throughput(login_jobs, 8)

        async def register(record: CivilRecord, n: int) -> int:
            answer = await client.post(
                "/v1/auth/register",
                json={
                    "national_id": record.national_id,
                    "date_of_birth": record.birth_date.isoformat(),
                    "mobile": record.mobiles[0],
                    "password": PASSWORD,
                },
                headers={"X-Forwarded-For": f"10.44.{n // 250}.{n % 250 + 1}"},
            )
            return answer.status_code

        register_jobs = [functools.partial(register, r, n) for n, r in enumerate(records)]
        register_time, register_statuses = await throughput(register_jobs, 8)

    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "load_average_before": round(load, 2),
        "argon2id": "19 MiB, t=2, p=1",
        "quiet_good_sign_in_s": {
            "median": round(statistics.median(quiet), 3),
            "max": round(max(quiet), 3),
        },
        "flood_from_one_address": one_address,
        "flood_from_many_addresses": botnet,
        "sign_ins": {
            "count": args.logins,
            "concurrency": 8,
            "statuses": dict(login_statuses),
            "per_second": round(args.logins / login_time, 1),
        },
        "registrations": {
            "count": args.registrations,
            "concurrency": 8,
            "statuses": dict(register_statuses),
            "per_second": round(args.registrations / register_time, 1),
        },
    }


def report(result: dict[str, Any]) -> str:
    one, many = result["flood_from_one_address"], result["flood_from_many_addresses"]
    lines = [
        "# Identity under load",
        "",
        f"{result['when']} · {result['machine']} (load average {result['load_average_before']}, "
        f"shared with other work) · argon2id {result['argon2id']} · "
        "the running identity process of the local platform (`bench/identity_load.py`)",
        "",
        "| | |",
        "|---|---|",
        f"| good sign-in, quiet (median / max) | {result['quiet_good_sign_in_s']['median']} s / "
        f"{result['quiet_good_sign_in_s']['max']} s |",
    ]
    for name, flood in (("one address", one), ("200 addresses", many)):
        lines.append(
            f"| good sign-in from another address during {flood['attackers_in_flight']} "
            f"concurrent bad sign-ins from {name} (median / p95 / max, n) | "
            f"{flood['good_latency_s']['median']} s / {flood['good_latency_s']['p95']} s / "
            f"{flood['good_latency_s']['max']} s, {flood['good_sign_ins']} "
            f"(statuses {flood['good_statuses']}) |"
        )
        lines.append(
            f"| the flood from {name} was answered | {flood['flood_answers']} "
            f"({flood['flood_requests_per_second']} requests/s) |"
        )
    lines += [
        f"| sign-ins per second (8 at a time) | {result['sign_ins']['per_second']} "
        f"({result['sign_ins']['statuses']}) |",
        f"| registrations per second (8 at a time) | {result['registrations']['per_second']} "
        f"({result['registrations']['statuses']}) |",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    # The local platform's dev credentials (settings refuse them outside dev/test).
    os.environ.setdefault("SANAD_ENV", "dev")
    if len(sys.argv) == 3 and sys.argv[1] == "--attack":
        spec = json.loads(sys.argv[2])
        print(json.dumps(asyncio.run(attack(spec["base"], spec["addresses"], spec["seconds"]))))
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--flood", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--logins", type=int, default=200)
    parser.add_argument("--registrations", type=int, default=100)
    args = parser.parse_args()
    result = asyncio.run(main_async(args))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "identity_load.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "identity_load.md").write_text(report(result))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
