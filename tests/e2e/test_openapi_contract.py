"""The gateway's merged OpenAPI document is the truth: Schemathesis (every check) against the
running gateway, anonymously and as a citizen, finds no 5xx and no check failure — every
status and media type answered is documented, answers match their schemas, invalid input
is refused, undeclared methods answer 405 with the right ``Allow``, operations that need a
token refuse a missing or forged one.

Bounded so it fits CI. The callers split the operations: anonymously the public ones
(sign-up, sign-in, the catalog, card verification, keys, health), as a citizen those that
need a token — where Schemathesis also sends each request without the token and with a
forged one (``missing_required_header``, ``ignored_auth``), so anonymous access to them is
checked too without fuzzing 49 operations that can only answer 401. The runs go at once
(the citizen's in ``CITIZEN_RUNS`` processes), each through the examples, coverage and
fuzzing phases with at most ``MAX_EXAMPLES`` fuzzed cases per operation, no shrinking,
from a fixed seed (every report names it; ``SANAD_CONTRACT_SEED`` picks another), under a
wall-clock budget that only a hung run meets.

Its thousands of requests come from one address and would meet the platform gateway's
per-address and per-citizen rate limits (a 429 where the contract says 401). So it runs
against a second gateway process — the same code and routes in front of the same services
— started here with those two limits raised; every other setting is the platform's."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sanad.platform import procs
from sanad.platform.layout import SERVICES, SMS_SINK_PORT, port
from sanad.platform.services import command, platform_env
from sanad.platform.testing import eventually, register_citizen

PLATFORM_GATEWAY = next(s for s in SERVICES if s.name == "gateway")
CONTRACT_PORT = PLATFORM_GATEWAY.port + 40  # beside the platform's ports, in the same range
GATEWAY = f"http://127.0.0.1:{CONTRACT_PORT}"
PLATFORM_URL = f"http://127.0.0.1:{PLATFORM_GATEWAY.port}"
SMS_SINK = f"http://127.0.0.1:{port(SMS_SINK_PORT)}"
CONFIG = Path(__file__).with_name("schemathesis.toml")
MAX_EXAMPLES = 3
SEED = int(os.environ.get("SANAD_CONTRACT_SEED", "14"))
# Only a hung run reaches it (both runs together take a few minutes on a loaded machine).
BUDGET_SECONDS = 900
METHODS = ("get", "put", "post", "delete", "patch")
# The citizen's operations are split over this many processes, each with one worker thread:
# Schemathesis's threads share one interpreter, where CPython 3.11's ``ast.parse`` (which
# Hypothesis calls to describe a filter) is not thread-safe ("AST constructor recursion
# depth mismatch", python/cpython#106905).
CITIZEN_RUNS = 3
# Schemathesis and Hypothesis are some 350 modules: with PYTHONDONTWRITEBYTECODE set (as on
# the project's machines) every run compiled them from source again — 30 s of CPU each,
# most of its start. Their bytecode is cached in the virtualenv instead.
SCHEMATHESIS_ENV = {
    name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"
}


@pytest.fixture(scope="module")
async def contract_gateway() -> AsyncIterator[str]:
    """A gateway with the rate limits raised, for this module only (started, not yet
    ready: ``ready_document`` waits for it)."""
    name = "gateway-contract"
    assert not procs.port_open(CONTRACT_PORT), f"port {CONTRACT_PORT} is taken"
    procs.spawn(
        name,
        command(PLATFORM_GATEWAY, "serve"),
        env=platform_env()
        | {
            PLATFORM_GATEWAY.port_variable: str(CONTRACT_PORT),
            "SANAD_GATEWAY_WORKERS": "1",
            "SANAD_GATEWAY_RATE_LIMIT_PER_IP": "100000000",
            "SANAD_GATEWAY_RATE_LIMIT_PER_USER": "100000000",
        },
        marker="sanad.gateway",
    )
    try:
        yield GATEWAY
    finally:
        procs.stop(name)


async def ready_document() -> dict[str, Any]:
    """The merged document once the contract gateway answers and every service is in it
    (a loaded service may miss one refresh)."""

    async def fetch() -> dict[str, Any] | None:
        try:
            async with httpx.AsyncClient(timeout=30) as client:
                answer = await client.get(f"{GATEWAY}/openapi.json")
        except httpx.TransportError:
            return None
        doc: dict[str, Any] | None = answer.json() if answer.status_code == 200 else None
        return doc

    document = await eventually(
        fetch,
        until=lambda doc: doc is not None and doc["x-unavailable"] == [],
        timeout=180,
        interval=1,
        what=f"the contract test's gateway on :{CONTRACT_PORT} with every service in its "
        f"OpenAPI document (log: {procs.log_path('gateway-contract')})",
    )
    assert document is not None
    return document


def operation_ids(document: dict[str, Any], *, protected: bool) -> dict[str, list[str]]:
    """The operations that need a token (``protected``), or the public ones, by resource
    (``/v1/profile``, ``/v1/cards``, …: an operation and those its answers link to stay in
    one run)."""
    chosen: dict[str, list[str]] = {}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            needs_token = bool(operation.get("security", document.get("security")))
            if method in METHODS and needs_token == protected:
                resource = "/".join(path.split("/")[:3])
                chosen.setdefault(resource, []).append(operation["operationId"])
    assert chosen, f"no {'protected' if protected else 'public'} operation in the document"
    return chosen


def shards(by_resource: dict[str, list[str]], count: int) -> list[list[str]]:
    """Resources dealt into ``count`` runs of about as many operations each."""
    runs: list[list[str]] = [[] for _ in range(count)]
    for operations in sorted(by_resource.values(), key=len, reverse=True):
        min(runs, key=len).extend(operations)
    return [run for run in runs if run]


def schemathesis_command(
    caller: str, document: Path, operations: list[str], headers: list[str]
) -> list[str]:
    report = procs.log_path(f"schemathesis-{caller}")
    command = [
        sys.executable, "-m", "schemathesis.cli",
        "--config-file", str(CONFIG),
        "run", str(document), "--url", GATEWAY,
        "--checks", "all",
        "--phases", "examples,coverage,fuzzing",
        "--max-examples", str(MAX_EXAMPLES),
        "--seed", str(SEED),
        "--no-shrink",
        "--workers", "1",  # see CITIZEN_RUNS
        "--request-timeout", "30",
        "--suppress-health-check", "all",
        "--report", "junit",
        "--report-junit-path", str(report.with_suffix(".junit.xml")),
    ]  # fmt: skip
    for operation in operations:
        command += ["--include-operation-id", operation]
    for header in headers:
        command += ["--header", header]
    return command


async def schemathesis(
    caller: str, document: Path, operations: list[str], headers: list[str]
) -> str | None:
    """One run, its whole report beside the platform's logs (a failure's request, answer and
    ``st replay`` id are in it): what went wrong, or None."""
    report = procs.log_path(f"schemathesis-{caller}")
    with report.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            *schemathesis_command(caller, document, operations, headers),
            stdout=out,
            stderr=asyncio.subprocess.STDOUT,
            env=SCHEMATHESIS_ENV,
        )
        try:
            code: int | None = await asyncio.wait_for(process.wait(), BUDGET_SECONDS)
        except TimeoutError:
            code = None
        finally:  # the budget, or the test cancelled
            if process.returncode is None:
                process.kill()
                await process.wait()
    output = report.read_text(errors="replace")
    where = f"Schemathesis as {caller}, seed {SEED} (report: {report})"
    if code is None:
        return f"{where}: still running after {BUDGET_SECONDS} s, killed"
    if code != 0:
        return f"{where}: exit code {code}\n{output[-15000:]}"
    if f"Tested: {len(operations)}" not in output:
        return f"{where}: not every one of the {len(operations)} operations was tested"
    return None


@pytest.mark.timeout(BUDGET_SECONDS + 300)
def fuzzer_address(run: int) -> str:
    """Each run as a client of its own (TEST-NET-2, forwarded by the trusted local host): the
    services' per-address limits (identity's on registrations and sign-ins) then count the
    fuzzer's hundreds of attempts against it, not against 127.0.0.1, whose budget the
    journeys that run after this test need."""
    return f"X-Forwarded-For: 198.51.100.{10 + run}"


async def test_schemathesis_finds_no_server_error_and_no_contract_violation(
    contract_gateway: str, tmp_path: Path
) -> None:
    # The citizen signs up through the platform's gateway while the contract one starts.
    document, citizen = await asyncio.gather(
        ready_document(), register_citizen(PLATFORM_URL, SMS_SINK, platform_env())
    )
    # Both runs read the document fetched once here (the gateway merges it from every
    # service: tens of seconds on a loaded machine).
    saved = tmp_path / "openapi.json"
    saved.write_text(json.dumps(document))
    public = [op for ops in operation_ids(document, protected=False).values() for op in ops]
    token = [f"Authorization: Bearer {citizen.access_token}"]
    protected = shards(operation_ids(document, protected=True), CITIZEN_RUNS)
    outcomes = await asyncio.gather(
        schemathesis("anonymous", saved, public, [fuzzer_address(0)]),
        *(
            schemathesis(f"citizen-{number}", saved, operations, [*token, fuzzer_address(number)])
            for number, operations in enumerate(protected, start=1)
        ),
    )
    failures = [outcome for outcome in outcomes if outcome is not None]
    assert not failures, "\n\n".join(failures)
